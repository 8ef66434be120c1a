import { join } from 'node:path';
import type { Command } from 'commander';
import { apiBypass, builtExtensionDir } from '../../browser/browser-args.js';
import { findBrowser } from '../../browser/find-browser.js';
import { attachOrStartGateway, requestLoginUrl, requestPairingCode } from '../../browser/gateway-link.js';
import { launchBrowser, type BrowserExit } from '../../browser/launch-browser.js';
import { pairOverPipe } from '../../browser/pair-over-pipe.js';
import { resolveDataDir } from '../../data/data-dir.js';
import { unpackedExtensionId } from '../../pairing/extension-id.js';
import { CliError, EXIT } from '../cli-error.js';
import { tuneGarbageCollector } from '../gc-tuning.js';
import { addDataDirOption, print, type DataDirFlags } from './cli-context.js';

interface BrowserFlags extends DataDirFlags {
  browser?: string;
  extension: boolean | string;
  headless?: boolean;
  profile: string;
  tempProfile?: boolean;
}

/** Profile names become folder names under `<data dir>/profiles/`. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `aiplugs browser [url]`: Chromium (or Chrome/Edge/Brave) wired to the gateway (proxy, CA by SPKI,
 * the built extension, paired through a one-time code), in a named profile kept under the data
 * dir (or a throw-away one), attached to the running gateway or with one started for as long as
 * the browser is open.
 */
export function registerBrowserCommand(program: Command): void {
  const command = program
    .command('browser')
    .description('open a browser wired to the gateway, its extension paired, in a profile kept under the data dir (nothing installed system-wide)')
    .argument('[url]', 'page to open (default: the dashboard, signed in)')
    .option('--browser <path>', 'browser executable (default: AIPLUGS_BROWSER, CHROMIUM_PATH, else Chromium, Chrome, Edge, Brave)')
    .option('--extension <dir>', 'unpacked extension to load (default: extension/.output/chrome-mv3 when built)')
    .option('--no-extension', 'do not load the extension')
    .option('--headless', 'no window (automation, CI)')
    .option('--profile <name>', 'browser profile kept in <data dir>/profiles/<name> (history, logins, the paired extension)', 'default')
    .option('--temp-profile', 'a throw-away profile instead, deleted when the browser closes')
    .option('--json', 'print JSON lines (started/closed) on stdout');
  addDataDirOption(command);
  command.action(async (url: string | undefined, flags: BrowserFlags) => {
    tuneGarbageCollector(); // the gateway it starts, if none runs, lives in this process
    if (!PROFILE_NAME.test(flags.profile)) throw new CliError(EXIT.usage, `--profile "${flags.profile}": use letters, digits, ".", "_" or "-" (up to 64, not starting with a dot)`);
    const profileDir = flags.tempProfile ? undefined : join(resolveDataDir(flags.dataDir, process.env), 'profiles', flags.profile);
    const found = flags.browser ? { name: 'custom', path: flags.browser } : await findBrowser();
    if (!found) throw new CliError(EXIT.failure, 'No Chromium-family browser found: install Chromium (Debian: apt-get install chromium) or set AIPLUGS_BROWSER=/path/to/browser');
    const link = await attachOrStartGateway({ dataDir: flags.dataDir, startOptions: { writeLog: (line) => process.stderr.write(`${line}\n`) } });
    const extensionDir = flags.extension === false ? null : typeof flags.extension === 'string' ? flags.extension : builtExtensionDir();
    const target = url ?? (await requestLoginUrl(link.info.apiUrl, link.token).catch(() => 'about:blank'));
    // The loaded extension is paired by a one-time code only it can redeem, handed to its worker over the DevTools pipe.
    const extensionId = extensionDir ? unpackedExtensionId(extensionDir) : null;
    const code = extensionId ? await requestPairingCode(link.info.apiUrl, link.token, extensionId).catch(() => null) : null;
    let paired = false;
    let browser;
    try {
      browser = await launchBrowser({
        executable: found.path,
        proxyUrl: link.info.proxyUrl,
        caSpki: link.info.caSpki,
        extensionDir,
        profileDir,
        url: target,
        ...(extensionId && code
          ? {
              beforeFirstPage: async (pipe) => {
                await pairOverPipe(pipe, extensionId, link.info.apiUrl, code);
                paired = true;
              },
            }
          : {}),
        headless: flags.headless ?? false,
        noSandbox: process.platform === 'linux' && process.getuid?.() === 0,
        bypass: [apiBypass(link.info.apiUrl)],
      });
    } catch (error) {
      await link.stop();
      throw new CliError(EXIT.failure, (error as Error).message);
    }
    const profile = flags.tempProfile ? null : flags.profile;
    const started = { event: 'browser-started', pid: browser.pid, executable: found.path, args: browser.args, profile, profileDir: browser.profileDir, extensionDir, pairing: code ? 'offered' : 'none', paired, gatewayAttached: link.attached, apiUrl: link.info.apiUrl, proxyUrl: link.info.proxyUrl };
    if (flags.json) print(JSON.stringify(started));
    else {
      print(
        `Started ${found.name} (pid ${browser.pid}) through ${link.info.proxyUrl}`,
        `  profile:   ${browser.profileDir} ${profile ? `("${profile}", kept: --temp-profile for a throw-away one)` : '(deleted when the browser closes)'}`,
        `  extension: ${extensionDir ? `${extensionDir}${paired ? ', paired with this gateway' : code ? ' (not paired: see the reason above; pair it from the dashboard)' : ' (not paired: its id is unknown; pair it from the dashboard)'}` : 'not loaded (build it: extension/.output/chrome-mv3)'}`,
        `  gateway:   ${link.attached ? 'the running one' : 'started for this browser; stops with it'} (${link.info.apiUrl})`,
        'Close the browser or press Ctrl-C to end.',
      );
    }
    const onSignal = () => void browser.close();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // A gateway started for this browser may be stopped from elsewhere (`aiplugs stop`, dashboard): the browser goes with it.
    void link.closed?.then(() => browser.close());
    const exit = await browser.closed;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await link.stop();
    // Closed by the user, or by us: fine. Ended on its own with an error (no display, a bad flag): say why.
    if (!exit.requested && (exit.code !== 0 || exit.signal !== null)) throw new CliError(EXIT.failure, describeBrowserFailure(found.name === 'custom' ? found.path : found.name, exit, flags.headless ?? false));
    if (flags.json) print(JSON.stringify({ event: 'browser-closed', pid: browser.pid, profileDir: browser.profileDir }));
    else print(browser.temporary ? 'Browser closed; profile removed.' : `Browser closed; profile "${profile}" kept.`);
  });
}

/** The browser's own last words, and what to do when it found no display. */
export function describeBrowserFailure(name: string, exit: BrowserExit, headless: boolean, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code}`;
  const said = exit.output.trim().split('\n').slice(-8).map((line) => `  ${line}`).join('\n');
  const noDisplay = platform === 'linux' && !headless && !env.DISPLAY && !env.WAYLAND_DISPLAY;
  const hint = noDisplay ? '\nThere is no display here ($DISPLAY and $WAYLAND_DISPLAY are unset): run it from a desktop session, or pass --headless (no window) for automation.' : '';
  return `${name} ${how} before it was closed${said ? `; it said:\n${said}` : ' (it printed nothing)'}${hint}`;
}
