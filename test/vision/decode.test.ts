// Decoding: RGB conversion as PIL's convert('RGB'), EXIF orientation, and bad input as typed errors
// (decompression bombs refused from the header, truncated and corrupt files, unsupported formats).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ImageError } from '../../lib/index.js';
import { decodeImage, readImageHeader } from '../../lib/vision/index.js';

const ROOT = join('test', 'fixtures', 'images');
const input = (name: string): string => join(ROOT, 'inputs', name);
const corrupt = (name: string): string => join(ROOT, 'corrupt', name);

async function reason(promise: Promise<unknown>): Promise<{ reason: string; message: string }> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ImageError);
  return { reason: (error as ImageError).reason, message: (error as ImageError).message };
}

describe('decodeImage', () => {
  test.each([
    ['rgb-300x200.png', 300, 200],
    ['rgba-64x48.png', 64, 48],
    ['gray-37x53.png', 37, 53],
    ['palette-120x90.png', 120, 90],
    ['photo-257x193.jpg', 257, 193],
  ])('%s decodes to %i x %i RGB', async (name, width, height) => {
    const image = await decodeImage(input(name));
    expect(image).toMatchObject({ width, height, channels: 3 });
    expect(image.data.length).toBe(width * height * 3);
  });

  test('gray is repeated to three equal channels', async () => {
    const { data } = await decodeImage(input('gray-37x53.png'));
    for (let p = 0; p < data.length; p += 3) expect(data[p + 1] === data[p] && data[p + 2] === data[p]).toBe(true);
  });

  test('an alpha channel is dropped, not composited onto white', async () => {
    const png = readFileSync(input('rgba-64x48.png'));
    const image = await decodeImage(png);
    const sharp = (await import('sharp')).default;
    const rgba = await sharp(png).raw().toBuffer();
    for (let p = 0; p < 64 * 48; p++) expect(image.data[p * 3]).toBe(rgba[p * 4]);
  });

  test('EXIF orientation is applied (stored 80 x 60, shown 60 x 80), as transformers load_image does', async () => {
    expect(await readImageHeader(input('exif-rotated.jpg'))).toMatchObject({ width: 80, height: 60, format: 'jpeg' });
    expect(await decodeImage(input('exif-rotated.jpg'))).toMatchObject({ width: 60, height: 80 });
  });
});

describe('bad images are clear, typed errors', () => {
  test('a header claiming 50,000 x 50,000 pixels is refused before decoding', async () => {
    const { reason: why, message } = await reason(decodeImage(corrupt('bomb-50000x50000.png')));
    expect(why).toBe('too-large');
    expect(message).toMatch(/50000 x 50000 = 2,500,000,000 pixels is over the limit of 89,478,485 \(maxPixels\); refused before decoding/);
  });

  test('maxPixels lowers the limit', async () => {
    expect((await reason(decodeImage(input('rgb-300x200.png'), { maxPixels: 50_000 }))).reason).toBe('too-large');
  });

  test.each([['truncated.png'], ['truncated.jpg']])('%s: truncated, not a partial image', async (name) => {
    const { reason: why, message } = await reason(decodeImage(corrupt(name)));
    expect(why).toBe('truncated');
    expect(message).toContain(name);
  });

  test.each([['random.bin'], ['not-an-image.png']])('%s: not an image in a supported format', async (name) => {
    const { reason: why, message } = await reason(decodeImage(corrupt(name)));
    expect(why).toBe('unsupported');
    expect(message).toMatch(/not an image in a supported format/);
  });

  test('bytes that are not an image, a missing file, a wrong type', async () => {
    expect((await reason(decodeImage(Buffer.from('GIF89a-no')))).reason).toMatch(/unsupported|corrupt|truncated/);
    expect((await reason(decodeImage(corrupt('missing.png')))).message).toMatch(/missing.png: no such file/);
    expect((await reason(decodeImage(42 as unknown as string))).reason).toBe('unsupported');
  });

  test('decoded pixels of the wrong length are refused', async () => {
    const bad = { data: new Uint8Array(5), width: 2, height: 2, channels: 3 as const };
    expect((await reason(decodeImage(bad))).reason).toBe('corrupt');
  });
});
