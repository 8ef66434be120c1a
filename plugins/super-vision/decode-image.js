// Image bytes → the small RGB raster the detector reads. JPEG (jpeg-js) and PNG (pngjs), both pure
// JavaScript: nothing native to build, nothing downloaded at install. Every bound is checked before
// the expensive step: the header's pixel count before decoding, the decoder's own memory caps while
// it runs, and the raster handed on is at most about 2 × the model's input on a side.
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';

/** Larger images are refused before decoding: 40 megapixels is a 7300 × 5500 photo. */
export const MAX_MEGAPIXELS = 40;
/** JPEGs of more scans are refused: jpeg-js walks the whole image once per scan (photos have about ten). */
export const MAX_JPEG_SCANS = 100;

/**
 * A JPEG's scans, counted as its start-of-scan markers (0xFF 0xDA) in one native search: in the
 * compressed data a 0xFF byte is always stuffed or a marker, so only a segment's payload (an EXIF
 * thumbnail's own scan) adds a stray one. A progressive JPEG of thousands of tiny scans took
 * jpeg-js 32 s for 464 KB (helper-80, helper-81).
 * @param {Uint8Array} bytes
 */
function countScans(bytes) {
  let scans = 0;
  for (let at = bytes.indexOf(0xff); at >= 0 && at + 1 < bytes.length; at = bytes.indexOf(0xff, at + 1)) {
    if (bytes[at + 1] === 0xda) scans += 1;
  }
  return scans;
}

export class ImageFormatError extends Error {
  name = 'ImageFormatError';
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** @param {Uint8Array} bytes @returns {'jpeg' | 'png' | null} */
export function sniffFormat(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 24 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).equals(PNG_SIGNATURE)) return 'png';
  return null;
}

/** @param {number} width @param {number} height */
function checkPixels(width, height) {
  if (!(width > 0 && height > 0)) throw new ImageFormatError('The image has no pixels');
  if (width * height > MAX_MEGAPIXELS * 1e6) throw new ImageFormatError(`The image is ${width} × ${height}; at most ${MAX_MEGAPIXELS} megapixels are read`);
}

/**
 * The PNG's chunks before pngjs reads them, in one pass: IHDR first and only once, and not
 * interlaced. pngjs takes a later IHDR as the image's size (99 bytes declaring 1 × 1, then 20,000
 * × 20,000, took the worker to 4 GB past the header check), and inflates an interlaced image with
 * no size limit (a 1 MB zlib bomb, 2 GB) (helper-80).
 * @param {Uint8Array} bytes
 */
function checkPngChunks(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at) => String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
  if (type(8) !== 'IHDR') throw new ImageFormatError('The PNG image does not start with its header (IHDR)');
  if (bytes[28] !== 0) throw new ImageFormatError('Interlaced PNG images are not read; send it as JPEG or a plain PNG');
  // Length, type, data, CRC: 12 bytes besides the data.
  for (let at = 8 + 12 + view.getUint32(8); at + 8 <= bytes.length; at += 12 + view.getUint32(at)) {
    if (type(at) === 'IHDR') throw new ImageFormatError('The PNG image has a second header (IHDR)');
    if (type(at) === 'IEND') return;
  }
}

/**
 * Decodes JPEG or PNG bytes to RGBA.
 * @param {Uint8Array} bytes
 * @returns {{ width: number, height: number, rgba: Uint8Array }}
 */
export function decodeImage(bytes) {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    // IHDR is always the first chunk: width and height at bytes 16-23, read before inflating.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    checkPixels(view.getUint32(16), view.getUint32(20));
    checkPngChunks(bytes);
    try {
      // pngjs inflates at most width × height × bytes per pixel (its sync inflater's maxLength).
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: png.data };
    } catch (error) {
      throw new ImageFormatError(`The PNG image could not be decoded: ${/** @type {Error} */ (error).message}`);
    }
  }
  if (format === 'jpeg') {
    if (countScans(bytes) > MAX_JPEG_SCANS) throw new ImageFormatError(`The JPEG image has more than ${MAX_JPEG_SCANS} scans`);
    try {
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 512 });
      checkPixels(image.width, image.height);
      return { width: image.width, height: image.height, rgba: image.data };
    } catch (error) {
      if (error instanceof ImageFormatError) throw error;
      throw new ImageFormatError(`The JPEG image could not be decoded: ${/** @type {Error} */ (error).message}`);
    }
  }
  throw new ImageFormatError('The image is neither JPEG nor PNG (the page sends JPEG; images fetched by URL must be JPEG or PNG)');
}

/**
 * Averages `factorX × factorY` blocks of RGBA into RGB, over white where the image is transparent.
 * One pass over the source; the few rightmost columns and bottom rows that do not fill a whole
 * block are dropped, and `coveredWidth` / `coveredHeight` say how much of the source the raster
 * covers, so coordinates map back exactly.
 * @param {Uint8Array} rgba @param {number} width @param {number} height @param {number} factorX @param {number} factorY
 */
export function shrinkToRgb(rgba, width, height, factorX, factorY) {
  const outWidth = Math.floor(width / factorX);
  const outHeight = Math.floor(height / factorY);
  const rgb = new Uint8Array(outWidth * outHeight * 3);
  const sums = new Float64Array(outWidth * 3);
  const area = factorX * factorY * 255;
  for (let outY = 0; outY < outHeight; outY++) {
    sums.fill(0);
    for (let y = outY * factorY; y < (outY + 1) * factorY; y++) {
      let source = y * width * 4;
      for (let outX = 0; outX < outWidth; outX++) {
        for (let k = 0; k < factorX; k++, source += 4) {
          const alpha = rgba[source + 3];
          const white = 255 * (255 - alpha);
          sums[outX * 3] += rgba[source] * alpha + white;
          sums[outX * 3 + 1] += rgba[source + 1] * alpha + white;
          sums[outX * 3 + 2] += rgba[source + 2] * alpha + white;
        }
      }
    }
    const row = outY * outWidth * 3;
    for (let i = 0; i < outWidth * 3; i++) rgb[row + i] = Math.round(sums[i] / area);
  }
  return { width: outWidth, height: outHeight, rgb, coveredWidth: outWidth * factorX, coveredHeight: outHeight * factorY };
}

/**
 * The raster for a model whose input is `inputSize` square: whole-number box shrinking while a
 * side is at least twice the input (the model's own bilinear resize does the rest, without
 * skipping pixels).
 * @param {{ width: number, height: number, rgba: Uint8Array }} image @param {number} inputSize
 */
export function rasterFor(image, inputSize) {
  const factorX = Math.max(1, Math.floor(image.width / inputSize));
  const factorY = Math.max(1, Math.floor(image.height / inputSize));
  return shrinkToRgb(image.rgba, image.width, image.height, factorX, factorY);
}
