// ImageProcessor: transformers' image processors (ViT, DeiT, CLIP/SigLIP, ConvNeXt styles) in Node. Images
// in (paths, bytes, decoded pixels), pixel_values out; configured by preprocessor_config.json and saved back to it.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from '../errors.js';
import { writeTextFileAtomic } from '../serialization/atomic-write.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodeImage, toRgb, type DecodedImage, type DecodeOptions, type ImageInput } from './decode.js';
import { resizeOutputSize, resolveProcessor, type ImageProcessorConfig, type ResolvedProcessor } from './processor-config.js';
import { centerCrop, imagesTensor, rescaleNormalize, resizePixels } from './transforms.js';

export const PROCESSOR_CONFIG = 'preprocessor_config.json';

export interface PreprocessOptions extends DecodeOptions {
  /** How many images are decoded at once (default 8; sharp decodes on libuv's thread pool). */
  concurrency?: number;
}

export class ImageProcessor {
  #config: ImageProcessorConfig;
  #resolved: ResolvedProcessor;

  /** config: the fields of a preprocessor_config.json (checked here; unknown fields are kept). */
  constructor(config: ImageProcessorConfig, source = PROCESSOR_CONFIG) {
    this.#resolved = resolveProcessor(config, source);
    this.#config = structuredClone(config);
  }

