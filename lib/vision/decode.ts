// Images in: a file path, encoded bytes or an already-decoded image, to 8-bit RGB pixels. Files and bytes are
// decoded with sharp (libvips, on libuv's thread pool, so the event loop and the training thread never decode);
// the pixel count is read from the header and checked before anything is decoded.
import { stat } from 'node:fs/promises';
import type sharpType from 'sharp';
import { ImageError, type ImageErrorReason } from '../errors.js';

/** Decoded pixels, row-major and channels-last (H x W x C), 8 bits a channel. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
}

/** A file path, the bytes of an encoded image (PNG, JPEG, WebP, GIF, TIFF, AVIF), or decoded pixels. */
export type ImageInput = string | Uint8Array | DecodedImage;

export interface DecodeOptions {
  /** Refuse images with more pixels than this, from the header, before decoding (default MAX_IMAGE_PIXELS). */
  maxPixels?: number;
}

/** PIL's Image.MAX_IMAGE_PIXELS: about a quarter GiB of RGB pixels. */
export const MAX_IMAGE_PIXELS = 89_478_485;

export function isDecodedImage(input: unknown): input is DecodedImage {
  const image = input as DecodedImage;
  return typeof input === 'object' && input !== null && !(input instanceof Uint8Array) && image.data instanceof Uint8Array;
}

/** What decodeCore gives: pixels, or why not. */
export type CoreResult = { data: Uint8Array; width: number; height: number } | { error: string; reason: ImageErrorReason };

type SharpModule = typeof sharpType;
type StatFn = (path: string) => Promise<{ isFile(): boolean }>;

/**
 * Header check, then decode to 8-bit RGB. Self-contained (it uses nothing from outside its arguments) because
 * the prefetching loader also runs its source text in a worker thread.
 */
export async function decodeCore(sharpLib: SharpModule, statFile: StatFn, input: string | Uint8Array, maxPixels: number, headerOnly = false): Promise<CoreResult> {
  const what = typeof input === 'string' ? `image ${input}` : `image bytes (${input.length} bytes)`;
  const classify = (error: unknown): CoreResult => {
    const message = String((error as Error)?.message ?? error).split('\n')[0];
    if (/unsupported image format|not a known file format|no size in the header/i.test(message)) {
      return { error: `${what}: not an image in a supported format (PNG, JPEG, WebP, GIF, TIFF, AVIF)`, reason: 'unsupported' };
    }
    if (/pixel limit/i.test(message)) return { error: `${what}: too many pixels (${message})`, reason: 'too-large' };
    if (/premature end|truncated|read error|not enough data|unexpected end|short read/i.test(message)) {
      return { error: `${what}: the file is truncated or damaged (${message})`, reason: 'truncated' };
    }
    return { error: `${what}: cannot be decoded (${message})`, reason: 'corrupt' };
  };
  if (typeof input === 'string') {
    const info = await statFile(input).catch(() => null);
    if (!info || !info.isFile()) return { error: `${what}: no such file`, reason: 'not-found' };
  }
  const overLimit = (width: number, height: number): CoreResult => ({
    error: `${what}: ${width} x ${height} = ${(width * height).toLocaleString('en-US')} pixels is over the limit of ` +
      `${maxPixels.toLocaleString('en-US')} (maxPixels); refused before decoding`,
    reason: 'too-large',
  });
  const header = async (): Promise<CoreResult> => {
    try {
      const meta = await sharpLib(input, { limitInputPixels: false }).metadata();
      if (!meta.width || !meta.height || !meta.format) throw new Error('unsupported image format: no size in the header');
      return meta.width * meta.height > maxPixels ? overLimit(meta.width, meta.height) : { data: new Uint8Array(0), width: meta.width, height: meta.height };
    } catch (error) {
      return classify(error);
    }
  };
  if (headerOnly) return header();
  // libvips reads the header and checks limitInputPixels before it decodes any pixel data
  const decode = () => sharpLib(input, { failOn: 'truncated', limitInputPixels: maxPixels })
    .autoOrient()
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  try {
    // libvips' error text is per thread: with decodes running on other threads it can come back as "Unknown error",
    // so a failure without a reason is decoded once more to name the problem.
    const { data, info } = await decode().catch((error: unknown) => (/Unknown error/.test(String((error as Error)?.message)) ? decode() : Promise.reject(error)));
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (error) {
    const result = classify(error);
    if (!('reason' in result) || result.reason !== 'too-large') return result;
    const withSize = await header();
    return 'error' in withSize ? withSize : result;
  }
}

let sharpModule: Promise<SharpModule> | null = null;

/** sharp, loaded on first use (so importing node-peft does not load libvips). */
export function loadSharp(): Promise<SharpModule> {
  sharpModule ??= import('sharp').then(
    (m) => m.default,
    (error: Error) => {
      sharpModule = null;
      throw new ImageError(`image decoding needs the 'sharp' package, which failed to load: ${error.message.split('\n')[0]}`, 'unsupported');
    },
  );
  return sharpModule;
}

function checkMaxPixels(maxPixels: number): number {
  if (!Number.isInteger(maxPixels) || maxPixels < 1) throw new ImageError(`maxPixels: expected a positive integer, got ${maxPixels}`, 'too-large');
  return maxPixels;
}

/** Width, height (as stored, before EXIF orientation) and format from the header only. */
export async function readImageHeader(input: string | Uint8Array): Promise<{ width: number; height: number; format: string }> {
  const sharp = await loadSharp();
  const result = await decodeCore(sharp, stat, input, Number.MAX_SAFE_INTEGER, true);
  if ('error' in result) throw new ImageError(result.error, result.reason);
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  return { width: result.width, height: result.height, format: meta.format as string };
}

/** Pixels as 3-channel RGB: an alpha channel is dropped (not composited), gray is repeated, as PIL's convert('RGB'). */
export function toRgb(image: DecodedImage): DecodedImage {
  const { data, width, height, channels } = image;
  if (![1, 2, 3, 4].includes(channels) || data.length !== width * height * channels) {
    throw new ImageError(`decoded image: expected ${width} x ${height} x ${channels} = ${width * height * channels} bytes with 1-4 channels, got ${data.length} bytes`, 'corrupt');
  }
  if (channels === 3) return image;
  const pixels = width * height;
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const src = p * channels;
    if (channels <= 2) {
      rgb[p * 3] = rgb[p * 3 + 1] = rgb[p * 3 + 2] = data[src];
    } else {
      rgb[p * 3] = data[src];
      rgb[p * 3 + 1] = data[src + 1];
      rgb[p * 3 + 2] = data[src + 2];
    }
  }
  return { data: rgb, width, height, channels: 3 };
}

/**
 * Decodes an image to 8-bit RGB: EXIF orientation applied (as transformers' load_image), alpha dropped, gray and
 * palette images expanded. A truncated file is an error, never a partly decoded image.
 */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = checkMaxPixels(options.maxPixels ?? MAX_IMAGE_PIXELS);
  if (isDecodedImage(input)) return toRgb(input);
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new ImageError(`image: expected a file path, a Buffer/Uint8Array or a decoded image {data, width, height, channels}, got ${typeof input}`, 'unsupported');
  }
  const result = await decodeCore(await loadSharp(), stat, input, maxPixels);
  if ('error' in result) throw new ImageError(result.error, result.reason);
  return { ...result, channels: 3 };
}
