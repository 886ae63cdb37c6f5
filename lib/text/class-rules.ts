// transformers 5 rebuilds parts of tokenizer.json in code for model-specific tokenizer classes
// (tokenization_utils_tokenizers.py `convert_to_native_format`). The ones node-peft reproduces:
// Llama (also Mistral's checkpoints, which name LlamaTokenizer): Metaspace with prepend "first" unless
// `legacy` is true, no normalizer, and a Replace/ByteFallback/Fuse(/Strip) decoder.
import type { JsonObject } from './files.js';

const LLAMA_CLASSES = new Set(['LlamaTokenizer', 'LlamaTokenizerFast', 'CodeLlamaTokenizer', 'CodeLlamaTokenizerFast']);
const LEFT_PADDING_CLASSES = new Set([...LLAMA_CLASSES, 'GemmaTokenizer', 'GemmaTokenizerFast']);

/** Class defaults for special tokens when tokenizer_config.json doesn't name them. */
export const CLASS_SPECIAL_DEFAULTS: Record<string, Record<string, string>> = {
  LlamaTokenizer: { unk_token: '<unk>', bos_token: '<s>', eos_token: '</s>' },
  GPT2Tokenizer: { unk_token: '<|endoftext|>', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' },
  GemmaTokenizer: { unk_token: '<unk>', bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', mask_token: '<mask>' },
  Qwen2Tokenizer: { unk_token: '<|endoftext|>', eos_token: '<|endoftext|>' },
};

export function classDefaults(tokenizerClass: string | undefined): Record<string, string> {
  const name = (tokenizerClass ?? '').replace(/Fast$/, '');
  return CLASS_SPECIAL_DEFAULTS[name] ?? {};
}

export function defaultPaddingSide(tokenizerClass: string | undefined): 'left' | 'right' {
  return LEFT_PADDING_CLASSES.has(tokenizerClass ?? '') ? 'left' : 'right';
}

/** tokenizer.json as transformers would run it for `config.tokenizer_class`. */
export function applyClassRules(json: JsonObject, config: JsonObject): JsonObject {
  const tokenizerClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : undefined;
  const model = json.model as JsonObject;
  if (!tokenizerClass || !LLAMA_CLASSES.has(tokenizerClass) || model.type !== 'BPE') return json;
  const addPrefixSpace = config.add_prefix_space !== false;
  const legacy = config.legacy === true;
  const prependScheme = !addPrefixSpace ? 'never' : legacy ? 'always' : 'first';
  const decoders: JsonObject[] = [
    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
  ];
  if (addPrefixSpace) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  return {
    ...json,
    model: { ...model, byte_fallback: true, fuse_unk: true },
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: prependScheme, split: false },
    decoder: { type: 'Sequence', decoders },
  };
}
