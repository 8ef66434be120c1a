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
 * The runtime is spliced into documents as bytes, inline (by the proxy and by the extension path):
 * it must be pure ASCII, so any ASCII-compatible charset reads it the same; it must never contain
 * the sequence that closes a script element, nor `<!--`, after which an HTML parser may no longer
 * end the script at our `</script>`; and, for XHTML, nothing that ends the CDATA section it sits in.
 */
export function assertInlineSafe(source: string): void {
  if (!/^[\x00-\x7f]*$/.test(source) || /<\/script|<!--|\]\]>/i.test(source)) {
    throw new Error('The page runtime must be ASCII and must not contain "</script", "<!--" or "]]>"');
  }
}
