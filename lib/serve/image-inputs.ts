// The `images` of a /v1/predict request: base64 data (a data: URL, {"base64"} or a bare base64 string) or file
// paths under --image-root ({"path"} or a bare name ending in an image extension), decoded and preprocessed
// by the model's image processor into the same pixel_values the tensors route takes; and the labels with
// probabilities for the answer.
import { realpath } from 'node:fs/promises';
import { extname, isAbsolute, join, sep } from 'node:path';
import { ImageError } from '../errors.js';
import type { NestedNumbers } from '../tensor/tensor.js';
import { MAX_IMAGE_PIXELS } from '../vision/decode.js';
import { ImageProcessor } from '../vision/image-processor.js';
import { describeJson } from './body.js';
import { badRequest, HttpError } from './http-error.js';
import type { ParsedInputs } from './inputs.js';

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface ImageInputOptions {
  processor: ImageProcessor;
  /** Paths in requests must resolve (symlinks followed) inside this folder; null = paths refused. */
  imageRoot: string | null;
  /** Images per request at most (default 64). */
  maxImages?: number;
  maxPixels?: number;
}

export interface LabelScore {
  label: string;
  id: number;
  probability: number;
}

export class ImageInputs {
  readonly #processor: ImageProcessor;
  readonly #root: string | null;
  readonly #maxImages: number;
  readonly #maxPixels: number;

