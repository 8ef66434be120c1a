// Super Vision backend (Node): finds objects in an image with CenterNet (80 COCO classes) on
// TensorFlow.js' WebAssembly backend.
//
// The gateway provisions the model's two files declared in manifest.json (the graph's JSON and its
// weights: official CDN URL first, then the copy inside the @vladmandic/human npm package) into the
// central models/ folder and starts this process with their absolute paths in
// CENTERNET_MODEL_PATH and CENTERNET_WEIGHTS_PATH, the manifest's keys. The model is loaded once
// per worker process and reused for every request.
import { z } from 'zod';
import { decodeImage, ImageFormatError } from './decode-image.js';
import { loadDetector } from './detector.js';
import { fetchImage, ImageFetchError } from './fetch-image.js';
import { rescale } from './postprocess.js';

const GRAPH_PATH = process.env.CENTERNET_MODEL_PATH;
const WEIGHTS_PATH = process.env.CENTERNET_WEIGHTS_PATH;
/** A data: URL of the page-side cap (8 MiB of body) is below this; anything longer is refused unread. */
const MAX_IMAGE_CHARS = 12 * 1024 * 1024;

const dimension = z.number().int().positive().max(100_000);
const payloadSchema = z
  .object({
    /** The pixels, as a data: URL (JPEG or PNG) or bare base64: what the page could read. */
    image: z.string().min(1).max(MAX_IMAGE_CHARS).optional(),
    /** The image's address, when the page could not read its pixels (fetched here, see fetch-image.js). */
    url: z.string().min(1).max(8192).optional(),
    /** The original's size when `image` is a smaller copy: boxes come back in these coordinates. */
    size: z.object({ width: dimension, height: dimension }).optional(),
    min_score: z.number().min(0.05).max(1).default(0.3),
    max_detections: z.number().int().min(1).max(100).default(20),
  })
  .refine((payload) => (payload.image === undefined) !== (payload.url === undefined), 'send exactly one of "image" and "url"');

/** @type {ReturnType<typeof loadDetector> | null} */
let detectorPromise = null;

function detector() {
  if (!GRAPH_PATH || !WEIGHTS_PATH) {
    throw new Error('CENTERNET_MODEL_PATH and CENTERNET_WEIGHTS_PATH are not set: start this backend through the AiPlugs gateway, which provisions centernet.json and centernet.bin and passes their paths');
  }
  detectorPromise ??= (async () => {
    const started = Date.now();
    const loaded = await loadDetector({ graphPath: GRAPH_PATH, weightsPath: WEIGHTS_PATH });
    // Goes to the gateway log: shows which files this worker really loaded.
    console.log(`super-vision: loaded CenterNet ${GRAPH_PATH} + ${WEIGHTS_PATH} in ${Date.now() - started} ms`);
    return loaded;
  })().catch((error) => {
    detectorPromise = null; // let the next request try again
    throw error;
  });
  return detectorPromise;
}

/** @param {string} image a data: URL or bare base64 */
function imageBytes(image) {
  const base64 = image.startsWith('data:') ? image.slice(image.indexOf(',') + 1) : image;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new ImageFormatError('The image is empty or not base64');
  return bytes;
}

/**
 * payload: `{ image: "data:image/jpeg;base64,…", size?: {width, height} }` or `{ url: "https://…" }`,
 *   optional `min_score` (0.05–1, default 0.3) and `max_detections` (1–100, default 20).
 * returns: `{ model, image: {width, height}, detections: [{ label, class_id, score, box: {x, y, width, height} }], elapsed_ms }`,
 *   boxes in `image`'s pixel coordinates (the original's when `size` was sent), best first;
 *   or `{ refused: { code, message } }` when the image cannot be read (message written for the page).
 * @param {unknown} payload @param {{ signal?: AbortSignal }} [context]
 */
export async function run(payload, context = {}) {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) throw new TypeError(`Bad payload: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`).join('; ')}`);
  const request = parsed.data;
  const started = performance.now();
  const loading = detector(); // loads while the image arrives
  loading.catch(() => {}); // awaited below; never an unhandled rejection while the image is on its way
  try {
    const bytes = request.url !== undefined ? (await fetchImage(request.url, { signal: context.signal })).bytes : imageBytes(request.image ?? '');
    const image = decodeImage(bytes);
    const found = await (await loading).detect(image, { minScore: request.min_score, maxDetections: request.max_detections });
    const size = request.size ?? { width: image.width, height: image.height };
    return {
      model: 'centernet',
      image: size,
      detections: request.size ? rescale(found, image, size) : found,
      elapsed_ms: Math.round(performance.now() - started),
    };
  } catch (error) {
    if (error instanceof ImageFetchError || error instanceof ImageFormatError) {
      console.error(`super-vision: ${request.url !== undefined ? `${request.url.slice(0, 200)}: ` : ''}${error.message}`);
      return { refused: { code: error instanceof ImageFetchError ? error.code : 'unreadable_image', message: error.message } };
    }
    throw error;
  }
}
