/**
 * Image Reader's backend against what a page may send it (helper-79): an image whose header claims
 * more pixels than it is worth decoding, and bytes Tesseract cannot read. Both are refused as the
 * caller's error and the worker stays up; before, a 1 MB PNG of 32,000 × 32,000 pixels took the
 * worker to 2 GB, and an unreadable image ended the process (three such calls stopped the plugin).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { fixturePlugin, workerManagers } from '../../gateway/src/workers/test-support.js';
import { scannedJpeg } from './hostile-images.js';

const REPO = new URL('../../', import.meta.url).pathname;
const MODEL = join(REPO, 'node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz');

interface SizeModule {
  imageSize(bytes: Uint8Array): { format: string; width: number; height: number };
}
const { imageSize } = (await import(pathToFileURL(join(REPO, 'plugins/image-reader/image-size.js')).href)) as SizeModule;

const png = (width: number, height: number) => {
  const image = new PNG({ width, height });
  image.data.fill(255);
  return PNG.sync.write(image);
};
/** A PNG whose header says `width` × `height` and whose data ends after a few rows. */
function claimedPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(4 * (width + 1)))), chunk('IEND', Buffer.alloc(0))]);
}

/** A PNG chunk with its CRC (libpng checks it, and skips a chunk whose CRC is wrong). */
function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

describe('image-reader: imageSize', () => {
  it('reads the size from the header of each format it takes, and refuses others', () => {
    assert.deepEqual(imageSize(png(7, 5)), { format: 'PNG', width: 7, height: 5 });
    assert.deepEqual(imageSize(jpeg.encode({ width: 9, height: 4, data: Buffer.alloc(9 * 4 * 4, 255) }, 80).data), { format: 'JPEG', width: 9, height: 4 });
    // GIF89a: logical screen 3 × 2, no color table, then a 40 × 30 frame.
    const gif = Buffer.from([...Buffer.from('GIF89a'), 3, 0, 2, 0, 0, 0, 0, 0x21, 0xf9, 4, 0, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 40, 0, 30, 0, 0]);
    assert.deepEqual(imageSize(gif), { format: 'GIF', width: 40, height: 30 });
    const bmp = Buffer.alloc(54);
    bmp.write('BM');
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(11, 18);
    bmp.writeInt32LE(-6, 22);
    assert.deepEqual(imageSize(bmp), { format: 'BMP', width: 11, height: 6 });
    // A 1 × 1 lossless WebP, and an extended one whose canvas is 300 × 200.
    assert.deepEqual(imageSize(Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64')), { format: 'WebP', width: 1, height: 1 });
    const extended = Buffer.alloc(30);
    extended.write('RIFF');
    extended.write('WEBPVP8X', 8);
    extended.writeUIntLE(299, 24, 3);
    extended.writeUIntLE(199, 27, 3);
    assert.deepEqual(imageSize(extended), { format: 'WebP', width: 300, height: 200 });
    for (const bytes of [Buffer.from('not an image'), Buffer.from('II*\0'), png(2, 2).subarray(0, 20), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16])]) assert.throws(() => imageSize(bytes), { name: 'ImageFormatError' });
  });
});

describe('image-reader backend: what a page sends', () => {
  const manager = workerManagers();
  const start = async (requestTimeoutMs = 60_000) => {
    const { workers } = manager({ provisionModels: async () => ({ TESSERACT_ENG_PATH: MODEL }), requestTimeoutMs });
    const plugin = await fixturePlugin('image-reader', join(REPO, 'plugins'));
    const read = (image: Buffer | string) => workers.infer(plugin, { image: typeof image === 'string' ? image : `data:image/png;base64,${image.toString('base64')}` }, new AbortController().signal);
    return { workers, read };
  };
  const refusal = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (error) {
      return { code: (error as { code?: string }).code, message: (error as Error).message };
    }
    throw new Error('expected a refusal');
  };

  it('refuses an image over 40 megapixels by its header, before decoding it, and keeps its worker', async () => {
    const { workers, read } = await start();
    assert.deepEqual(await read(png(60, 20)), { text: '', confidence: 0, lines: [], model: 'eng.traineddata.gz' });
    const pid = workers.status('image-reader')?.pid;
    const refused = await refusal(read(claimedPng(32_000, 32_000)));
    assert.equal(refused.code, 'backend_error');
    assert.match(refused.message, /RangeError: The PNG image is 32000 × 32000; at most 40 megapixels are read/);
    assert.equal(workers.status('image-reader')?.pid, pid);
  });

  it('refuses a JPEG of more than 100 scans, and reads a PNG without inflating its text chunks (helper-80)', async () => {
    // A hang guard: before, 600 compressed text chunks in a 1-pixel PNG took 24 s of CPU.
    const { workers, read } = await start(10_000);
    await read(png(60, 20));
    const pid = workers.status('image-reader')?.pid;
    const refused = await refusal(read(scannedJpeg(101)));
    assert.match(refused.message, /RangeError: The JPEG image has more than 100 scans/);
    // A TEM marker has no length: read as one with a length, it hid the scans after it (helper-81).
    const hidden = scannedJpeg(101);
    const withTem = Buffer.concat([hidden.subarray(0, 15), Buffer.from([0xff, 0x01]), hidden.subarray(15)]);
    assert.match((await refusal(read(withTem))).message, /more than 100 scans/);
    const plain = png(40, 20);
    const iend = plain.length - 12;
    const text = pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.alloc(7_900_000, 0x61))]));
    const withText = Buffer.concat([plain.subarray(0, iend), ...Array.from({ length: 600 }, () => text), plain.subarray(iend)]);
    assert.deepEqual(await read(withText), { text: '', confidence: 0, lines: [], model: 'eng.traineddata.gz' });
    assert.equal(workers.status('image-reader')?.pid, pid);
  });

  it('answers bytes Tesseract cannot read with an error, and keeps its worker', async () => {
    const { workers, read } = await start();
    await read(png(60, 20));
    const pid = workers.status('image-reader')?.pid;
    assert.equal((await refusal(read('xx'))).code, 'backend_error');
    // A header it takes, and data Tesseract cannot decode: before, that error ended the process.
    const broken = png(40, 40);
    broken.fill(0x55, 41, broken.length - 12);
    assert.equal((await refusal(read(broken))).code, 'backend_error');
    assert.equal(workers.status('image-reader')?.pid, pid);
    assert.equal(workers.status('image-reader')?.recentCrashes, 0);
  });
});
