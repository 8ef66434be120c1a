// CenterNet (MobileNetV3 backbone, 80 COCO classes) on TensorFlow.js with the WebAssembly backend:
// CPU only, no native library, and the backend's .wasm files ship inside its npm package. The
// model's two files (graph JSON and weights) arrive as absolute paths and are loaded once per
// process; tfjs never fetches anything (the artifacts are handed over from memory).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { COCO_LABELS } from './coco-labels.js';
import { rasterFor } from './decode-image.js';
import { toDetections } from './postprocess.js';

/** The graph's one output that is already decoded: 100 rows of [x1, y1, x2, y2, score, class]. */
const DETECTIONS_OUTPUT = 'tower_0/detections';

const require = createRequire(import.meta.url);

/** @type {Promise<void> | null} */
let backendReady = null;

function useWasmBackend() {
  backendReady ??= (async () => {
    // Absolute folder of the package's own .wasm files: nothing is looked up relative to the cwd.
    setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('The TensorFlow.js WebAssembly backend did not start');
    await tf.ready();
  })();
  return backendReady;
}

/**
 * The graph JSON and its single weights file as tfjs model artifacts.
 * @param {string} graphPath @param {string} weightsPath
 * @returns {Promise<import('@tensorflow/tfjs-core').io.ModelArtifacts>}
 */
async function readArtifacts(graphPath, weightsPath) {
  const graph = JSON.parse(await readFile(graphPath, 'utf8'));
  const groups = Array.isArray(graph.weightsManifest) ? graph.weightsManifest : [];
  if (!graph.modelTopology || groups.length !== 1) throw new Error(`${graphPath} is not a single-shard TF.js graph model`);
  const weights = await readFile(weightsPath);
  return {
    modelTopology: graph.modelTopology,
    format: graph.format,
    generatedBy: graph.generatedBy,
    convertedBy: graph.convertedBy,
    signature: graph.signature,
    weightSpecs: groups[0].weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

/**
 * Loads the detector. `detect(image, options)` takes decoded RGBA and returns detections in that
 * image's pixel coordinates, best first.
 * @param {{ graphPath: string, weightsPath: string }} files
 */
export async function loadDetector({ graphPath, weightsPath }) {
  await useWasmBackend();
  const model = await loadGraphModel(tf.io.fromMemory(await readArtifacts(graphPath, weightsPath)));
  const input = model.inputs[0];
  const inputSize = input?.shape?.[1];
  if (!input || typeof inputSize !== 'number' || input.shape?.[2] !== inputSize) throw new Error(`${graphPath}: expected a square NHWC image input`);
  if (!model.outputNodes.includes(DETECTIONS_OUTPUT)) throw new Error(`${graphPath}: no ${DETECTIONS_OUTPUT} output`);

  /**
   * Runs the graph on an RGB raster already shrunk near the input size.
   * @param {{ width: number, height: number, rgb: Uint8Array }} raster
   * @returns {Promise<number[][]>} the raw rows, in input-square coordinates
   */
  async function infer(raster) {
    const output = tf.tidy(() => {
      const pixels = tf.cast(tf.tensor3d(raster.rgb, [raster.height, raster.width, 3], 'int32'), 'float32');
      const batch = tf.image.resizeBilinear(tf.expandDims(pixels, 0), [inputSize, inputSize]);
      return /** @type {import('@tensorflow/tfjs-core').Tensor} */ (model.execute(batch, DETECTIONS_OUTPUT));
    });
    try {
      return /** @type {number[][][]} */ (await output.array())[0] ?? [];
    } finally {
      output.dispose();
    }
  }

  return {
    inputSize,
    infer,
    /**
     * @param {{ width: number, height: number, rgba: Uint8Array }} image
     * @param {{ minScore: number, maxDetections: number }} options
     */
    async detect(image, options) {
      const raster = rasterFor(image, inputSize);
      const rows = await infer(raster);
      return toDetections(rows, {
        inputSize,
        coveredWidth: raster.coveredWidth,
        coveredHeight: raster.coveredHeight,
        width: image.width,
        height: image.height,
        labels: COCO_LABELS,
        ...options,
      });
    },
    dispose: () => model.dispose(),
  };
}
