// ImageDataLoader: batches of { pixel_values, labels } from image files, for the (synchronous) training loop.
// A worker thread decodes the files a few batches ahead of the loop, in the order the loop will ask for them;
// the loop only resizes, augments and normalizes (LibTorch). Decoded images are kept in memory up to a budget,
// so small data sets are decoded once. Same order, positions and resume as DataLoader.
import { TorchError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MAX_IMAGE_PIXELS, type DecodedImage } from '../vision/decode.js';
import type { ImageProcessor } from '../vision/image-processor.js';
import { imagesTensor } from '../vision/transforms.js';
import { makeAugment, type AugmentOptions } from './augment.js';
import type { Batch, LoaderPosition } from './data-loader.js';
import { DecodeWorker } from './decode-worker.js';
import type { ImageExample } from './image-data.js';
import { epochSeed, seededPermutation } from './random.js';

/** Decoded images by file path, up to a byte budget; loaders over the same files can share one. */
export class DecodedImageCache {
  readonly #images = new Map<string, DecodedImage>();
  #bytes = 0;

  /** maxBytes: default 1 GiB; beyond it images are decoded again when needed. */
  constructor(readonly maxBytes = 2 ** 30) {}

  get(path: string): DecodedImage | undefined {
    return this.#images.get(path);
  }

  has(path: string): boolean {
    return this.#images.has(path);
  }

  add(path: string, image: DecodedImage): void {
    if (this.#images.has(path) || this.#bytes + image.data.length > this.maxBytes) return;
    this.#images.set(path, image);
    this.#bytes += image.data.length;
  }
}

export interface ImageLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  dropLast?: boolean;
  /** Seeded augmentation (training only; inOrder() never augments). */
  augment?: AugmentOptions | null;
  /** Batches decoded ahead of the loop (default 4). */
  prefetchBatches?: number;
  /** Decoded images kept in memory (default: a cache of its own, 1 GiB); beyond it files are decoded again each epoch. */
  cache?: DecodedImageCache;
  maxPixels?: number;
}

