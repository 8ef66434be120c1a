import assert from 'node:assert/strict';
import { HtmlTokenizer, type StartTag } from '../html-tokenizer.js';

/** The first start tag of `html` as the tokenizer reports it, and the tokenizer's work on the whole of `html`. */
export function firstTag(html: string): { tag: StartTag; work: number } {
  let found: StartTag | undefined;
  const tokenizer = new HtmlTokenizer({
    startTag: (tag) => {
      found ??= tag;
      return 'data';
    },
    endTag() {},
    markup() {},
    text() {},
  });
  tokenizer.write(Buffer.from(html, 'latin1'));
  tokenizer.end();
  assert.ok(found, `no start tag in ${html.slice(0, 80)}`);
  return { tag: found, work: tokenizer.work };
}
