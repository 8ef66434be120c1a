// Language Lens backend (Node): identifies languages with fastText's lid.176.ftz.
//
// The gateway provisions the model file declared in manifest.json into the central models/ folder
// (official URL first, then the copy inside the fasttext.wasm.js npm package) and starts this
// process with the file's absolute path in LID_MODEL_PATH, the manifest's "key". The model is
// loaded once per worker process and reused for every request.
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getLIDModel } from 'fasttext.wasm.js';

const MODEL_PATH = process.env.LID_MODEL_PATH;
/** How many texts one request may carry, and how much of each is looked at. */
const MAX_TEXTS = 500;
const MAX_CHARS = 2000;
/** Below this, fastText's best guess is shown as uncertain by the page. */
const CONFIDENT = 0.5;

let modelPromise = null;

function loadModel() {
  if (!MODEL_PATH) {
    throw new Error('LID_MODEL_PATH is not set: start this backend through the AiPlugs gateway, which provisions lid.176.ftz and passes its path');
  }
  modelPromise ??= (async () => {
    const started = Date.now();
    const model = await getLIDModel({ modelPath: pathToFileURL(MODEL_PATH).href });
    await model.load();
    // Goes to the gateway log: shows which file this worker really loaded.
    console.log(`language-lens: loaded fastText model ${MODEL_PATH} in ${Date.now() - started} ms`);
    return model;
  })().catch((error) => {
    modelPromise = null; // let the next request try again
    throw error;
  });
  return modelPromise;
}

/** fastText reads one line; its labels are Wikipedia codes, which the package maps to ISO 639. */
async function identify(model, text) {
  const line = String(text).replace(/\s+/g, ' ').trim().slice(0, MAX_CHARS);
  if (!line) return null;
  const top = await model.identify(line, 3);
  const [best, ...others] = top;
  return {
    lang: best.alpha2 ?? best.alpha3,
    name: best.refName,
    confidence: Math.round(best.possibility * 1000) / 1000,
    confident: best.possibility >= CONFIDENT,
    alternatives: others.map((other) => ({ lang: other.alpha2 ?? other.alpha3, name: other.refName, confidence: Math.round(other.possibility * 1000) / 1000 })),
  };
}

/**
 * payload: `{ texts: string[] }` (paragraphs) or `{ text: string }` (one selection).
 * returns: `{ model, results: [{ lang, name, confidence, confident, alternatives }|null] }`, in order.
 */
export async function run(payload) {
  const texts = Array.isArray(payload?.texts) ? payload.texts : typeof payload?.text === 'string' ? [payload.text] : null;
  if (!texts) throw new TypeError('Send { texts: ["…"] } or { text: "…" }');
  if (texts.length > MAX_TEXTS) throw new RangeError(`At most ${MAX_TEXTS} texts per request (got ${texts.length})`);
  const model = await loadModel();
  const results = [];
  for (const text of texts) results.push(await identify(model, text));
  return { model: basename(MODEL_PATH), results };
}
