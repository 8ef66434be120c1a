import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const SOURCE = readFileSync(new URL('./page-runtime.browser.js', import.meta.url), 'utf8')
  // Strip the leading comment block and trailing whitespace: pages get only the code.
  .replace(/^(\/\/[^\n]*\n)+/, '')
  .trim();

if (!/^[\x00-\x7f]*$/.test(SOURCE) || /<\/script/i.test(SOURCE)) {
  throw new Error('page-runtime.browser.js must be ASCII and must not contain "</script"');
}

export interface PageRuntimeConfig {
  version: string;
  apiPort: number;
  /** Ids of the plugins injected into this page (the runtime exposes them as `AiPlugs.plugins`). */
  plugins: string[];
  /** Bridge paths of `document_idle` scripts, loaded after DOMContentLoaded. */
  idle: string[];
  /**
   * How the page reaches the gateway: `bridge` (default) through the proxy's same-origin
   * `/__aiplugs/` path; `extension` through the companion extension, for documents the proxy
   * never saw (the extension then starts the plugins itself).
   */
  transport?: 'bridge' | 'extension';
}

/**
 * Serializes a value as JSON that is safe inside an inline `<script>` and pure ASCII, so it can be
 * spliced into a page of any ASCII-compatible charset without changing the page's bytes.
 */
export function toInlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The runtime as an inline script body: the runtime function applied to this page's config. */
export function pageRuntimeScript(config: PageRuntimeConfig): string {
  return `${SOURCE}(${toInlineJson(config)});`;
}

/**
 * The runtime as a file for `<script src>`: it reads its page's config from its own element's
 * `data-aiplugs-config`, so one cacheable file serves every page and each page carries only a
 * few hundred bytes of config instead of the whole runtime.
 */
export const PAGE_RUNTIME_FILE_SOURCE = `${SOURCE}((function () {
  var element = document.currentScript;
  try { return JSON.parse((element && element.getAttribute('data-aiplugs-config')) || '{}'); } catch (error) { return {}; }
})());
`;

/** Versioned by content, so browsers may cache it forever and still never run a stale runtime. */
export const PAGE_RUNTIME_FILE = `runtime-${createHash('sha256').update(PAGE_RUNTIME_FILE_SOURCE).digest('hex').slice(0, 16)}.js`;
