import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { assertCaDataDir } from '../../data/data-dir.js';
import { caIdentity } from '../../trust/ca-identity.js';
import { defaultStoreIds, installCa, TRUST_WARNING, trustStatus, uninstallCa, type TrustChange } from '../../trust/ca-trust.js';
import { TRUST_STORE_IDS, type TrustStoreId } from '../../trust/trust-store.js';
import { CliError, EXIT } from '../cli-error.js';
import { addConfigOption, addDataDirOption, addJsonOption, cliCertificateAuthority, cliDataDir, print, printJson, type DataDirFlags } from './cli-context.js';

interface StoreFlags extends DataDirFlags {
  store?: TrustStoreId[];
  yes?: boolean;
}

const OUTCOME_WORDS: Record<TrustChange['outcome'], string> = {
  added: '✓ added to',
  'already-trusted': '· already trusted in',
  removed: '✓ removed from',
  'already-gone': '· already gone from',
  failed: '✗ failed for',
};

function reportChanges(changes: TrustChange[], json: boolean | undefined, nothing: string): void {
  if (json) printJson({ changes });
  else if (changes.length === 0) print(nothing);
  else for (const change of changes) print(`${OUTCOME_WORDS[change.outcome]} ${change.store}: ${change.location}${change.error ? `\n    ${change.error}` : ''}`);
  if (changes.some((change) => change.outcome === 'failed')) process.exitCode = EXIT.failure;
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

const storeOption = () => new Option('--store <id...>', 'trust store(s) to use').choices([...TRUST_STORE_IDS]);

/** `aiplugs ca path|spki|install|uninstall|status`: the CA and where it is trusted. */
export function registerCaCommand(program: Command): void {
  const ca = program
    .command('ca')
    .description('the local CA certificate: where it is, its SPKI, and (optionally) trusting it system-wide')
    .addHelpText(
      'after',
      '\nThe safest choice needs no install: `aiplugs browser` (and the Playwright helper) start a browser that trusts the CA inside its own temporary profile only.',
    );

  const path = ca.command('path').description('print the path of ca.pem (creating the CA if there is none yet)');
  addDataDirOption(path);
  addConfigOption(path);
  path.action(async (flags: DataDirFlags) => {
    print((await cliCertificateAuthority(flags)).certPath);
  });

  const spki = ca.command('spki').description("print the CA's SPKI fingerprint (base64 SHA-256) for --ignore-certificate-errors-spki-list");
  addDataDirOption(spki);
  addConfigOption(spki);
  spki.action(async (flags: DataDirFlags) => {
    print((await cliCertificateAuthority(flags)).spki);
  });

  const install = ca
    .command('install')
    .description(`trust the CA in a trust store (default here: ${defaultStoreIds().join(', ')}); prints a warning and asks first`)
    .addOption(storeOption())
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .addHelpText(
      'after',
      [
        '',
        'Stores:',
        '  nss              Linux: ~/.pki/nssdb (Chromium, Chrome) and existing Firefox profiles; no root (needs certutil)',
        '  linux-system     Linux: /usr/local/share/ca-certificates + update-ca-certificates (or update-ca-trust); root',
        '  macos-system     macOS: System keychain as a trusted root, through the administrator prompt',
        '  windows-user     Windows: your user Root store (certutil -user -addstore Root); Windows asks to confirm',
        '  windows-machine  Windows: the machine Root store; administrator shell',
      ].join('\n'),
    );
  addDataDirOption(install);
  addConfigOption(install);
  addJsonOption(install);
  install.action(async (flags: StoreFlags) => {
    // Made first if absent (with its CA, as the gateway would), then checked: a folder another
    // account slips in meanwhile is checked too.
    await mkdir(cliDataDir(flags), { recursive: true, mode: 0o700 });
    await assertCaDataDir(cliDataDir(flags));
    const authority = await cliCertificateAuthority(flags);
    const stores = flags.store ?? defaultStoreIds();
    process.stderr.write(`${TRUST_WARNING}\n\nCA: ${authority.certPath}\nStores: ${stores.join(', ')}\n`);
    if (!flags.yes) {
      if (!process.stdin.isTTY) throw new CliError(EXIT.usage, 'Not a terminal: pass --yes to confirm the install');
      if (!(await confirm('Install the AiPlugs CA? [y/N] '))) throw new CliError(EXIT.failure, 'Cancelled; nothing was installed');
    }
    const changes = await installCa(caIdentity(authority.certPath, authority.cert), stores, { dataDir: cliDataDir(flags) });
    reportChanges(changes, flags.json, 'No location of that store exists here.');
    if (!flags.json && changes.some((change) => change.outcome === 'added')) print('Restart running browsers so they read the new trust settings.');
  });

  const uninstall = ca
    .command('uninstall')
    .description('remove exactly the certificates `ca install` added (also of an older, rotated CA)')
    .addOption(storeOption());
  addDataDirOption(uninstall);
  addJsonOption(uninstall);
  uninstall.action(async (flags: StoreFlags) => {
    const changes = await uninstallCa({ dataDir: cliDataDir(flags), ...(flags.store ? { storeIds: flags.store } : {}) });
    reportChanges(changes, flags.json, 'Nothing to remove: `aiplugs ca install` has not added the CA anywhere.');
  });

  const status = ca.command('status').description('say where the CA is trusted: each store and location, and whether AiPlugs added it');
  addDataDirOption(status);
  addConfigOption(status);
  addJsonOption(status);
  status.action(async (flags: DataDirFlags) => {
    const authority = await cliCertificateAuthority(flags);
    const result = await trustStatus(caIdentity(authority.certPath, authority.cert), { dataDir: cliDataDir(flags) });
    if (flags.json) {
      printJson({ caCertPath: authority.certPath, caSpki: authority.spki, notAfter: authority.notAfter.toISOString(), ...result });
      return;
    }
    print(`CA: ${authority.certPath} (valid until ${authority.notAfter.toISOString().slice(0, 10)})`, `SPKI: ${authority.spki}`, '');
    print('✓ trusted in browsers started by `aiplugs browser` and the Playwright helper (by SPKI, inside their own profile)');
    for (const store of result.stores) {
      if (store.locations.length === 0) print(`· ${store.id}: no location on this machine`);
      for (const location of store.locations) {
        const mark = location.trusted === true ? '✓ trusted' : location.trusted === false ? '✗ not trusted' : '? unknown';
        print(`${mark} in ${store.id}: ${location.location}${location.addedByAiplugs ? ' (added by aiplugs ca install)' : ''}${location.error ? ` (${location.error})` : ''}`);
      }
    }
    print('', result.instructions);
  });
}
