import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import {
  MODEL_FILES,
  PHOTO_OBJECTS,
  PHOTOS,
  pluginModule,
  type DecodeModule,
  type Detection,
  type Detector,
  type DetectorModule,
  type PostprocessModule,
  type RgbaImage,
} from './super-vision-support.js';
import { scannedJpeg } from './hostile-images.js';

// Super Vision's detector on real photos: CenterNet on TF.js' WebAssembly backend, loaded from the
// npm package's copy of the declared model files, finds what the photos show, where they show it.

const MIN_SCORE = 0.35;

let detector: Detector;
let decode: DecodeModule;
let post: PostprocessModule;

before(async () => {
  decode = await pluginModule<DecodeModule>('decode-image.js');
  post = await pluginModule<PostprocessModule>('postprocess.js');
  detector = await (await pluginModule<DetectorModule>('detector.js')).loadDetector(MODEL_FILES);
});
after(() => detector?.dispose());

async function photo(name: string): Promise<RgbaImage> {
  return decode.decodeImage(await readFile(join(PHOTOS, name)));
}

/** Every hand-boxed object has a detection of its class above MIN_SCORE overlapping it by IoU ≥ 0.5. */
function assertFinds(name: string, detections: Detection[], scale = 1) {
  for (const expected of PHOTO_OBJECTS[name] ?? []) {
    const box = { x: expected.box.x * scale, y: expected.box.y * scale, width: expected.box.width * scale, height: expected.box.height * scale };
    const match = detections.find((detection) => detection.label === expected.label && post.iou(detection.box, box) >= 0.5);
    assert.ok(match, `${name}: a ${expected.label} near ${JSON.stringify(box)}; found ${JSON.stringify(detections)}`);
    assert.ok(match.score >= MIN_SCORE, `${name}: ${expected.label} at ${match.score}`);
  }
}

