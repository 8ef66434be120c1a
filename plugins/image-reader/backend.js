// Image Reader backend (Node): OCR with Tesseract (tesseract.js 7, WebAssembly, no native build).
//
// The gateway provisions eng.traineddata.gz (official CDN URL first, then the copy inside the
// @tesseract.js-data/eng npm package) into the central models/ folder and starts this process with
// the file's absolute path in TESSERACT_ENG_PATH, the manifest's "key". tesseract.js never goes to
// the network here: langPath is the folder of that file and its own cache is off.
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createWorker, OEM } from 'tesseract.js';
import { criticalPng, imageSize, jpegScans } from './image-size.js';

const MODEL_PATH = process.env.TESSERACT_ENG_PATH;
const LANG = 'eng';
/** Images above this (decoded) are refused rather than tying the worker up. */
const MAX_IMAGE_BYTES = 15 * 1024 * 1024;
/**
 * Larger images are refused before Tesseract decodes them (~3 bytes of memory per pixel, and
 * the time to match): 40 megapixels is an A4 page scanned at 600 dpi. The page's button sends at
 * most 3000 pixels a side.
 */
const MAX_MEGAPIXELS = 40;
/** More scans are refused (image-size.js, jpegScans): photos have about ten; libjpeg-turbo's own cap is 500. */
const MAX_JPEG_SCANS = 100;

let ocrPromise = null;

/** tesseract.js looks for `<langPath>/<lang>.traineddata.gz`: give it a folder where that name exists. */
async function languageFolder(modelPath) {
  const expected = `${LANG}.traineddata.gz`;
  if (basename(modelPath) === expected) return dirname(modelPath);
  const folder = await mkdtemp(join(tmpdir(), 'aiplugs-tessdata-'));
  await symlink(modelPath, join(folder, expected));
  return folder;
}

function loadOcr() {
  if (!MODEL_PATH) {
    throw new Error('TESSERACT_ENG_PATH is not set: start this backend through the AiPlugs gateway, which provisions eng.traineddata.gz and passes its path');
  }
  ocrPromise ??= (async () => {
    const started = Date.now();
    const worker = await createWorker(LANG, OEM.LSTM_ONLY, {
      langPath: await languageFolder(MODEL_PATH),
      gzip: true,
      cacheMethod: 'none', // the models/ folder is the cache; never write eng.traineddata into the cwd
      // Without a handler, tesseract.js throws each failed job's error from its message listener as
      // well, where nothing can catch it, and an image it cannot read ends this process; the
      // job's promise is rejected either way, and that reaches the caller.
      errorHandler: () => {},
    });
    console.log(`image-reader: loaded Tesseract model ${MODEL_PATH} in ${Date.now() - started} ms`);
    return worker;
  })().catch((error) => {
    ocrPromise = null;
    throw error;
  });
  return ocrPromise;
}

/** Accepts a data: URL or bare base64. */
function decodeImage(image) {
  if (typeof image !== 'string' || image.length === 0) throw new TypeError('Send { image: "data:image/png;base64,…" } (a data: URL or base64)');
  const base64 = image.startsWith('data:') ? image.slice(image.indexOf(',') + 1) : image;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new TypeError('The image is empty or not base64');
  if (bytes.length > MAX_IMAGE_BYTES) throw new RangeError(`The image is ${bytes.length} bytes; at most ${MAX_IMAGE_BYTES} are read`);
  const { format, width, height } = imageSize(bytes);
  if (!(width > 0 && height > 0)) throw new RangeError(`The ${format} image has no pixels`);
  if (width * height > MAX_MEGAPIXELS * 1e6) throw new RangeError(`The ${format} image is ${width} × ${height}; at most ${MAX_MEGAPIXELS} megapixels are read`);
  if (format === 'JPEG' && jpegScans(bytes) > MAX_JPEG_SCANS) throw new RangeError(`The JPEG image has more than ${MAX_JPEG_SCANS} scans`);
  return format === 'PNG' ? criticalPng(bytes) : bytes;
}

/**
 * payload: `{ image: string }`, a data: URL (PNG, JPEG, GIF, BMP, WebP) or base64.
 * returns: `{ text, confidence (0-100), lines: [{ text }], model }`.
 */
export async function run(payload) {
  const bytes = decodeImage(payload?.image);
  const ocr = await loadOcr();
  const { data } = await ocr.recognize(bytes);
  const text = data.text.replace(/\s+$/, '');
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => ({ text: line }));
  return { text, confidence: Math.round(data.confidence), lines, model: basename(MODEL_PATH) };
}
