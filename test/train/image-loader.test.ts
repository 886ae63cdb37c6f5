// Image training data: folders and JSONL indexed with labels, batches decoded by the worker equal the
// processor's output, the order and resume behave as DataLoader's, and augmentation is seeded.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ImageError, torch } from '../../lib/index.js';
import { DataLoader } from '../../lib/train/data-loader.js';
import { indexImageFolder, loadImageDataset, readImageJsonl } from '../../lib/train/image-data.js';
import { ImageDataLoader } from '../../lib/train/image-loader.js';
import { ImageProcessor } from '../../lib/vision/index.js';

torch.setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), 'node-peft-image-data-'));
const folder = join(dir, 'pets');
const processor = new ImageProcessor({ image_processor_type: 'ViTImageProcessor', size: { height: 8, width: 8 } });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A w x h image whose pixels encode its number (so rows can be told apart). */
function png(path: string, n: number, width = 12, height = 10): Promise<unknown> {
  const data = Buffer.alloc(width * height * 3, 0);
  for (let i = 0; i < data.length; i++) data[i] = (n * 37 + i * 11) % 256;
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

beforeAll(async () => {
  const classes = { cat: 5, dog: 4, 'red fox': 3 };
  let n = 0;
  for (const [name, count] of Object.entries(classes)) {
    mkdirSync(join(folder, name, 'nested'), { recursive: true });
    for (let i = 0; i < count; i++) await png(join(folder, name, i === 0 ? join('nested', `${i}.png`) : `${i}.png`), n++, 12 + (n % 3), 10);
  }
  writeFileSync(join(folder, 'cat', 'notes.txt'), 'not an image');
  writeFileSync(join(dir, 'rows.jsonl'), [
    JSON.stringify({ image: 'pets/cat/1.png', label: 'cat' }),
    '',
    JSON.stringify({ image: resolve(folder, 'dog/1.png'), label: 'dog' }),
  ].join('\n'));
});

describe('image data sets', () => {
  test('a folder: one class per subfolder (nested folders included), labels from the sorted names', async () => {
    const data = await indexImageFolder(folder);
    expect(data.id2label).toEqual({ 0: 'cat', 1: 'dog', 2: 'red fox' });
    expect(data.label2id).toEqual({ cat: 0, dog: 1, 'red fox': 2 });
    expect(data.labelsCreated).toBe(true);
    expect(data.skipped).toBe(1);
    expect(data.examples.map((e) => e.label)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
  });

  test("the model's own labels are used; placeholder LABEL_i labels count as none", async () => {
    const own = await indexImageFolder(folder, { labels: { id2label: { 0: 'red fox', 1: 'dog', 2: 'cat' } } });
    expect(own.labelsCreated).toBe(false);
    expect(own.examples.map((e) => e.label).slice(0, 6)).toEqual([2, 2, 2, 2, 2, 1]);
    const placeholder = await indexImageFolder(folder, { labels: { id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' } } });
    expect(placeholder.labelsCreated).toBe(true);
    await expect(indexImageFolder(folder, { labels: { id2label: { 0: 'cat', 1: 'dog' } } })).rejects.toThrow(/class folder 'red fox': label 'red fox' is not one of the model's labels \(cat, dog\)/);
  });

  test('indexing a folder shows progress', async () => {
    const lines: string[] = [];
    await indexImageFolder(folder, { progress: { write: (t: string) => lines.push(t), isTTY: false } });
    expect(lines.join('')).toMatch(/indexing .*pets/);
  });

  test('JSONL rows {image, label}: paths relative to the file, names or ids', async () => {
    const data = await loadImageDataset(join(dir, 'rows.jsonl'));
    expect(data.examples).toEqual([{ path: join(folder, 'cat', '1.png'), label: 0 }, { path: join(folder, 'dog', '1.png'), label: 1 }]);
    writeFileSync(join(dir, 'ids.jsonl'), `${JSON.stringify({ image: 'pets/cat/1.png', label: 7 })}\n`);
    await expect(readImageJsonl(join(dir, 'ids.jsonl'), { labels: { id2label: { 0: 'cat' } } })).rejects.toThrow(/line 1: label id 7 is not one of the model's 1 labels/);
    writeFileSync(join(dir, 'bad.jsonl'), '{"image": 3}\n');
    await expect(readImageJsonl(join(dir, 'bad.jsonl'))).rejects.toThrow(/line 1: expected "image": a file path, got 3/);
  });

  test('an empty folder and a missing path are clear errors', async () => {
    mkdirSync(join(dir, 'empty'));
    await expect(indexImageFolder(join(dir, 'empty'))).rejects.toThrow(/expected one subfolder per class/);
    await expect(loadImageDataset(join(dir, 'nope'))).rejects.toThrow(/no such file or folder/);
  });
});

describe('ImageDataLoader', () => {
  test('batches equal the processor on the same files, in the order DataLoader would give', async () => {
    const data = await indexImageFolder(folder);
    const loader = new ImageDataLoader(data.examples, processor, { batchSize: 5, seed: 3, prefetchBatches: 2 });
    const reference = new DataLoader({ index: torch.arange(data.examples.length) }, { batchSize: 5, seed: 3 });
    try {
      for (let b = 0; b < 7; b++) {
        const batch = loader.next();
        const rows = Array.from(reference.next().index.toArray() as BigInt64Array, Number);
        expect(Array.from(batch.labels.toArray() as BigInt64Array, Number)).toEqual(rows.map((r) => data.examples[r].label));
        const { pixel_values } = await processor.preprocess(rows.map((r) => data.examples[r].path));
        expect(batch.pixel_values.equal(pixel_values)).toBe(true);
      }
      expect(loader.position).toEqual({ epoch: 2, batch: 1 });
    } finally {
      loader.close();
    }
  });

  test('seek continues with the very same batches (resume); inOrder does not move the position', async () => {
    const data = await indexImageFolder(folder);
    const options = { batchSize: 4, seed: 1, augment: { random_resized_crop: true, horizontal_flip: true } };
    const first = new ImageDataLoader(data.examples, processor, options);
    const second = new ImageDataLoader(data.examples, processor, options);
    try {
      for (let b = 0; b < 4; b++) first.next();
      const evalBatches = [...first.inOrder()];
      expect(evalBatches.map((e) => e.labels.shape[0])).toEqual([4, 4, 4]);
      second.seek(first.position);
      for (let b = 0; b < 3; b++) {
        const [x, y] = [first.next(), second.next()];
        expect(x.pixel_values.equal(y.pixel_values)).toBe(true);
        expect(x.labels.equal(y.labels)).toBe(true);
      }
    } finally {
      first.close();
      second.close();
    }
  });

  test('augmentation is seeded: the same seed repeats, another differs, and it never touches inOrder', async () => {
    const data = await indexImageFolder(folder);
    const make = (seed: number) => new ImageDataLoader(data.examples, processor, { batchSize: 12, seed, shuffle: false, augment: { random_resized_crop: { scale: [0.3, 1] }, horizontal_flip: true } });
    const [a, b, c] = [make(0), make(0), make(5)];
    const plain = await processor.preprocess(data.examples.map((e) => e.path));
    try {
      const [x, y, z] = [a.next(), b.next(), c.next()];
      expect(x.pixel_values.shape).toEqual([12, 3, 8, 8]);
      expect(x.pixel_values.equal(y.pixel_values)).toBe(true);
      expect(x.pixel_values.equal(z.pixel_values)).toBe(false);
      expect(x.pixel_values.equal(plain.pixel_values)).toBe(false);
      expect([...a.inOrder()][0].pixel_values.equal(plain.pixel_values)).toBe(true);
    } finally {
      [a, b, c].forEach((l) => l.close());
    }
    expect(() => new ImageDataLoader(data.examples, processor, { batchSize: 2, augment: { rotate: true } as never })).toThrow(/unknown option\(s\) rotate/);
  });

  test('a corrupt image in the data is an ImageError naming the file', async () => {
    const broken = join(dir, 'broken');
    mkdirSync(join(broken, 'a'), { recursive: true });
    copyFileSync(join('test', 'fixtures', 'images', 'corrupt', 'truncated.png'), join(broken, 'a', 'x.png'));
    const data = await indexImageFolder(broken);
    const loader = new ImageDataLoader(data.examples, processor, { batchSize: 1 });
    try {
      expect(() => loader.next()).toThrow(ImageError);
      expect(() => new ImageDataLoader(data.examples, processor, { batchSize: 1 }).next()).toThrow(/x\.png: (the file is truncated or damaged|cannot be decoded)/);
    } finally {
      loader.close();
    }
  });
});