describe('super-vision detector', () => {
  for (const name of Object.keys(PHOTO_OBJECTS)) {
    it(`${name}: finds ${PHOTO_OBJECTS[name]!.map((object) => object.label).join(', ')} with plausible boxes in image pixels`, async () => {
      const image = await photo(name);
      const detections = await detector.detect(image, { minScore: 0.2, maxDetections: 20 });
      assertFinds(name, detections);
      for (const { box, score } of detections) {
        assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= image.width && box.y + box.height <= image.height, `inside the image: ${JSON.stringify(box)}`);
        assert.ok(score >= 0.2 && score <= 1);
      }
      assert.deepEqual(detections.map((detection) => detection.score), detections.map((detection) => detection.score).toSorted((a, b) => b - a), 'best first');
    });
  }

  it('one box per object: a class-agnostic suppression keeps only the likelier of overlapping classes', async () => {
    const detections = await detector.detect(await photo('dog.jpg'), { minScore: 0.2, maxDetections: 20 });
    for (const [i, a] of detections.entries()) {
      for (const b of detections.slice(i + 1)) assert.ok(post.iou(a.box, b.box) <= 0.45, `${a.label} and ${b.label} overlap`);
    }
    // The graph itself reports the pickup twice, as a car and as a truck, on the very same box.
    const raw = await detector.infer(decode.rasterFor(await photo('dog.jpg'), detector.inputSize));
    const car = raw.find((row) => row[5] === 2 && row[4]! >= 0.2)!;
    assert.ok(raw.some((row) => row[5] === 7 && row[4]! >= 0.2 && row.slice(0, 4).every((value, i) => value === car[i])), 'a truck row on the car\'s box');
    const pickup = PHOTO_OBJECTS['dog.jpg']!.find((object) => object.label === 'car')!.box;
    assert.deepEqual(detections.filter((detection) => post.iou(detection.box, pickup) >= 0.5).map((detection) => detection.label), ['car']);
  });

  it('a PNG of the same photo finds the same objects', async () => {
    const image = await photo('person.jpg');
    const png = new pngjs.PNG({ width: image.width, height: image.height });
    png.data = Buffer.from(image.rgba);
    const decoded = decode.decodeImage(pngjs.PNG.sync.write(png));
    assert.deepEqual([decoded.width, decoded.height], [640, 424]);
    assertFinds('person.jpg', await detector.detect(decoded, { minScore: 0.2, maxDetections: 20 }));
  });

  it('a half-size copy sent with the original size gets boxes in the original\'s pixels', async () => {
    const image = await photo('dog.jpg');
    const half = decode.shrinkToRgb(image.rgba, image.width, image.height, 2, 2); // 384 × 288
    const rgba = new Uint8Array(half.width * half.height * 4);
    for (let i = 0, j = 0; i < half.rgb.length; i += 3, j += 4) rgba.set([half.rgb[i]!, half.rgb[i + 1]!, half.rgb[i + 2]!, 255], j);
    const small = decode.decodeImage(jpeg.encode({ width: half.width, height: half.height, data: rgba }, 90).data);
    assert.deepEqual([small.width, small.height], [384, 288]);
    const detections = await detector.detect(small, { minScore: 0.2, maxDetections: 20 });
    assertFinds('dog.jpg', detections, 0.5);
    assertFinds('dog.jpg', post.rescale(detections, small, { width: 768, height: 576 }));
  });

  it('transparent pixels are read as white, not black', () => {
    const png = new pngjs.PNG({ width: 4, height: 4 });
    png.data.fill(0); // fully transparent black
    const raster = decode.rasterFor(decode.decodeImage(pngjs.PNG.sync.write(png)), 512);
    assert.ok(raster.rgb.every((value) => value === 255));
  });

  it('refuses images over the pixel bound before decoding them, and bytes that are not JPEG or PNG', () => {
    // A PNG whose header claims 100 000 × 100 000 pixels: refused from the header, nothing inflated.
    const header = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header);
    header.writeUInt32BE(13, 8);
    header.write('IHDR', 12, 'latin1');
    header.writeUInt32BE(100_000, 16);
    header.writeUInt32BE(100_000, 20);
    assert.throws(() => decode.decodeImage(header), { name: 'ImageFormatError', message: /100000 × 100000; at most 40 megapixels/ });
    // A JPEG whose frame header claims 60 000 × 60 000: jpeg-js refuses it by its resolution cap.
    const sof = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0xea, 0x60, 0xea, 0x60, 0x03, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    assert.throws(() => decode.decodeImage(sof), { name: 'ImageFormatError', message: /JPEG image could not be decoded/ });
    assert.throws(() => decode.decodeImage(Buffer.from('GIF89a……')), { name: 'ImageFormatError', message: /neither JPEG nor PNG/ });
  });

  // helper-80: 99 bytes of PNG took the worker to 4 GB, and an interlaced zlib bomb to 2 GB.
  it('refuses a PNG with a second header, or an interlaced one, before pngjs reads it', () => {
    const chunk = (type: string, data: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(data.length);
      return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
    };
    const header = (width: number, height: number, interlace = 0) => {
      const data = Buffer.alloc(13);
      data.writeUInt32BE(width, 0);
      data.writeUInt32BE(height, 4);
      data.set([8, 6, 0, 0, interlace], 8);
      return chunk('IHDR', data);
    };
    const png = (...chunks: Buffer[]) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks, chunk('IEND', Buffer.alloc(0))]);
    assert.throws(() => decode.decodeImage(png(header(1, 1), header(20_000, 20_000), chunk('IDAT', Buffer.alloc(1024)))), { name: 'ImageFormatError', message: /second header/ });
    assert.throws(() => decode.decodeImage(png(header(600, 600, 1), chunk('IDAT', Buffer.alloc(64)))), { name: 'ImageFormatError', message: /Interlaced PNG images are not read/ });
  });

  // helper-80, helper-81: a progressive JPEG of thousands of tiny scans took jpeg-js 32 s for 464 KB.
  it('refuses a JPEG of more than 100 scans before jpeg-js decodes it', () => {
    assert.throws(() => decode.decodeImage(scannedJpeg(101)), { name: 'ImageFormatError', message: /more than 100 scans/ });
  });
});
