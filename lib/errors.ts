// Every error node-peft throws on purpose. This file imports nothing.

/** A LibTorch or native-binding failure; the message is LibTorch's first line. */
export class TorchError extends Error {
  override name = 'TorchError';
}

/** A PEFT-level misuse: bad config values, unknown adapters, impossible merges. */
export class PeftError extends Error {
  override name = 'PeftError';
}

/** A LoRA config whose target_modules (or modules_to_save) matched nothing in the model. */
export class NoMatchingTargetError extends PeftError {
  override name = 'NoMatchingTargetError';
}

/** Missing or unexpected keys, or shape mismatches, when loading a state dict. */
export class StateDictError extends Error {
  override name = 'StateDictError';
}

/** A safetensors file that breaks a rule of the format; names the tensor and the rule. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Why an image could not be read: see ImageError.reason. */
export type ImageErrorReason = 'not-found' | 'unsupported' | 'corrupt' | 'truncated' | 'too-large' | 'outside-root';

/** An image that cannot be used: missing, not an image, damaged, too many pixels, or outside the allowed folder. */
export class ImageError extends Error {
  override name = 'ImageError';
  constructor(message: string, readonly reason: ImageErrorReason) {
    super(message);
  }
}
