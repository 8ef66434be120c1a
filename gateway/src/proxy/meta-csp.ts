/**
 * `<meta http-equiv="Content-Security-Policy" content="…">` tags in a document's head: header
 * rules never see them, so the document rewriter edits them in the (latin1-read) head bytes.
 */

export interface MetaCspTag {
  start: number;
  end: number;
  /** The `content` attribute, entity-decoded. */
  policy: string;
  reportOnly: boolean;
}

const ENTITIES: Record<string, string> = { quot: '"', apos: "'", amp: '&', lt: '<', gt: '>' };

export function decodeAttribute(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body.startsWith('#x') || body.startsWith('#X')) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
    return ENTITIES[body.toLowerCase()] ?? entity;
  });
}

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of tag.replace(/^<meta/i, '').matchAll(pattern)) {
    const name = match[1]?.toLowerCase();
    if (name && !found.has(name)) found.set(name, decodeAttribute(match[2] ?? match[3] ?? match[4] ?? ''));
  }
  return found;
}

/** Every CSP meta tag in `text` (latin1-decoded bytes, so offsets are byte offsets). */
export function findMetaCspTags(text: string): MetaCspTag[] {
  const tags: MetaCspTag[] = [];
  for (const match of text.matchAll(/<meta\b(?:[^>"']|"[^"]*"|'[^']*')*>/gi)) {
    const attrs = attributes(match[0]);
    const equiv = attrs.get('http-equiv')?.trim().toLowerCase();
    if (equiv !== 'content-security-policy' && equiv !== 'content-security-policy-report-only') continue;
    tags.push({ start: match.index, end: match.index + match[0].length, policy: attrs.get('content') ?? '', reportOnly: equiv.endsWith('report-only') });
  }
  return tags;
}

/** A replacement meta tag, ASCII only, with the policy safely quoted. */
export function metaCspTag(policy: string, reportOnly: boolean): string {
  const escaped = policy.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/[^\x20-\x7e]/g, (char) => `&#${char.codePointAt(0)};`);
  return `<meta http-equiv="Content-Security-Policy${reportOnly ? '-Report-Only' : ''}" content="${escaped}">`;
}
