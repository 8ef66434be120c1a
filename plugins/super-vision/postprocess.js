// CenterNet's raw rows → labelled boxes in image pixels: score threshold, class-agnostic
// non-maximum suppression (the graph reports a car and a truck on the same box; only the likelier
// stays), scaling from the model's input square back to the image. Pure; ≤ 100 rows in.

/** Boxes overlapping a better one by more than this (intersection over union) are dropped. */
export const IOU_THRESHOLD = 0.45;

/**
 * @typedef {{ x: number, y: number, width: number, height: number }} Box
 * @typedef {{ label: string, class_id: number, score: number, box: Box }} Detection
 */

/** @param {Box} a @param {Box} b */
export function iou(a, b) {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (width <= 0 || height <= 0) return 0;
  const overlap = width * height;
  return overlap / (a.width * a.height + b.width * b.height - overlap);
}

/** @param {number} value @param {number} max */
const clamp = (value, max) => Math.min(Math.max(value, 0), max);

/**
 * @param {number[][]} rows `[x1, y1, x2, y2, score, class]` in input-square pixels
 * @param {{ inputSize: number, coveredWidth: number, coveredHeight: number, width: number, height: number,
 *   labels: readonly string[], minScore: number, maxDetections: number }} options
 *   `covered*`: how much of the image the model's input showed (see decode-image.js `shrinkToRgb`)
 * @returns {Detection[]}
 */
export function toDetections(rows, options) {
  const scaleX = options.coveredWidth / options.inputSize;
  const scaleY = options.coveredHeight / options.inputSize;
  /** @type {Detection[]} */
  const candidates = [];
  for (const [x1 = 0, y1 = 0, x2 = 0, y2 = 0, score = 0, classId = -1] of rows) {
    const label = options.labels[classId];
    if (!(score >= options.minScore) || label === undefined) continue;
    const left = clamp(x1 * scaleX, options.width);
    const top = clamp(y1 * scaleY, options.height);
    const right = clamp(x2 * scaleX, options.width);
    const bottom = clamp(y2 * scaleY, options.height);
    if (right - left < 1 || bottom - top < 1) continue;
    candidates.push({ label, class_id: classId, score, box: { x: left, y: top, width: right - left, height: bottom - top } });
  }
  candidates.sort((a, b) => b.score - a.score);
  /** @type {Detection[]} */
  const kept = [];
  for (const candidate of candidates) {
    if (kept.length >= options.maxDetections) break;
    if (kept.every((other) => iou(other.box, candidate.box) <= IOU_THRESHOLD)) kept.push(candidate);
  }
  return kept.map((detection) => ({ ...detection, score: Math.round(detection.score * 1000) / 1000, box: roundBox(detection.box) }));
}

/** @param {Box} box */
function roundBox(box) {
  return { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
}

/**
 * The same boxes in another size of the same picture (the page sends a smaller copy of a large
 * image and asks for the original's coordinates).
 * @param {Detection[]} detections @param {{ width: number, height: number }} from @param {{ width: number, height: number }} to
 */
export function rescale(detections, from, to) {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return detections.map((detection) => ({
    ...detection,
    box: roundBox({ x: detection.box.x * sx, y: detection.box.y * sy, width: detection.box.width * sx, height: detection.box.height * sy }),
  }));
}
