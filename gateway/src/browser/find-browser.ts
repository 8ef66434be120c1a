import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from '../os/run-command.js';

export interface FoundBrowser {
  name: string;
  path: string;
}

/** Chromium-family browsers by OS, in order of preference (Chromium first: it still honours --load-extension). */
export function browserCandidates(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): Array<{ name: string; paths?: string[]; commands?: string[] }> {
  if (platform === 'darwin') {
    const app = (bundle: string, binary: string) => [`/Applications/${bundle}.app/Contents/MacOS/${binary}`, join(env.HOME ?? '', `Applications/${bundle}.app/Contents/MacOS/${binary}`)];
    return [
      { name: 'Chromium', paths: app('Chromium', 'Chromium') },
      { name: 'Google Chrome', paths: app('Google Chrome', 'Google Chrome') },
      { name: 'Microsoft Edge', paths: app('Microsoft Edge', 'Microsoft Edge') },
      { name: 'Brave', paths: app('Brave Browser', 'Brave Browser') },
    ];
  }
  if (platform === 'win32') {
    const roots = [env.LOCALAPPDATA, env.PROGRAMFILES, env['PROGRAMFILES(X86)'], env.ProgramFiles, env['ProgramFiles(x86)']].filter((root): root is string => Boolean(root));
    const under = (...rest: string[]) => roots.map((root) => join(root, ...rest));
    return [
      { name: 'Chromium', paths: under('Chromium', 'Application', 'chrome.exe') },
      { name: 'Google Chrome', paths: under('Google', 'Chrome', 'Application', 'chrome.exe') },
      { name: 'Microsoft Edge', paths: under('Microsoft', 'Edge', 'Application', 'msedge.exe') },
      { name: 'Brave', paths: under('BraveSoftware', 'Brave-Browser', 'Application', 'brave.exe') },
    ];
  }
  return [
    { name: 'Chromium', commands: ['chromium', 'chromium-browser'] },
    { name: 'Google Chrome', commands: ['google-chrome', 'google-chrome-stable'] },
    { name: 'Microsoft Edge', commands: ['microsoft-edge', 'microsoft-edge-stable'] },
    { name: 'Brave', commands: ['brave-browser'] },
  ];
}

/** `AIPLUGS_BROWSER` or `CHROMIUM_PATH` if set, else the first Chromium-family browser installed. */
export async function findBrowser(options: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {}): Promise<FoundBrowser | null> {
  const env = options.env ?? process.env;
  const explicit = env.AIPLUGS_BROWSER ?? env.CHROMIUM_PATH;
  if (explicit) return existsSync(explicit) ? { name: 'custom', path: explicit } : null;
  for (const candidate of browserCandidates(options.platform ?? process.platform, env)) {
    const path = candidate.paths?.find((file) => existsSync(file)) ?? (candidate.commands ? await findOnPath(candidate.commands, env) : null);
    if (path) return { name: candidate.name, path };
  }
  return null;
}
