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

/**
 * The runtime is spliced into HTML as bytes (inline by the extension path, and its config next to
 * it by the proxy): it must be pure ASCII, so any ASCII-compatible charset reads it the same, and
 * must never contain the sequence that closes a script element.
 */
export function assertInlineSafe(source: string): void {
  if (!/^[\x00-\x7f]*$/.test(source) || /<\/script/i.test(source)) {
    throw new Error('The page runtime must be ASCII and must not contain "</script"');
  }
}
