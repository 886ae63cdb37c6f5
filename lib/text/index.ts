// Text: tokenizers, chat templates and text datasets.
export { AutoTokenizer, PreTrainedTokenizer } from './tokenizer.js';
export type { ChatEncoding, DecodeOptions, EncodeOptions, TokenizerLoadOptions } from './tokenizer.js';
export type { BatchEncodeOptions, BatchEncoding, Padding } from './batch.js';
export type { ChatContentPart, ChatMessage, ChatTemplateOptions } from './chat-template.js';
export { parseJsonl, readJsonl } from './jsonl.js';
export type { JsonlRow } from './jsonl.js';
export { prepareSftExamples, rowKind } from './sft.js';
export type { SftExample, SftOptions, SftRowKind } from './sft.js';
export { collateSft, packBestFit } from './packing.js';
export type { CollatedBatch } from './packing.js';
export { loadSftDataset, sftBatches, sftPadTokenId, sftTensors } from './sft-data.js';