  /** A copy of the on-disk fields. */
  get config(): ImageProcessorConfig {
    return structuredClone(this.#config);
  }

  get resolved(): ResolvedProcessor {
    return this.#resolved;
  }

  /** The [height, width] of every output, or null when it depends on the image (shortest_edge without a crop). */
  get outputSize(): [number, number] | null {
    const { crop, resize } = this.#resolved;
    if (crop) return [crop.height, crop.width];
    if (resize?.kind === 'exact') return [resize.height, resize.width];
    if (resize?.kind === 'convnext') return [resize.shortestEdge, resize.shortestEdge];
    return null;
  }

  /**
   * Makes the processor produce side x side images, as when a ViT's image size changes (resizeImageSize): an exact
   * size becomes side x side; with a center crop, the crop becomes side x side and the resize keeps its ratio to it.
   */
  setImageSize(side: number): void {
    if (!Number.isInteger(side) || side < 1) throw new ImageError(`setImageSize: expected a positive integer, got ${side}`, 'unsupported');
    const next = structuredClone(this.#config);
    const { crop, resize } = this.#resolved;
    if (resize?.kind === 'convnext') {
      next.size = { shortest_edge: side };
    } else if (crop) {
      const ratio = side / crop.height;
      next.crop_size = { height: side, width: side };
      if (resize?.kind === 'exact') next.size = { height: Math.round(resize.height * ratio), width: Math.round(resize.width * ratio) };
      if (resize?.kind === 'shortest-edge') next.size = { shortest_edge: Math.round(resize.shortestEdge * ratio) };
    } else {
      next.size = { height: side, width: side };
    }
    this.#resolved = resolveProcessor(next);
    this.#config = next;
  }

  /** Decodes and preprocesses: { pixel_values } float32 [N, 3, H, W]. */
  async preprocess(images: ImageInput | readonly ImageInput[], options: PreprocessOptions = {}): Promise<{ pixel_values: Tensor }> {
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    if (list.length === 0) throw new ImageError('preprocess: expected at least one image, got none', 'not-found');
    const decoded = await decodeAll(list, options);
    return { pixel_values: this.preprocessDecoded(decoded) };
  }

  /** The pixel steps on already-decoded RGB images (synchronous): float32 [N, 3, H, W]. Same-sized images run as one batch. */
  preprocessDecoded(images: readonly DecodedImage[]): Tensor {
    if (images.length === 0) throw new ImageError('preprocess: expected at least one image, got none', 'not-found');
    return scope(() => {
      const groups = new Map<string, number[]>();
      images.forEach((image, i) => {
        const key = `${image.width}x${image.height}x${image.channels}`;
        groups.set(key, [...(groups.get(key) ?? []), i]);
      });
      const rows: Tensor[] = new Array(images.length);
      for (const members of groups.values()) {
        const processed = this.#pixelSteps(imagesTensor(members.map((i) => toRgb(images[i]))));
        members.forEach((i, k) => (rows[i] = processed.narrow(0, k, 1)));
      }
      const shapes = new Set(rows.map((r) => `${r.shape[2]}x${r.shape[3]}`));
      if (shapes.size > 1) {
        throw new ImageError(`preprocess: the images come out in different sizes (${[...shapes].join(', ')}); with '${this.#describeSize()}' and no crop, preprocess them one at a time`, 'unsupported');
      }
      return rows.length === 1 ? rows[0].contiguous() : cat(rows, 0);
    });
  }

  /** Resize + crop on an RGB [1, 3, H, W] 0..255 tensor, before rescaling (the training augmentation starts here). */
  resizeAndCrop(pixels: Tensor): Tensor {
    const { resize, resample, crop } = this.#resolved;
    let x = pixels;
    if (resize) {
      const [height, width] = resizeOutputSize(resize, x.shape[2], x.shape[3]);
      x = resizePixels(x, height, width, resample);
      if (resize.kind === 'convnext' && resize.shortestEdge < 384) x = centerCrop(x, resize.shortestEdge, resize.shortestEdge);
    }
    return crop ? centerCrop(x, crop.height, crop.width) : x;
  }

  /** Rescale and normalize (the last steps). */
  normalize(pixels: Tensor): Tensor {
    const { rescale, mean, std } = this.#resolved;
    return rescaleNormalize(pixels, rescale, mean, std);
  }

  #pixelSteps(pixels: Tensor): Tensor {
    return this.normalize(this.resizeAndCrop(pixels));
  }

  #describeSize(): string {
    return JSON.stringify(this.#config.size);
  }

  /** The preprocessor_config.json text (fields sorted, as transformers writes them). */
  toJsonString(): string {
    const sorted = Object.fromEntries(Object.entries(this.#config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return `${JSON.stringify(sorted, null, 2)}\n`;
  }

  /** Writes dir/preprocessor_config.json (atomically: the old file or the new one, never a part). */
  async savePretrained(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeTextFileAtomic(join(dir, PROCESSOR_CONFIG), this.toJsonString());
  }

  /** Reads dir/preprocessor_config.json (or that file itself). */
  static async fromPretrained(dirOrFile: string): Promise<ImageProcessor> {
    const info = await stat(dirOrFile).catch(() => null);
    if (!info) {
      throw new ImageError(`${dirOrFile}: no such folder (Hub repos are resolved by node-peft's Hub support; pass a local folder holding ${PROCESSOR_CONFIG})`, 'not-found');
    }
    const path = info.isDirectory() ? join(dirOrFile, PROCESSOR_CONFIG) : dirOrFile;
    const text = await readFile(path, 'utf8').catch(() => {
      throw new ImageError(`${dirOrFile}: no ${PROCESSOR_CONFIG} (the image processor's settings) in it`, 'not-found');
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ImageError(`${path}: not valid JSON (${(error as Error).message})`, 'corrupt');
    }
    return new ImageProcessor(json as ImageProcessorConfig, path);
  }
}

/** Decodes images with at most `concurrency` in flight, in input order. */
export async function decodeAll(images: readonly ImageInput[], options: PreprocessOptions = {}): Promise<DecodedImage[]> {
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const out: DecodedImage[] = new Array(images.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < images.length) {
      const i = next++;
      out[i] = await decodeImage(images[i], options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
  return out;
}

/** transformers' AutoImageProcessor: the processor a model folder's preprocessor_config.json describes. */
export const AutoImageProcessor = {
  fromPretrained: (dirOrFile: string): Promise<ImageProcessor> => ImageProcessor.fromPretrained(dirOrFile),
};
