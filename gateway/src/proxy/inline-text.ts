/**
 * Whether text can sit inside an inline `<script>` element the proxy writes into a document, and
 * be read back unchanged: pure ASCII, so every ASCII-compatible charset reads the same bytes; never
 * the sequence that closes a script element, nor `<!--`, after which an HTML parser may no longer
 * end the script at our `</script>`; and, for XHTML, nothing that ends the CDATA section it sits in.
 */
export function isInlineSafe(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text) && !/<\/script|<!--|\]\]>/i.test(text);
}
