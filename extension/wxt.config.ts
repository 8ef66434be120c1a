import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'wxt';

/** The extension ships with the project's version (the root package.json). */
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The public half of the extension's signing key: it fixes the Chromium extension id
 * (begpjpdcgffpmaidncfacapllamkklkg) for unpacked builds, so tests and the gateway's docs can
 * name it. Firefox takes its id from `browser_specific_settings` instead.
 */
const CHROMIUM_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAt4GIXAaDwvVXF4sconP6r5ImdQbOid8+XY9oKbQ2i0q77P4Uyj+6xiDOMdiU8x2GPHVp9r1YkiMBeVXMRypmXKq1qHy+RWLZRvEjlH8ZJ4OkwyO0nfXR3wGDBTmNcU0BendSHCubBVwMCOv+++ZT015zg9/6Oi7wLWBdDjnfrjqU4IMuQjbgNmH5ABIlx2VFcsnQGi5FJgOOTGcyofNUwz/rBlItQN9QZj3okRcpr96fk2SqkBTACvfrscdocl+A74Rv2TyCbqLoypDI0uU1zWZJ+YZCuXl0lueFqqXhrk93b+TYj6FYPTe2qW6N6RRIW+YlbsluP9IdxdFdsnOV6QIDAQAB';

/**
 * What a store reviewer (AMO) needs to rebuild the extension: its own sources, the gateway
 * modules it imports, the lockfile, and the instructions (docs/EXTENSION.md, "Packages").
 */
const SOURCES = [
  'extension/src/**',
  'extension/wxt.config.ts',
  'extension/tsconfig.json',
  'gateway/src/inference/sse-parser.ts',
  'gateway/src/inference/line-splitter.ts',
  'gateway/src/settings/site-patterns.ts',
  'gateway/src/dashboard/page/pairing-messages.ts',
  'gateway/src/api/page-messages.ts',
  'gateway/src/api/page-origin.ts',
  'gateway/src/pairing/token-proof.ts',
  'gateway/src/proxy/plugin-free-load.ts',
  'gateway/src/runtime/page/prerendering.ts',
  'gateway/src/runtime/page/url-changes.ts',
  'package.json',
  'package-lock.json',
  'docs/EXTENSION.md',
];

export default defineConfig({
  srcDir: 'src',
  outDir: '.output',
  // `wxt zip`: aiplugs-<version>-chrome.zip, aiplugs-<version>-firefox.zip and, for Firefox,
  // aiplugs-<version>-sources.zip, the version being the package's (see `manifest` below).
  zip: {
    name: 'aiplugs',
    sourcesRoot: fileURLToPath(new URL('..', import.meta.url)),
    // Nothing but SOURCES (an included path wins over an excluded one).
    includeSources: SOURCES,
    excludeSources: ['**'],
  },
  // Explicit imports everywhere: a newcomer can follow every name to its module.
  imports: false,
  modules: ['@wxt-dev/webextension-polyfill'],
  manifest: ({ browser }) => ({
    name: 'AiPlugs',
    version,
    description: 'Companion to the AiPlugs gateway: SPA navigation hooks, per-tab plugin UI, settings and proxy routing.',
    // userScripts (Chromium): runs plugin code in pages without inline scripts, so a site's CSP
    // can stay intact; used only once the user turns on "Allow User Scripts" for the extension.
    permissions: ['storage', 'scripting', 'proxy', 'declarativeNetRequest', ...(browser === 'firefox' ? [] : ['userScripts'])],
    host_permissions: ['<all_urls>'],
    action: { default_title: 'AiPlugs' },
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: 'companion@aiplugs.dev', strict_min_version: '140.0', data_collection_permissions: { required: ['none'] } }, gecko_android: { strict_min_version: '142.0' } } }
      : { key: CHROMIUM_KEY, minimum_chrome_version: '121' }),
  }),
});