  constructor(options: ImageInputOptions) {
    this.#processor = options.processor;
    this.#root = options.imageRoot;
    this.#maxImages = options.maxImages ?? 64;
    this.#maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  }

  /** imageRoot is resolved once (realpath) so that later checks compare real paths. */
  static async create(options: ImageInputOptions): Promise<ImageInputs> {
    const root = options.imageRoot === null ? null : await realpath(options.imageRoot).catch(() => {
      throw new ImageError(`--image-root ${options.imageRoot}: no such folder`, 'not-found');
    });
    return new ImageInputs({ ...options, imageRoot: root });
  }

  /** A request path as a real path inside the image root (no escape by '..' or symlinks). */
  async resolvePath(path: string, index: number): Promise<string> {
    if (this.#root === null) throw new HttpError(403, `images[${index}]: file paths need the server started with --image-root`);
    const joined = isAbsolute(path) ? path : join(this.#root, path);
    const real = await realpath(joined).catch(() => {
      throw badRequest(`images[${index}]: ${path}: no such file under the image root`);
    });
    if (!real.startsWith(this.#root + sep)) throw new HttpError(403, `images[${index}]: ${path} is outside the image root`);
    return real;
  }

  #bytes(text: string, index: number): Buffer {
    const match = /^data:([\w/+.-]*)(;[\w=-]+)*;base64,(.*)$/s.exec(text);
    const body = (match ? match[3] : text).replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 === 1 || !BASE64.test(body)) {
      throw badRequest(`images[${index}]: expected base64 image data (or a data: URL, or a path ending in ${IMAGE_EXTENSIONS.join(' ')}), got ${describeJson(text.slice(0, 40))}`);
    }
    return Buffer.from(body, 'base64');
  }

  async #source(item: unknown, index: number): Promise<string | Buffer> {
    if (typeof item === 'string') {
      const looksLikePath = item.length < 4096 && IMAGE_EXTENSIONS.includes(extname(item).toLowerCase()) && !item.startsWith('data:');
      return looksLikePath ? this.resolvePath(item, index) : this.#bytes(item, index);
    }
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const entry = item as Record<string, unknown>;
      if (typeof entry.path === 'string' && Object.keys(entry).length === 1) return this.resolvePath(entry.path, index);
      if (typeof entry.base64 === 'string' && Object.keys(entry).length === 1) return this.#bytes(entry.base64, index);
    }
    throw badRequest(`images[${index}]: expected a base64 string, a data: URL, a path, {"path"} or {"base64"}, got ${describeJson(item)}`);
  }

  /** Checks, decodes and preprocesses a request's images: pixel_values [N, 3, H, W] as the tensors route parses them. */
  async parse(images: unknown): Promise<ParsedInputs> {
    if (!Array.isArray(images) || images.length === 0) throw badRequest(`images: expected a non-empty array, got ${describeJson(images)}`);
    if (images.length > this.#maxImages) throw badRequest(`images: at most ${this.#maxImages} images per request, got ${images.length}`);
    const sources = await Promise.all(images.map((item, i) => this.#source(item, i)));
    let pixels;
    try {
      ({ pixel_values: pixels } = await this.#processor.preprocess(sources, { maxPixels: this.#maxPixels }));
    } catch (error) {
      if (error instanceof ImageError) throw new HttpError(error.reason === 'too-large' ? 413 : 400, `images: ${error.message}`);
      throw error;
    }
    try {
      const shape = [...pixels.shape];
      return { tensors: { pixel_values: { data: pixels.toArray() as Float32Array, shape } }, rows: shape[0], signature: `pixel_values:${shape.slice(1).join('x')}` };
    } finally {
      pixels.dispose();
    }
  }
}

/** Softmax of each row of logits and the k most probable labels (names from the model's id2label). */
export function labelScores(logits: NestedNumbers[], topK: number, id2label: Record<string, string> | undefined): LabelScore[][] {
  return logits.map((row) => {
    const values = row as number[];
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps
      .map((e, id) => ({ id, label: id2label?.[String(id)] ?? `LABEL_${id}`, probability: e / total }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, topK);
  });
}

/** top_k of a request: a positive integer, default 5. */
export function topKField(value: unknown): number {
  if (value === undefined || value === null) return 5;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw badRequest(`top_k: expected a positive integer, got ${describeJson(value)}`);
  return value;
}

/**
 * The /v1/predict answer for a request with `images`: { logits, predictions } (the hook the route calls).
 * submit runs the parsed inputs through the batcher, exactly as the tensors route does.
 */
export async function predictImagesReply(
  images: ImageInputs | null | undefined,
  body: Record<string, unknown>,
  submit: (inputs: ParsedInputs) => Promise<NestedNumbers[]>,
  id2label: Record<string, string> | undefined,
): Promise<{ logits: NestedNumbers[]; predictions: LabelScore[][] }> {
  if (body.inputs !== undefined) throw badRequest('give "inputs" (tensors) or "images", not both');
  if (!images) throw badRequest("images: this server's model takes no images (image requests need a ViT image classifier)");
  const topK = topKField(body.top_k);
  const logits = await submit(await images.parse(body.images));
  return { logits, predictions: labelScores(logits, topK, id2label) };
}

/** The image inputs of a served model: its processor (--processor, else the model folder's, else ViT defaults); null for text models. */
export async function imageInputsFor(model: { architecture: string; imageSize: number | null }, modelDir: string, options: { imageRoot?: string; processor?: string }): Promise<ImageInputs | null> {
  if (model.architecture !== 'ViTForImageClassification') return null;
  const dir = options.processor ?? modelDir;
  const processor = await ImageProcessor.fromPretrained(dir).catch(async (error: unknown) => {
    if (options.processor || !(error instanceof ImageError) || error.reason !== 'not-found') throw error;
    const side = model.imageSize ?? 224;
    return new ImageProcessor({ image_processor_type: 'ViTImageProcessor', size: { height: side, width: side } });
  });
  const out = processor.outputSize;
  const side = model.imageSize;
  if (!out || out[0] !== side || out[1] !== side) {
    throw new ImageError(`${dir}: the image processor makes ${out ? `${out[0]}x${out[1]}` : 'images of varying size'} but the model takes ${side}x${side}`, 'unsupported');
  }
  return ImageInputs.create({ processor, imageRoot: options.imageRoot ?? null });
}
