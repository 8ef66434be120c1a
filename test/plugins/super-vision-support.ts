import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Shared by the Super Vision tests and benchmark: where the plugin, its model copy and the photos are. */

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const PLUGIN_DIR = join(REPO, 'plugins/super-vision');
export const PHOTOS = join(REPO, 'test/fixtures/photos');
/** The npm package's copy of the model: the same bytes the manifest declares (its `file:` mirrors). */
export const MODEL_FILES = {
  graphPath: join(REPO, 'node_modules/@vladmandic/human/models/centernet.json'),
  weightsPath: join(REPO, 'node_modules/@vladmandic/human/models/centernet.bin'),
};

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Detection {
  label: string;
  class_id: number;
  score: number;
  box: Box;
}
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}
export interface Raster {
  width: number;
  height: number;
  rgb: Uint8Array;
  coveredWidth: number;
  coveredHeight: number;
}
export interface Detector {
  inputSize: number;
  infer(raster: { width: number; height: number; rgb: Uint8Array }): Promise<number[][]>;
  detect(image: RgbaImage, options: { minScore: number; maxDetections: number }): Promise<Detection[]>;
  dispose(): void;
}

/** The plugin's modules are plain JavaScript (JSDoc-typed): imported by path, typed here. */
export async function pluginModule<T>(file: string): Promise<T> {
  return (await import(pathToFileURL(join(PLUGIN_DIR, file)).href)) as T;
}

export interface DetectorModule {
  loadDetector(files: { graphPath: string; weightsPath: string }): Promise<Detector>;
}
export interface DecodeModule {
  MAX_MEGAPIXELS: number;
  decodeImage(bytes: Uint8Array): RgbaImage;
  rasterFor(image: RgbaImage, inputSize: number): Raster;
  shrinkToRgb(rgba: Uint8Array, width: number, height: number, factorX: number, factorY: number): Raster;
}
export interface PostprocessModule {
  iou(a: Box, b: Box): number;
  rescale(detections: Detection[], from: { width: number; height: number }, to: { width: number; height: number }): Detection[];
}

/**
 * What the photos show, boxed by hand (by eye on the pictures, not from any detector's output):
 * a detection of that class must overlap its box by IoU ≥ 0.5.
 */
export const PHOTO_OBJECTS: Record<string, Array<{ label: string; box: Box }>> = {
  'dog.jpg': [
    { label: 'dog', box: { x: 130, y: 220, width: 180, height: 320 } },
    { label: 'bicycle', box: { x: 125, y: 135, width: 440, height: 285 } },
    { label: 'car', box: { x: 468, y: 80, width: 215, height: 90 } },
  ],
  'person.jpg': [
    { label: 'person', box: { x: 190, y: 98, width: 85, height: 275 } },
    { label: 'dog', box: { x: 68, y: 265, width: 135, height: 80 } },
  ],
};
