// preprocessor_config.json: the fields transformers' image processors read, with each class's defaults
// (transformers 5.17, models/<name>/image_processing_pil_<name>.py), checked and normalised.
import { ImageError } from '../errors.js';

/** The on-disk fields (snake_case, as in the file); unknown fields are kept and written back. */
export interface ImageProcessorConfig {
  image_processor_type?: string;
  do_resize?: boolean;
  size?: SizeDict | number | number[];
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: SizeDict | number;
  crop_pct?: number;
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number | number[];
  image_std?: number | number[];
  do_convert_rgb?: boolean | null;
  [field: string]: unknown;
}

export interface SizeDict {
  height?: number;
  width?: number;
  shortest_edge?: number;
  longest_edge?: number;
}

/** How the output size is found: an exact size, the short side (optionally capped long side), or ConvNeXt's rule. */
export type ResizeRule =
  | { kind: 'exact'; height: number; width: number }
  | { kind: 'shortest-edge'; shortestEdge: number; longestEdge: number | null }
  | { kind: 'convnext'; shortestEdge: number; cropPct: number };

export type Resample = 'nearest' | 'bilinear' | 'bicubic';

/** Everything preprocess needs, resolved from the file and the class defaults. */
export interface ResolvedProcessor {
  type: string;
  resize: ResizeRule | null;
  resample: Resample;
  crop: { height: number; width: number } | null;
  rescale: number | null;
  mean: [number, number, number] | null;
  std: [number, number, number] | null;
}

const HALF = [0.5, 0.5, 0.5];
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

interface ClassDefaults {
  size: SizeDict;
  crop_size?: SizeDict;
  do_center_crop: boolean;
  resample: number;
  image_mean: number[];
  image_std: number[];
  /** How an int `size` is read: a square, or the shortest edge. */
  defaultToSquare: boolean;
  convnext?: boolean;
}

const VIT: ClassDefaults = { size: { height: 224, width: 224 }, do_center_crop: false, resample: 2, image_mean: HALF, image_std: HALF, defaultToSquare: true };
const CLIP: ClassDefaults = {
  size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 }, do_center_crop: true, resample: 3, image_mean: CLIP_MEAN, image_std: CLIP_STD, defaultToSquare: false,
};

/** transformers 5.17 class defaults by image_processor_type (the Fast/Pil suffixes stripped). */
const DEFAULTS: Record<string, ClassDefaults> = {
  ViTImageProcessor: VIT,
  DeiTImageProcessor: { ...VIT, size: { height: 256, width: 256 }, crop_size: { height: 224, width: 224 }, do_center_crop: true, resample: 3 },
  SiglipImageProcessor: { ...VIT, resample: 3, defaultToSquare: false },
  BeitImageProcessor: { ...VIT, resample: 3, crop_size: { height: 224, width: 224 } },
  CLIPImageProcessor: CLIP,
  BitImageProcessor: CLIP,
  ConvNextImageProcessor: { size: { shortest_edge: 384 }, do_center_crop: false, resample: 3, image_mean: HALF, image_std: HALF, defaultToSquare: false, convnext: true },
};

/** The supported processor class names (and their older FeatureExtractor names). */
export const SUPPORTED_PROCESSORS = Object.keys(DEFAULTS);

const RESAMPLE: Record<number, Resample | string> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

function fail(source: string, field: string, expected: string, got: unknown): never {
  throw new ImageError(`${source}: '${field}' must be ${expected}, got ${JSON.stringify(got)}`, 'unsupported');
}

/** The class name the file names, without the Fast/Pil backend suffixes; FeatureExtractor names map to processors. */
export function processorType(config: ImageProcessorConfig): string {
  const raw = config.image_processor_type ?? (config.feature_extractor_type as string | undefined) ?? 'ViTImageProcessor';
  return String(raw).replace(/FeatureExtractor$/, 'ImageProcessor').replace(/(Fast|Pil)$/, '');
}

function positiveInt(source: string, field: string, value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fail(source, field, 'a positive integer', value);
}

function sizeDict(source: string, field: string, value: unknown, defaultToSquare: boolean): SizeDict {
  if (typeof value === 'number') return defaultToSquare ? { height: positiveInt(source, field, value), width: value } : { shortest_edge: positiveInt(source, field, value) };
  if (Array.isArray(value) && value.length === 2) return { height: positiveInt(source, field, value[0]), width: positiveInt(source, field, value[1]) };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(source, field, 'an object like {"height", "width"} or {"shortest_edge"}', value);
  const dict: SizeDict = {};
  for (const [key, v] of Object.entries(value)) {
    if (!['height', 'width', 'shortest_edge', 'longest_edge'].includes(key)) fail(source, `${field}.${key}`, 'one of height, width, shortest_edge, longest_edge', key);
    if (v !== null) dict[key as keyof SizeDict] = positiveInt(source, `${field}.${key}`, v);
  }
  return dict;
}

