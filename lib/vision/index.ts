// node-peft/vision: images in (decoding, image processors as transformers', image-folder datasets).
export { decodeImage, readImageHeader, toRgb, MAX_IMAGE_PIXELS, type DecodedImage, type DecodeOptions, type ImageInput } from './decode.js';
export { AutoImageProcessor, ImageProcessor, PROCESSOR_CONFIG, type PreprocessOptions } from './image-processor.js';
export { resolveProcessor, resizeOutputSize, SUPPORTED_PROCESSORS, type ImageProcessorConfig, type ResolvedProcessor, type ResizeRule, type Resample, type SizeDict } from './processor-config.js';
