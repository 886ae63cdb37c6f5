// The data files of train.json: safetensors of named tensors, or JSONL text rows ({"text"}, {"prompt",
// "completion"}, {"messages"}) tokenized with the model's tokenizer and labelled as TRL's SFTTrainer does.
import { load } from '../serialization/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { AutoTokenizer, loadSftDataset, type PreTrainedTokenizer, sftTensors } from '../text/index.js';
import type { TextDataConfig } from './train-config.js';

export const isJsonl = (path: string): boolean => /\.jsonl$/i.test(path);

/** Loads data files, sharing one tokenizer between the JSONL ones. */
export class TrainDataLoader {
  #tokenizer: Promise<PreTrainedTokenizer> | null = null;

  constructor(readonly text: TextDataConfig) {}

  /** input_ids, attention_mask and labels (-100 where there is no loss; position_ids when packed) for a JSONL file. */
  async load(path: string): Promise<Record<string, Tensor>> {
    if (!isJsonl(path)) return load(path);
    this.#tokenizer ??= AutoTokenizer.fromPretrained(this.text.tokenizer);
    const tokenizer = await this.#tokenizer;
    const examples = loadSftDataset(path, tokenizer, {
      maxLength: this.text.max_length,
      packing: this.text.packing,
      completionOnlyLoss: this.text.completion_only_loss,
      assistantOnlyLoss: this.text.assistant_only_loss,
    });
    return sftTensors(examples, tokenizer);
  }
}
