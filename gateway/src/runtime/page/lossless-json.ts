/**
 * A JSON.stringify replacer for what pages send: bytes, Blobs, Maps and Sets have no JSON form,
 * and JSON.stringify turns them into `{}` (or an object keyed by index), so the backend got an
 * empty payload and the page no error. Refused instead, with what to send.
 */
export function refuseLossyValues(key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const kind =
    value instanceof ArrayBuffer || ArrayBuffer.isView(value)
      ? 'bytes (an ArrayBuffer or typed array)'
      : typeof Blob !== 'undefined' && value instanceof Blob
        ? 'a Blob'
        : value instanceof Map
          ? 'a Map'
          : value instanceof Set
            ? 'a Set'
            : null;
  if (kind === null) return value;
  // Only the nearest key is known; `payload` is the request's own (the payload itself).
  const where = key === 'payload' || key === '' ? 'the payload' : `"${key}" in the payload`;
  throw new TypeError(`AiPlugs: ${where} is ${kind}, which JSON cannot carry; send a string (base64 for bytes), an array or a plain object`);
}
