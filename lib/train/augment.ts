// Seeded training augmentation for images, as torchvision's RandomResizedCrop and RandomHorizontalFlip: the
// random draws come from (seed, epoch, example), so a resumed run sees the very same crops.
import { TorchError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Resample } from '../vision/processor-config.js';
import { resizePixels } from '../vision/transforms.js';
import { seededRandom } from './random.js';

export interface AugmentOptions {
  /** RandomResizedCrop to the processor's output size: true (scale [0.08, 1], ratio [3/4, 4/3]) or those bounds. */
  random_resized_crop?: boolean | { scale?: [number, number]; ratio?: [number, number] };
  /** Flip left-right with probability 0.5. */
  horizontal_flip?: boolean;
}

interface Crop {
  top: number;
  left: number;
  height: number;
  width: number;
}

function bounds(value: unknown, fallback: [number, number], what: string, max: number): [number, number] {
  const pair = value ?? fallback;
  if (!Array.isArray(pair) || pair.length !== 2 || !(pair[0] > 0 && pair[0] <= pair[1] && pair[1] <= max)) {
    throw new TorchError(`augment: ${what}: expected [low, high] with 0 < low <= high <= ${max}, got ${JSON.stringify(value)}`);
  }
  return pair as [number, number];
}

/** Checks the options and returns a function that augments one image. */
export function makeAugment(
  options: AugmentOptions,
  processor: { outputSize: [number, number] | null; resolved: { resample: Resample }; resizeAndCrop(pixels: Tensor): Tensor },
): (pixels: Tensor, seed: number) => Tensor {
  const unknown = Object.keys(options).filter((k) => k !== 'random_resized_crop' && k !== 'horizontal_flip');
  if (unknown.length > 0) throw new TorchError(`augment: unknown option(s) ${unknown.join(', ')}; expected random_resized_crop, horizontal_flip`);
  const rrc = options.random_resized_crop;
  const crop = rrc ? { scale: bounds(rrc === true ? undefined : rrc.scale, [0.08, 1], 'scale', 1), ratio: bounds(rrc === true ? undefined : rrc.ratio, [3 / 4, 4 / 3], 'ratio', 100) } : null;
  const flip = options.horizontal_flip === true;
  const outSize = processor.outputSize;
  if (crop && !outSize) throw new TorchError("augment: random_resized_crop needs a processor with a fixed output size (size as height/width, or a crop_size)");
  return (pixels, seed) => {
    const random = seededRandom(seed);
    let x: Tensor;
    if (crop && outSize) {
      const c = randomResizedCrop(pixels.shape[2], pixels.shape[3], crop.scale, crop.ratio, random);
      x = resizePixels(pixels.narrow(2, c.top, c.height).narrow(3, c.left, c.width), outSize[0], outSize[1], processor.resolved.resample);
    } else {
      x = processor.resizeAndCrop(pixels);
    }
    if (flip && random() < 0.5) x = x.flip(3);
    return x;
  };
}

/** torchvision's RandomResizedCrop.get_params: ten tries at a random area and aspect ratio, then a center crop. */
export function randomResizedCrop(height: number, width: number, scale: [number, number], ratio: [number, number], random: () => number): Crop {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + random() * (scale[1] - scale[0]));
    const aspect = Math.exp(logRatio[0] + random() * (logRatio[1] - logRatio[0]));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { top: Math.floor(random() * (height - h + 1)), left: Math.floor(random() * (width - w + 1)), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let [h, w] = [height, width];
  if (inRatio < ratio[0]) h = Math.round(width / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(height * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}
