/**
 * Whether a script is strict: its directive prologue (the string-literal statements it opens
 * with, comments aside) holds `"use strict"`. One pass over the prologue, never past it.
 */
export function isStrictScript(code: string): boolean {
  let at = 0;
  const skipBlank = () => {
    for (;;) {
      while (at < code.length && /\s/.test(code[at]!)) at += 1;
      if (code.startsWith('//', at)) at = code.includes('\n', at) ? code.indexOf('\n', at) : code.length;
      else if (code.startsWith('/*', at)) at = code.includes('*/', at + 2) ? code.indexOf('*/', at + 2) + 2 : code.length;
      else return;
    }
  };
  for (;;) {
    skipBlank();
    const quote = code[at];
    if (quote !== '"' && quote !== "'") return false;
    const end = code.indexOf(quote, at + 1);
    if (end < 0) return false;
    const directive = code.slice(at + 1, end);
    // Escapes or a line break: not a plain directive, and nothing later in the prologue counts.
    if (/[\\\n]/.test(directive)) return false;
    at = end + 1;
    while (code[at] === ' ' || code[at] === '\t') at += 1;
    // A directive is a statement of the string alone: `'use strict'.length` is not one.
    if (at < code.length && code[at] !== ';' && code[at] !== '\n' && code[at] !== '\r') return false;
    if (directive === 'use strict') return true;
    at += 1;
  }
}

/**
 * `code` made to stop at its first statement unless the document it runs in is on `origin`.
 * Chromium can run a call aimed at one document in the tab's next one, when a navigation commits
 * meanwhile: a plugin's file, or the runtime, must not run on another site's page. The check is a
 * top-level `throw`, so where the script does run its top-level declarations are still the page's
 * globals; it keeps a strict script strict (its own directive, behind the check, no longer counts),
 * and it shares the script's first line, so the page's console reports the script's own lines.
 *
 * @example
 *   onlyOnOrigin('window.x = 1', 'https://a.test')
 *   // → 'if (location.origin !== "https://a.test") throw new Error(…);window.x = 1'
 */
export function onlyOnOrigin(code: string, origin: string): string {
  const check = `if (location.origin !== ${JSON.stringify(origin)}) throw new Error("AiPlugs: this script is for another site's page");`;
  return `${isStrictScript(code) ? '"use strict";' : ''}${check}${code}`;
}
