// The demo's data: the UCI handwritten digits (8x8, values 0..16, shipped as data/digits.csv.gz), as
// image tensors scaled to [-1, 1], with a fixed seeded train/test split.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { TorchError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { interpolate } from '../tensor/functional.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { seededPermutation } from './random.js';

export const DIGIT_SIDE = 8;
export const DIGIT_CLASSES = 10;
const PIXELS = DIGIT_SIDE * DIGIT_SIDE;
const MAX_VALUE = 16;

export interface DigitImages {
  /** float32 [N, 1, side, side], values in [-1, 1]. */
  pixel_values: Tensor;
  /** int64 [N], 0..9. */
  labels: Tensor;
}

/** data/digits.csv.gz of this package (found from both lib/ and dist/lib/). */
export function defaultDigitsPath(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(folder, 'data', 'digits.csv.gz');
    if (existsSync(candidate)) return candidate;
    folder = dirname(folder);
  }
  throw new TorchError('digits data not found: expected data/digits.csv.gz in the node-peft package');
}

/** Parses the CSV (64 pixel values then the label, one image a line) into flat arrays. */
export function parseDigitsCsv(text: string, source = 'digits.csv'): { pixels: Float32Array; labels: BigInt64Array } {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const pixels = new Float32Array(lines.length * PIXELS);
  const labels = new BigInt64Array(lines.length);
  lines.forEach((line, row) => {
    const values = line.split(',').map(Number);
    if (values.length !== PIXELS + 1 || values.some((v) => !Number.isInteger(v))) {
      throw new TorchError(`${source}: line ${row + 1}: expected ${PIXELS + 1} integers, got '${line.slice(0, 40)}...'`);
    }
    const label = values[PIXELS];
    if (label < 0 || label >= DIGIT_CLASSES) throw new TorchError(`${source}: line ${row + 1}: label ${label} is not 0..9`);
    for (let k = 0; k < PIXELS; k++) pixels[row * PIXELS + k] = (values[k] / MAX_VALUE) * 2 - 1;
    labels[row] = BigInt(label);
  });
  return { pixels, labels };
}

/** Every image of the data set, in file order. */
export function loadDigits(path = defaultDigitsPath()): DigitImages {
  const { pixels, labels } = parseDigitsCsv(gunzipSync(readFileSync(path)).toString('utf8'), path);
  return {
    pixel_values: tensor(pixels, { shape: [labels.length, 1, DIGIT_SIDE, DIGIT_SIDE] }),
    labels: tensor(labels),
  };
}

/** Row indices of a fixed seeded split: `testFraction` of the rows for test, the rest for training. */
export function splitIndices(count: number, testFraction: number, seed: number): { train: number[]; test: number[] } {
  if (!(testFraction > 0 && testFraction < 1)) throw new TorchError(`testFraction: expected a number in (0, 1), got ${testFraction}`);
  const order = seededPermutation(count, seed);
  const testCount = Math.round(count * testFraction);
  const sorted = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  return { test: sorted(order.slice(0, testCount)), train: sorted(order.slice(testCount)) };
}

/** The rows of `data` at `rows` (new tensors). */
export function selectRows(data: DigitImages, rows: readonly number[]): DigitImages {
  return scope(() => {
    const index = tensor(BigInt64Array.from(rows, (r) => BigInt(r)));
    return { pixel_values: data.pixel_values.indexSelect(0, index), labels: data.labels.indexSelect(0, index) };
  });
}

/** The images resampled to side x side (bilinear, as torch.nn.functional.interpolate without align_corners). */
export function resizeImages(images: Tensor, side: number): Tensor {
  if (!Number.isInteger(side) || side < 1) throw new TorchError(`side: expected a positive integer, got ${side}`);
  return interpolate(images, { size: [side, side], mode: 'bilinear', alignCorners: false });
}

/** Train and test sets of the digits: a fixed split (seed 0, 20% test) unless told otherwise. */
export function digitsSplit(options: { path?: string; seed?: number; testFraction?: number } = {}): { train: DigitImages; test: DigitImages } {
  const all = loadDigits(options.path);
  try {
    const { train, test } = splitIndices(all.labels.shape[0], options.testFraction ?? 0.2, options.seed ?? 0);
    return { train: selectRows(all, train), test: selectRows(all, test) };
  } finally {
    all.pixel_values.dispose();
    all.labels.dispose();
  }
}

/**
 * Writes the digits as 8-bit gray PNG files in an image folder (dir/<label>/<index>.png), the form a user's
 * own pictures come in: pixel values 0..16 become 0..255. Returns the number of files written.
 */
export async function writeDigitPngs(dir: string, data: DigitImages): Promise<number> {
  const sharp = (await import('sharp')).default;
  const count = data.labels.shape[0];
  const pixels = data.pixel_values.toArray() as Float32Array;
  const labels = data.labels.toArray() as BigInt64Array;
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const gray = Buffer.alloc(PIXELS);
    for (let k = 0; k < PIXELS; k++) gray[k] = Math.round(((pixels[i * PIXELS + k] + 1) / 2) * 255);
    const folder = join(dir, String(labels[i]));
    mkdirSync(folder, { recursive: true });
    writes.push(sharp(gray, { raw: { width: DIGIT_SIDE, height: DIGIT_SIDE, channels: 1 } }).png().toFile(join(folder, `${String(i).padStart(4, '0')}.png`)));
  }
  await Promise.all(writes);
  return count;
}
