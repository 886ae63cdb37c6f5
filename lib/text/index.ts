// Text: tokenizers, chat templates and text datasets.
export { AutoTokenizer, PreTrainedTokenizer } from './tokenizer.js';
export type { DecodeOptions, EncodeOptions, TokenizerLoadOptions } from './tokenizer.js';
export type { BatchEncodeOptions, BatchEncoding, Padding } from './batch.js';
export type { ChatContentPart, ChatMessage, ChatTemplateOptions } from './chat-template.js';
