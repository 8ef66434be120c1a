import { existsSync } from 'node:fs';
import { findOnPath, runCommand } from '../../gateway/src/os/run-command.js';

/**
 * Programs some tests drive for real (the OS's trust store, GNOME's proxy settings, Firefox), and the
 * Debian package of each: `.ci/run` installs every one of them.
 */
export interface RequiredTool {
  /** What the test needs, in words. */
  name: string;
  /** The Debian package that provides it. */
  debianPackage: string;
  isInstalled: () => Promise<boolean>;
}

export const TOOLS = {
  certutil: { name: 'certutil', debianPackage: 'libnss3-tools', isInstalled: async () => (await findOnPath(['certutil'])) !== null },
  gsettings: { name: 'gsettings', debianPackage: 'libglib2.0-bin', isInstalled: async () => (await findOnPath(['gsettings'])) !== null },
  gnomeProxySchema: {
    name: 'the GNOME proxy settings schema (org.gnome.system.proxy)',
    debianPackage: 'gsettings-desktop-schemas',
    isInstalled: async () => {
      const probe = await runCommand({ file: 'gsettings', args: ['list-keys', 'org.gnome.system.proxy'] }).catch(() => null);
      return probe?.code === 0;
    },
  },
  firefox: {
    name: 'Firefox ESR',
    debianPackage: 'firefox-esr',
    // FIREFOX_PATH points at another build (e2e/support/firefox.ts uses the same rule).
    isInstalled: async () => (process.env.FIREFOX_PATH ? existsSync(process.env.FIREFOX_PATH) : (await findOnPath(['firefox-esr'])) !== null),
  },
} satisfies Record<string, RequiredTool>;

/** True when the environment says this is a CI run (`CI=true`, as CI services and `.ci/run` set it). */
export const isCi = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI === 'true' || env.CI === '1';

/**
 * Why a test that needs `tools` cannot run on this machine — for node:test's `{ skip }` and
 * Playwright's `test.skip` — or false when everything is there (checked in order, so a schema
 * probe that needs gsettings comes after gsettings). Outside CI a developer without, say,
 * certutil gets a skip that names the package to install. Under CI a missing tool is a broken CI
 * machine, never a reason to skip: it throws, so the test fails with the same words.
 *
 * @example
 *   const skip = await skipUnlessInstalled(TOOLS.certutil); // 'certutil is not installed (apt-get install libnss3-tools)'
 *   describe('NSS trust store', { skip }, () => { … });
 */
export async function skipUnlessInstalled(...tools: RequiredTool[]): Promise<string | false> {
  for (const tool of tools) {
    if (await tool.isInstalled()) continue;
    return skipOutsideCi(`${tool.name} is not installed (apt-get install ${tool.debianPackage})`, tool.debianPackage);
  }
  return false;
}

/**
 * `reason`, as a test's skip reason, for a prerequisite this machine lacks; under CI it throws
 * instead, since `.ci/run` installs `installedByCi` (the same rule as skipUnlessInstalled).
 */
export function skipOutsideCi(reason: string, installedByCi: string): string {
  if (isCi()) throw new Error(`${reason}: CI must not skip this test; .ci/run installs ${installedByCi}`);
  return reason;
}
