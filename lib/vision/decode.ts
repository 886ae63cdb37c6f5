// Images in: a file path, encoded bytes or an already-decoded image, to 8-bit RGB pixels. Files and bytes are
// decoded with sharp (libvips, on libuv's thread pool, so the event loop and the training thread never decode);
// the pixel count is read from the header and checked before anything is decoded.
import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { ImageError } from '../errors.js';

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

function describe(input: string | Uint8Array): string {
  return typeof input === 'string' ? `image ${input}` : `image bytes (${input.length} bytes)`;
}

/** Maps a sharp/libvips failure to a typed error that says what is wrong with the image. */
function classify(input: string | Uint8Array, error: unknown): ImageError {
  const message = (error as Error).message ?? String(error);
  const what = describe(input);
  if (/unsupported image format|not a known file format/i.test(message)) {
    return new ImageError(`${what}: not an image in a supported format (PNG, JPEG, WebP, GIF, TIFF, AVIF)`, 'unsupported');
  }
  if (/pixel limit/i.test(message)) return new ImageError(`${what}: too many pixels (${message})`, 'too-large');
  if (/premature end|truncated|read error|not enough data|unexpected end|short read/i.test(message)) {
    return new ImageError(`${what}: the file is truncated or damaged (${message.split('\n')[0]})`, 'truncated');
  }
  return new ImageError(`${what}: cannot be decoded (${message.split('\n')[0]})`, 'corrupt');
}

function checkMaxPixels(maxPixels: number): number {
  if (!Number.isInteger(maxPixels) || maxPixels < 1) throw new ImageError(`maxPixels: expected a positive integer, got ${maxPixels}`, 'too-large');
  return maxPixels;
}

/** Width, height (as stored, before EXIF orientation) and format from the header only. */
export async function readImageHeader(input: string | Uint8Array): Promise<{ width: number; height: number; format: string }> {
  if (typeof input === 'string') {
    const info = await stat(input).catch(() => null);
    if (!info || !info.isFile()) throw new ImageError(`image ${input}: no such file`, 'not-found');
  }
  try {
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height || !meta.format) throw new Error('unsupported image format: no size in the header');
    return { width: meta.width, height: meta.height, format: meta.format };
  } catch (error) {
    throw classify(input, error);
  }
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
  const { width, height } = await readImageHeader(input);
  if (width * height > maxPixels) {
    throw new ImageError(
      `${describe(input)}: ${width} x ${height} = ${(width * height).toLocaleString('en-US')} pixels is over the limit of ` +
        `${maxPixels.toLocaleString('en-US')} (maxPixels); refused before decoding`,
      'too-large',
    );
  }
  try {
    const { data, info } = await sharp(input, { failOn: 'truncated', limitInputPixels: maxPixels })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
  } catch (error) {
    throw classify(input, error);
  }
}
