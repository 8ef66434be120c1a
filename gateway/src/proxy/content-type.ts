import { MIMEType } from 'whatwg-mimetype';

type Headers = Record<string, string | string[] | undefined>;

/** A response's media type as the browser will take it. */
export interface ContentType {
  /** Lower case, without parameters: `text/html`. */
  essence: string;
  /** The `charset` parameter, trimmed and lower case, when there is one. */
  charset: string | undefined;
}

/**
 * The values of a header list entry, split on the commas that are not inside a quoted string
 * (Fetch's "get, decode, and split"): `text/html;charset="a,b", text/plain` is two values.
 * One pass over the string.
 */
export function splitHeaderValues(value: string): string[] {
  const values: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value.charCodeAt(i);
    if (quoted) {
      if (char === 0x5c) i++; // a backslash escapes the next character, a quote included
      else if (char === 0x22) quoted = false;
    } else if (char === 0x22) {
      quoted = true;
    } else if (char === 0x2c) {
      values.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  values.push(value.slice(start).trim());
  return values;
}

/**
 * The media type a browser renders a response as, by Fetch's "extract a MIME type": of all the
 * `Content-Type` values (repeated headers, or one header with commas) the last valid one wins,
 * `*∕*` is skipped, and a charset carries over to a later value of the same essence that names
 * none. Chromium decides documents so: with `text/html; charset=utf-8` then `text/plain`, the page
 * is shown as text, and markup put into it would be shown to the user as text too. Where Chromium
 * and the spec part (`charset=gbk`, `charset=utf-16le`, then a bare `text/html`: the spec carries
 * gbk, Chromium decodes UTF-16), the charset carried is the latest, as Chromium has it.
 *
 * @example
 *   extractContentType({ 'content-type': ['text/plain', 'text/html'] }); // → { essence: 'text/html', charset: undefined }
 *   extractContentType({ 'content-type': 'text/html;charset=GBK, text/html' }); // → { essence: 'text/html', charset: 'gbk' }
 *   extractContentType({}); // → null
 */
export function extractContentType(headers: Headers): ContentType | null {
  // Asked of one response by the planner, the rules and the activity view: read once. Its header
  // (up to the 256 KiB head a site may send) costs a hostile site nothing to make long.
  const known = readHeaders.get(headers);
  if (known !== undefined) return known;
  const found = readContentType(headers);
  readHeaders.set(headers, found);
  return found;
}

const readHeaders = new WeakMap<Headers, ContentType | null>();

function readContentType(headers: Headers): ContentType | null {
  let found: ContentType | null = null;
  for (const value of contentTypeValues(headers)) {
    const parsed = MIMEType.parse(value);
    if (parsed === null || parsed.essence === '*/*') continue;
    const charset = parsed.parameters.get('charset')?.trim().toLowerCase();
    const carried: string | undefined = found !== null && found.essence === parsed.essence ? found.charset : undefined;
    found = { essence: parsed.essence, charset: charset ?? carried };
  }
  return found;
}

function contentTypeValues(headers: Headers): string[] {
  const values: string[] = [];
  for (const key in headers) {
    if (key.length !== 12 || !Object.hasOwn(headers, key) || key.toLowerCase() !== 'content-type') continue;
    const value = headers[key];
    for (const entry of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      for (const part of splitHeaderValues(entry)) values.push(part);
    }
  }
  return values;
}