export class ImageDataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly size: number;
  readonly #examples: readonly ImageExample[];
  readonly #processor: ImageProcessor;
  readonly #augment: ((pixels: Tensor, seed: number) => Tensor) | null;
  readonly #prefetch: number;
  readonly #maxPixels: number;
  readonly #cache: DecodedImageCache;
  #worker: DecodeWorker | null = null;
  #nextId = 0;
  #epoch = 0;
  #batch = 0;
  #order: { epoch: number; rows: number[] } | null = null;
  /** Example indices already sent to the worker, in the order the loop will take them. */
  #pending: { example: number; id: number }[] = [];
  /** The train position the planning has reached (one past the last planned batch). */
  #plan: LoaderPosition = { epoch: 0, batch: 0 };

  constructor(examples: readonly ImageExample[], processor: ImageProcessor, options: ImageLoaderOptions) {
    if (examples.length === 0) throw new TorchError('ImageDataLoader: expected at least one image, got none');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new TorchError(`ImageDataLoader: batchSize: expected a positive integer, got ${options.batchSize}`);
    this.#examples = examples;
    this.#processor = processor;
    this.size = examples.length;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && this.size < this.batchSize) throw new TorchError(`ImageDataLoader: dropLast with batchSize ${this.batchSize} leaves no batch from ${this.size} images`);
    this.#augment = options.augment ? makeAugment(options.augment, processor) : null;
    this.#prefetch = Math.max(1, options.prefetchBatches ?? 4);
    this.#cache = options.cache ?? new DecodedImageCache();
    this.#maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  }

  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  get position(): LoaderPosition {
    return { epoch: this.#epoch, batch: this.#batch };
  }

  seek(position: LoaderPosition): void {
    const { epoch, batch } = position;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(batch) || batch < 0 || batch > this.batchesPerEpoch) {
      throw new TorchError(`ImageDataLoader.seek: expected epoch >= 0 and batch in 0..${this.batchesPerEpoch}, got ${JSON.stringify(position)}`);
    }
    this.#drainPending();
    [this.#epoch, this.#batch] = [epoch, batch];
    this.#plan = { epoch, batch };
  }

  #rows(epoch: number, batch: number): number[] {
    if (this.#order?.epoch !== epoch) {
      const rows = this.shuffle ? seededPermutation(this.size, epochSeed(this.seed, epoch)) : Array.from({ length: this.size }, (_, i) => i);
      this.#order = { epoch, rows };
    }
    const start = batch * this.batchSize;
    return this.#order.rows.slice(start, start + this.batchSize);
  }

  #normalized(position: LoaderPosition): LoaderPosition {
    return position.batch >= this.batchesPerEpoch ? { epoch: position.epoch + 1, batch: 0 } : position;
  }

  #workerOf(): DecodeWorker {
    this.#worker ??= new DecodeWorker({ maxPixels: this.#maxPixels });
    return this.#worker;
  }

  /** Sends the files of the batches up to `prefetch` ahead of the current one to the worker. */
  #planAhead(): void {
    const current = this.#normalized({ epoch: this.#epoch, batch: this.#batch });
    const limit = current.epoch * this.batchesPerEpoch + current.batch + this.#prefetch;
    for (let p = this.#normalized(this.#plan); p.epoch * this.batchesPerEpoch + p.batch < limit; p = this.#normalized({ epoch: p.epoch, batch: p.batch + 1 })) {
      for (const example of this.#rows(p.epoch, p.batch)) this.#request(example);
      this.#plan = { epoch: p.epoch, batch: p.batch + 1 };
    }
  }

  #request(example: number): void {
    const id = this.#cache.has(this.#examples[example].path) ? -1 : this.#nextId++;
    if (id >= 0) this.#workerOf().request(id, this.#examples[example].path);
    this.#pending.push({ example, id });
  }

  #takeImage(expected: number): DecodedImage {
    const next = this.#pending.shift();
    if (!next || next.example !== expected) throw new TorchError('ImageDataLoader: internal order mismatch between the plan and the batches');
    const path = this.#examples[next.example].path;
    const cached = this.#cache.get(path);
    if (next.id < 0 && cached) return cached;
    const image = this.#workerOf().take(next.id);
    this.#cache.add(path, image);
    return image;
  }

  /** Takes (and drops) what was requested but will not be used, so the worker's replies do not pile up. */
  #drainPending(): void {
    while (this.#pending.length > 0) this.#takeImage(this.#pending[0].example);
  }

  /** The next training batch { pixel_values, labels } (new tensors, the caller's to free). */
  next(): Batch {
    if (this.#batch >= this.batchesPerEpoch) [this.#epoch, this.#batch] = [this.#epoch + 1, 0];
    this.#planAhead();
    const rows = this.#rows(this.#epoch, this.#batch);
    const epoch = this.#epoch;
    this.#batch += 1;
    const images = rows.map((row) => this.#takeImage(row));
    return this.#assemble(rows, images, epoch);
  }

  /** One pass in order, never augmented (evaluation); the training position does not move. */
  *inOrder(): Generator<Batch> {
    this.#drainPending();
    this.#plan = { epoch: this.#epoch, batch: this.#batch };
    const all = Array.from({ length: this.size }, (_, i) => i);
    const ahead = this.batchSize * this.#prefetch;
    let requested = 0;
    for (let start = 0; start < this.size; start += this.batchSize) {
      for (; requested < Math.min(this.size, start + ahead); requested++) this.#request(all[requested]);
      const rows = all.slice(start, start + this.batchSize);
      yield this.#assemble(rows, rows.map((row) => this.#takeImage(row)), null);
    }
  }

  #assemble(rows: number[], images: DecodedImage[], epoch: number | null): Batch {
    return scope(() => {
      const labels = tensor(BigInt64Array.from(rows, (r) => BigInt(this.#examples[r].label)));
      const augment = this.#augment;
      const pixel_values = augment && epoch !== null
        ? cat(rows.map((row, i) => this.#processor.normalize(augment(imagesTensor([images[i]]), epochSeed(this.seed + 7919 * row, epoch)))), 0)
        : this.#processor.preprocessDecoded(images);
      return { pixel_values, labels };
    });
  }

  /** Stops the decoding worker (a new one starts if the loader is used again). */
  close(): void {
    this.#pending = [];
    this.#plan = { epoch: this.#epoch, batch: this.#batch };
    this.#worker?.close();
    this.#worker = null;
  }
}