function resizeRule(source: string, size: SizeDict, defaults: ClassDefaults, cropPct: number): ResizeRule {
  if (defaults.convnext) {
    if (size.shortest_edge === undefined) fail(source, 'size', 'an object with shortest_edge (ConvNeXt)', size);
    return { kind: 'convnext', shortestEdge: size.shortest_edge, cropPct };
  }
  if (size.shortest_edge !== undefined) return { kind: 'shortest-edge', shortestEdge: size.shortest_edge, longestEdge: size.longest_edge ?? null };
  if (size.height !== undefined && size.width !== undefined) return { kind: 'exact', height: size.height, width: size.width };
  return fail(source, 'size', 'an object with height and width, or shortest_edge (and longest_edge)', size);
}

function channelTriple(source: string, field: string, value: unknown): [number, number, number] {
  const list = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(list) || list.length !== 3 || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    return fail(source, field, 'a number or a list of 3 numbers (R, G, B)', value);
  }
  return list as [number, number, number];
}

function flag(source: string, config: ImageProcessorConfig, field: string, fallback: boolean): boolean {
  const value = config[field] ?? fallback;
  return typeof value === 'boolean' ? value : fail(source, field, 'true or false', value);
}

/** Checks a preprocessor_config.json object and resolves it against its class's defaults. */
export function resolveProcessor(config: ImageProcessorConfig, source = 'preprocessor_config.json'): ResolvedProcessor {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail(source, '(top level)', 'an object', config);
  const type = processorType(config);
  const defaults = DEFAULTS[type];
  if (!defaults) {
    throw new ImageError(`${source}: image_processor_type '${type}' is not supported; node-peft reads ${SUPPORTED_PROCESSORS.join(', ')}`, 'unsupported');
  }
  const resampleCode = config.resample ?? defaults.resample;
  const resample = RESAMPLE[resampleCode as number];
  if (resample !== 'nearest' && resample !== 'bilinear' && resample !== 'bicubic') {
    fail(source, 'resample', `0 (nearest), 2 (bilinear) or 3 (bicubic)${resample ? ` (${resample} is not supported)` : ''}`, resampleCode);
  }
  const cropPct = config.crop_pct ?? 224 / 256;
  if (typeof cropPct !== 'number' || !(cropPct > 0 && cropPct <= 1)) fail(source, 'crop_pct', 'a number in (0, 1]', cropPct);
  const doResize = flag(source, config, 'do_resize', true);
  const doCrop = flag(source, config, 'do_center_crop', defaults.do_center_crop);
  const doRescale = flag(source, config, 'do_rescale', true);
  const doNormalize = flag(source, config, 'do_normalize', true);
  const size = sizeDict(source, 'size', config.size ?? defaults.size, defaults.defaultToSquare);
  const cropDict = doCrop ? sizeDict(source, 'crop_size', config.crop_size ?? defaults.crop_size ?? size, true) : null;
  if (cropDict && (cropDict.height === undefined || cropDict.width === undefined)) fail(source, 'crop_size', 'an object with height and width', cropDict);
  const rescale = config.rescale_factor ?? 1 / 255;
  if (typeof rescale !== 'number' || !Number.isFinite(rescale)) fail(source, 'rescale_factor', 'a number', rescale);
  const std = doNormalize ? channelTriple(source, 'image_std', config.image_std ?? defaults.image_std) : null;
  if (std?.some((s) => s === 0)) fail(source, 'image_std', 'non-zero numbers', std);
  return {
    type,
    resize: doResize ? resizeRule(source, size, defaults, cropPct) : null,
    resample,
    crop: cropDict ? { height: cropDict.height as number, width: cropDict.width as number } : null,
    rescale: doRescale ? rescale : null,
    mean: doNormalize ? channelTriple(source, 'image_mean', config.image_mean ?? defaults.image_mean) : null,
    std,
  };
}

/** The [height, width] an image of this size is resized to (transformers' get_resize_output_image_size rules). */
export function resizeOutputSize(rule: ResizeRule, height: number, width: number): [number, number] {
  if (rule.kind === 'exact') return [rule.height, rule.width];
  if (rule.kind === 'convnext') {
    if (rule.shortestEdge >= 384) return [rule.shortestEdge, rule.shortestEdge];
    return shortestEdgeSize(Math.trunc(rule.shortestEdge / rule.cropPct), null, height, width);
  }
  return shortestEdgeSize(rule.shortestEdge, rule.longestEdge, height, width);
}

function shortestEdgeSize(size: number, maxSize: number | null, height: number, width: number): [number, number] {
  if (maxSize === null) {
    const [short, long] = width <= height ? [width, height] : [height, width];
    const newLong = Math.trunc((size * long) / short);
    return width <= height ? [newLong, size] : [size, newLong];
  }
  // get_size_with_aspect_ratio(image_size, shortest_edge, longest_edge)
  let target = size;
  let raw: number | null = null;
  const minSide = Math.min(height, width);
  const maxSide = Math.max(height, width);
  if ((maxSide / minSide) * target > maxSize) {
    raw = (maxSize * minSide) / maxSide;
    target = pythonRound(raw);
  }
  if ((height <= width && height === target) || (width <= height && width === target)) return [height, width];
  if (width < height) return [Math.trunc(((raw ?? target) * height) / width), target];
  return [target, Math.trunc(((raw ?? target) * width) / height)];
}

/** Python's round(): halves to even. */
function pythonRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}
