// An image's width and height from its header, before anything decodes it: a page sends the image,
// and a 1 MB PNG can say 32,000 × 32,000 pixels, which Tesseract would decode into 2 GB of memory.
// The formats are the ones Tesseract reads here; bytes of any other kind are refused.

export class ImageFormatError extends Error {
  name = 'ImageFormatError';
}

const ascii = (bytes, at, length) => String.fromCharCode(...bytes.subarray(at, at + length));

/** @param {Uint8Array} bytes @returns {{ format: string, width: number, height: number }} */
export function imageSize(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (length, format) => {
    if (bytes.length < length) throw new ImageFormatError(`The ${format} image is cut short`);
  };
  if (bytes[0] === 0x89 && ascii(bytes, 1, 3) === 'PNG') {
    // IHDR is always the first chunk.
    need(24, 'PNG');
    return { format: 'PNG', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegSize(bytes, view);
  if (ascii(bytes, 0, 4) === 'GIF8') return gifSize(bytes, view);
  if (ascii(bytes, 0, 2) === 'BM') {
    need(26, 'BMP');
    // A BITMAPCOREHEADER (12 bytes) has 16-bit sizes; every later header 32-bit ones, a negative height meaning top-down rows.
    if (view.getUint32(14, true) === 12) return { format: 'BMP', width: view.getUint16(18, true), height: view.getUint16(20, true) };
    return { format: 'BMP', width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
  }
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpSize(bytes, view);
  throw new ImageFormatError('The image is not PNG, JPEG, GIF, BMP or WebP');
}

/** The first start-of-frame segment's size; each segment is skipped by its length, so one pass. */
function jpegSize(bytes, view) {
  let at = 2;
  while (at + 9 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new ImageFormatError('The JPEG image is malformed');
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { format: 'JPEG', width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    }
    const standalone = marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
    at += standalone ? 2 : 2 + view.getUint16(at + 2);
  }
  throw new ImageFormatError('The JPEG image has no frame header');
}

/**
 * How many scans a JPEG has, counted in one pass over its markers and entropy-coded data. A
 * progressive JPEG of thousands of tiny scans makes the decoder walk the whole image once per
 * scan: 464 KB took 40 s of CPU (helper-80). Photos have about ten.
 * @param {Uint8Array} bytes
 */
export function jpegScans(bytes) {
  let scans = 0;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) {
      at += 1; // entropy-coded data, up to the next marker
      continue;
    }
    const marker = bytes[at + 1];
    // A stuffed 0xFF00, a fill byte, or a marker with no length: a restart, SOI, TEM (libjpeg takes
    // TEM standalone; read as one with a length, it hid the scans after it: helper-81).
    if (marker === 0x00 || marker === 0xff || marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker === 0xd9) break;
    if (marker === 0xda) scans += 1;
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  return scans;
}

/**
 * The PNG's critical chunks only (header, palette, transparency, data, end), as they were: its
 * text and colour profile chunks are compressed, and libpng inflates every one, up to 8 MB each,
 * for a picture of one pixel (600 of them, 4.6 MB, took 24 s; helper-80). Tesseract needs none.
 * @param {Uint8Array} bytes
 */
export function criticalPng(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept = [bytes.subarray(0, 8)];
  for (let at = 8; at + 12 <= bytes.length; ) {
    const end = at + 12 + view.getUint32(at);
    const type = ascii(bytes, at + 4, 4);
    if (KEPT_CHUNKS.has(type)) kept.push(bytes.subarray(at, Math.min(end, bytes.length)));
    if (type === 'IEND') break;
    at = end;
  }
  return Buffer.concat(kept);
}

const KEPT_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);

/** The logical screen, and the first frame, which may be larger than it. */
function gifSize(bytes, view) {
  if (bytes.length < 13) throw new ImageFormatError('The GIF image is cut short');
  let width = view.getUint16(6, true);
  let height = view.getUint16(8, true);
  const flags = bytes[10];
  let at = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  while (at < bytes.length) {
    if (bytes[at] === 0x2c) {
      if (at + 9 > bytes.length) break;
      width = Math.max(width, view.getUint16(at + 5, true));
      height = Math.max(height, view.getUint16(at + 7, true));
      return { format: 'GIF', width, height };
    }
    if (bytes[at] !== 0x21) break;
    // An extension: its label, then sub-blocks until an empty one.
    at += 2;
    while (at < bytes.length && bytes[at] !== 0) at += bytes[at] + 1;
    at += 1;
  }
  throw new ImageFormatError('The GIF image has no frame');
}

function webpSize(bytes, view) {
  if (bytes.length < 30) throw new ImageFormatError('The WebP image is cut short');
  const chunk = ascii(bytes, 12, 4);
  // Lossy: a 14-bit width and height in the key frame's header.
  if (chunk === 'VP8 ') return { format: 'WebP', width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  if (chunk === 'VP8L') {
    // Lossless: 14 bits of width - 1, then 14 of height - 1, after the signature byte.
    const bits = view.getUint32(21, true);
    return { format: 'WebP', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  // Extended: the canvas, 24 bits each of width - 1 and height - 1.
  if (chunk === 'VP8X') return { format: 'WebP', width: (view.getUint32(24, true) & 0xffffff) + 1, height: (view.getUint32(26, true) >>> 8) + 1 };
  throw new ImageFormatError('The WebP image is of an unknown kind');
}
