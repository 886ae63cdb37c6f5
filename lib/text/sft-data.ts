// A JSONL file + tokenizer -> SFT examples and training batches for node-peft's training loop (lib/train).
import { tensor } from '../tensor/index.js';
import type { Tensor } from '../tensor/index.js';
import { DatasetError } from '../errors.js';
import { readJsonl } from './jsonl.js';
import { collateSft, packBestFit, type CollatedBatch } from './packing.js';
import { prepareSftExamples, type SftExample, type SftOptions } from './sft.js';
import type { PreTrainedTokenizer } from './tokenizer.js';

/** The file's rows tokenized with labels as TRL's SFTTrainer prepares them (packed into rows if options.packing). */
export function loadSftDataset(file: string, tokenizer: PreTrainedTokenizer, options: SftOptions = {}): SftExample[] {
  const examples = prepareSftExamples(readJsonl(file), tokenizer, options, file);
  if (examples.length === 0) throw new DatasetError(`no example has a token to learn from within maxLength ${options.maxLength ?? 1024}`, file);
  if (!options.packing) return examples;
  const maxLength = options.maxLength ?? 1024;
  if (maxLength === null) throw new DatasetError('packing needs maxLength', file);
  return packBestFit(examples, maxLength);
}

/** The pad id TRL's collator uses: the pad token, else the EOS token. */
export function sftPadTokenId(tokenizer: PreTrainedTokenizer): number {
  const id = tokenizer.padTokenId ?? tokenizer.eosTokenId;
  if (id === null) throw new DatasetError('the tokenizer has neither a pad token nor an eos token to pad batches with');
  return id;
}

/** Batches of `batchSize` examples in file order, collated as TRL's DataCollatorForLanguageModeling does. */
export function sftBatches(examples: readonly SftExample[], tokenizer: PreTrainedTokenizer, batchSize: number): CollatedBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DatasetError(`batchSize must be a positive integer, got ${batchSize}`);
  const padId = sftPadTokenId(tokenizer);
  const batches: CollatedBatch[] = [];
  for (let start = 0; start < examples.length; start += batchSize) batches.push(collateSft(examples.slice(start, start + batchSize), padId));
  return batches;
}

const int64 = (rows: number[][]): Tensor =>
  tensor(BigInt64Array.from(rows.flat(), (v) => BigInt(v)), { shape: [rows.length, rows[0]?.length ?? 0] });

/**
 * Every example as one set of int64 tensors {input_ids, attention_mask, labels} padded to the longest row (packed
 * rows: one row per bin, padded to maxLength, with position_ids), for train.DataLoader. Right padding with pad id
 * and label -100, so per-row losses equal those of TRL's dynamically padded batches.
 */
export function sftTensors(examples: readonly SftExample[], tokenizer: PreTrainedTokenizer): Record<string, Tensor> {
  if (examples.length === 0) throw new DatasetError('no examples to batch');
  const padId = sftPadTokenId(tokenizer);
  const width = Math.max(...examples.map((e) => e.input_ids.length));
  const rows = examples.map((e) => {
    const single = collateSft([e], padId);
    const fill = width - e.input_ids.length;
    const pad = (row: number[], value: number): number[] => [...row, ...new Array<number>(fill).fill(value)];
    return {
      input_ids: pad(single.input_ids[0]!, padId),
      labels: pad(single.labels[0]!, -100),
      attention_mask: pad(e.input_ids.map(() => 1), 0),
      position_ids: single.position_ids ? pad(single.position_ids[0]!, 0) : undefined,
    };
  });
  const out: Record<string, Tensor> = {
    input_ids: int64(rows.map((r) => r.input_ids)),
    attention_mask: int64(rows.map((r) => r.attention_mask)),
    labels: int64(rows.map((r) => r.labels)),
  };
  if (rows[0]!.position_ids) out.position_ids = int64(rows.map((r) => r.position_ids!));
  return out;
}
