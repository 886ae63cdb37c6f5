// The pixel steps of an image processor on LibTorch tensors, matching transformers' PIL backend: resize on
// 8-bit values (antialiased bilinear/bicubic as PIL's, rounded back to 8 bits), center crop (zero padding when
// the image is smaller), rescale, normalize. Images are [1, 3, H, W] float32 holding 0..255 until rescaled.
import { ImageError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { interpolate, pad } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DecodedImage } from './decode.js';
import type { Resample } from './processor-config.js';

/** Same-sized RGB images as float32 [N, 3, H, W] with values 0..255. */
export function imagesTensor(images: readonly DecodedImage[]): Tensor {
  const { width, height } = images[0];
  const plane = width * height * 3;
  const bytes = new Uint8Array(plane * images.length);
  images.forEach((image, i) => {
    if (image.channels !== 3 || image.width !== width || image.height !== height) {
      throw new ImageError(`imagesTensor: expected RGB images of ${width} x ${height}, got ${image.width} x ${image.height} x ${image.channels}`, 'unsupported');
    }
    bytes.set(image.data, i * plane);
  });
  return tensor(bytes, { shape: [images.length, height, width, 3] }).permute(0, 3, 1, 2).float();
}

/** PIL's NEAREST: output pixel i samples input int(0.5 * in/out + i * in/out), the sum accumulated in doubles as PIL does. */
function nearestIndex(inSize: number, outSize: number): Tensor {
  const index = new BigInt64Array(outSize);
  const step = inSize / outSize;
  let position = step * 0.5;
  for (let i = 0; i < outSize; i++, position += step) index[i] = BigInt(Math.min(inSize - 1, Math.trunc(position)));
  return tensor(index);
}

/** Resizes [N, 3, H, W] (0..255) to height x width as PIL does, rounded and clipped to 0..255. */
export function resizePixels(pixels: Tensor, height: number, width: number, resample: Resample): Tensor {
  const [, , inHeight, inWidth] = pixels.shape;
  if (inHeight === height && inWidth === width) return pixels.clone();
  if (resample === 'nearest') return pixels.indexSelect(2, nearestIndex(inHeight, height)).indexSelect(3, nearestIndex(inWidth, width));
  // PIL's bilinear and bicubic (a = -0.5) widen the filter when shrinking; LibTorch's antialiased kernels are the same
  // filters. PIL resizes horizontally, rounds and clips to 8 bits, then vertically: bicubic overshoots, so the clip
  // between the passes matters.
  const pass = (x: Tensor, size: [number, number]): Tensor => interpolate(x, { size, mode: resample, antialias: true }).round().clamp(0, 255);
  const horizontal = inWidth === width ? pixels : pass(pixels, [inHeight, width]);
  return inHeight === height ? horizontal : pass(horizontal, [height, width]);
}

/** transformers' center_crop: top = (h - crop_h) // 2; an image smaller than the crop is padded with zeros around it. */
export function centerCrop(pixels: Tensor, height: number, width: number): Tensor {
  const [, , inHeight, inWidth] = pixels.shape;
  const padTop = Math.max(0, Math.ceil((height - inHeight) / 2));
  const padLeft = Math.max(0, Math.ceil((width - inWidth) / 2));
  const padded = padTop > 0 || padLeft > 0 || inHeight < height || inWidth < width
    ? pad(pixels, [padLeft, Math.max(0, width - inWidth - padLeft), padTop, Math.max(0, height - inHeight - padTop)])
    : pixels;
  const top = Math.floor((padded.shape[2] - height) / 2);
  const left = Math.floor((padded.shape[3] - width) / 2);
  return padded.narrow(2, top, height).narrow(3, left, width);
}

/** x * factor, then (x - mean) / std per channel, as float32. */
export function rescaleNormalize(pixels: Tensor, factor: number | null, mean: readonly number[] | null, std: readonly number[] | null): Tensor {
  let x = factor === null ? pixels : pixels.mul(factor);
  if (mean && std) {
    x = x.sub(tensor(Float32Array.from(mean), { shape: [1, 3, 1, 1] })).div(tensor(Float32Array.from(std), { shape: [1, 3, 1, 1] }));
  }
  return x;
}
