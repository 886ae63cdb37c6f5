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

/** A PyTorch pickle file (adapter_model.bin) that is malformed or holds anything but tensors; names what was found. */
export class TorchPickleError extends Error {
  override name = 'TorchPickleError';
}

/** A tokenizer folder that can't be read (names the file and what is wrong), or a tokenizer used wrongly. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
  constructor(message: string, readonly file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
  }
}

/** A chat template that fails to parse or render, including the template's own raise_exception(...). */
export class ChatTemplateError extends TokenizerError {
  override name = 'ChatTemplateError';
}

/** A Hugging Face Hub download or cache lookup that failed: names the repo, file and reason. */
export class HubError extends Error {
  override name = 'HubError';
}

/** A bad row in a text dataset: names the file and the 1-based line. */
export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(message: string, readonly file?: string, readonly line?: number) {
    super(file === undefined ? message : `${file}${line === undefined ? '' : `:${line}`}: ${message}`);
  }
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
