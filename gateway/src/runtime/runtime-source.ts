import { isInlineSafe } from '../proxy/inline-text.js';

/**
 * Turns the esbuild bundle of the page runtime (runtime/page/entry.ts) into the function
 * expression the gateway applies to a page's config: `(function (AIPLUGS_PAGE_CONFIG) {…})`.
 * The bundle reads its config from that one free name.
 */
export function wrapPageRuntime(bundle: string): string {
  const source = `(function (AIPLUGS_PAGE_CONFIG) {\n${bundle.trim()}\n})`;
  assertInlineSafe(source);
  return source;
}

/** The runtime is spliced into documents as bytes, inline (by the proxy and by the extension path). */
export function assertInlineSafe(source: string): void {
  if (!isInlineSafe(source)) throw new Error('The page runtime must be ASCII and must not contain "</script", "<!--" or "]]>"');
}
