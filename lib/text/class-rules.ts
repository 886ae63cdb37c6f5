// transformers 5 rebuilds parts of tokenizer.json in code for model-specific tokenizer classes
// (tokenization_utils_tokenizers.py `convert_to_native_format`). The ones node-peft reproduces:
// - Llama (also Mistral's checkpoints, which name LlamaTokenizer): Metaspace with prepend "first" unless
//   `legacy` is true, no normalizer, and a Replace/ByteFallback/Fuse(/Strip) decoder;
// - GPT-2: ByteLevel pre-tokenizer with the config's `add_prefix_space`, no normalizer;
// - Qwen2: NFC, the Qwen2 split regex, ByteLevel with the config's `add_prefix_space`;
// - BERT: BertNormalizer from `do_lower_case` / `strip_accents` / `tokenize_chinese_chars`, and a
//   [CLS] A [SEP] (B [SEP]) post-processor from the config's cls/sep tokens.
import type { JsonObject } from './files.js';

const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

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

const tokenString = (value: unknown, fallback: string): string =>
  typeof value === 'string' ? value : typeof (value as JsonObject | null)?.content === 'string' ? (value as JsonObject).content as string : fallback;

function idOf(json: JsonObject, token: string, fallback: number): number {
  const added = (json.added_tokens as JsonObject[] | undefined)?.find((t) => t.content === token);
  const vocab = (json.model as JsonObject).vocab as Record<string, number> | undefined;
  return (added?.id as number | undefined) ?? vocab?.[token] ?? fallback;
}

function bertRules(json: JsonObject, config: JsonObject): JsonObject {
  const cls = tokenString(config.cls_token, '[CLS]');
  const sep = tokenString(config.sep_token, '[SEP]');
  const special = (id: string, typeId: number): JsonObject => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number): JsonObject => ({ Sequence: { id, type_id: typeId } });
  return {
    ...json,
    normalizer: {
      type: 'BertNormalizer', clean_text: true, handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null, lowercase: config.do_lower_case ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(cls, 0), sequence('A', 0), special(sep, 0)],
      pair: [special(cls, 0), sequence('A', 0), special(sep, 0), sequence('B', 1), special(sep, 1)],
      special_tokens: {
        [cls]: { id: cls, ids: [idOf(json, cls, 2)], tokens: [cls] },
        [sep]: { id: sep, ids: [idOf(json, sep, 3)], tokens: [sep] },
      },
    },
  };
}

function byteLevelRules(json: JsonObject, config: JsonObject, qwen2: boolean): JsonObject {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: config.add_prefix_space === true, trim_offsets: true, use_regex: !qwen2 };
  return {
    ...json,
    normalizer: qwen2 ? { type: 'NFC' } : null,
    pre_tokenizer: qwen2
      ? { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: QWEN2_REGEX }, behavior: 'Isolated', invert: false }, byteLevel] }
      : byteLevel,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
}

/** tokenizer.json as transformers would run it for `config.tokenizer_class`. */
export function applyClassRules(json: JsonObject, config: JsonObject): JsonObject {
  const tokenizerClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : undefined;
  const model = json.model as JsonObject;
  if (tokenizerClass === 'BertTokenizer' && model.type === 'WordPiece') return bertRules(json, config);
  if ((tokenizerClass === 'GPT2Tokenizer' || tokenizerClass === 'Qwen2Tokenizer') && model.type === 'BPE') {
    return byteLevelRules(json, config, tokenizerClass === 'Qwen2Tokenizer');
  }
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
