/**
 * `<meta http-equiv="Content-Security-Policy" content="…">` tags in a document's head: header
 * rules never see them, so the head scanner edits them in place. Only the `content` value changes
 * (or the whole tag goes): every other attribute, and every byte around it, is kept.
 */
import { decodeHTMLAttribute } from 'entities/lib/decode.js';
import type { Attribute, StartTag } from './html-tokenizer.js';

/** A policy's replacement, or null to remove the tag (`strip` mode). */
export type MetaCspRewrite = (policy: string) => string | null;

/** A change to a document's bytes: `[start, end)` becomes `text` (ASCII). */
export interface ByteEdit {
  start: number;
  end: number;
  /** ASCII text, or already its bytes (the injected markup, encoded once and shared). */
  text: string | Buffer;
}

const CSP_EQUIVS = ['content-security-policy', 'content-security-policy-report-only'];

export function attributeOf(tag: StartTag, name: string): Attribute | undefined {
  return tag.attributes.find((attribute) => attribute.name === name);
}

/** The policy a meta tag declares (entity-decoded), or null when it is not a CSP meta tag. */
export function metaCspPolicy(tag: StartTag): { policy: string; content: Attribute } | null {
  if (tag.name !== 'meta') return null;
  const equiv = attributeOf(tag, 'http-equiv');
  if (!equiv || !CSP_EQUIVS.includes(decodeHTMLAttribute(equiv.value).trim().toLowerCase())) return null;
  const content = attributeOf(tag, 'content');
  // Browsers ignore a CSP meta tag without a policy.
  if (!content || content.valueStart < 0) return null;
  return { policy: decodeHTMLAttribute(content.value), content };
}

/** An attribute value in double quotes, ASCII only, that decodes back to `value`. */
export function quoteAttributeValue(value: string): string {
  return `"${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/[^\x20-\x7e]/g, (char) => `&#${char.codePointAt(0)};`)}"`;
}

/**
 * The edit a CSP meta tag needs: its `content` value rewritten in place (quotes included, so an
 * unquoted value can take spaces), the tag removed, or nothing when the policy stays the same.
 */
export function metaCspEdit(tag: StartTag, rewrite: MetaCspRewrite): ByteEdit | null {
  const found = metaCspPolicy(tag);
  if (!found) return null;
  const replacement = rewrite(found.policy);
  if (replacement === null) return { start: tag.start, end: tag.end, text: '' };
  if (replacement === found.policy) return null;
  const { content } = found;
  const quote = content.quoted ? 1 : 0;
  return { start: content.valueStart - quote, end: content.valueEnd + quote, text: quoteAttributeValue(replacement) };
}
