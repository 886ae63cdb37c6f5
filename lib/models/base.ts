// PreTrainedModel: what every model of the zoo shares: its config, Hugging Face forward inputs/outputs,
// tied weights, and the mapping between checkpoint keys and in-memory parameter names.
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { Device, DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { isAtomicWriteTemp, writeTextFileAtomic } from '../serialization/atomic-write.js';
import { replaceFolder } from '../serialization/replace-folder.js';
import { type SaveCheckpointOptions, writeCheckpoint } from './checkpoint.js';
import { configToJson, type PretrainedConfig } from './config.js';
import type { KVCache } from './kv-cache.js';

/** forward() inputs, under the keyword names transformers uses. */
export interface ModelInputs {
  /** int64 (B, S) token ids. */
  input_ids?: Tensor;
  /** (B, S_total) 1 = token, 0 = padding; S_total includes cached tokens. */
  attention_mask?: Tensor | null;
  /** int64 (B, S) segment ids (BERT); zeros when absent. */
  token_type_ids?: Tensor | null;
  /** int64 (B, S) positions; past..past+S-1 when absent. */
  position_ids?: Tensor | null;
  /** float (B, C, H, W) images (ViT). */
  pixel_values?: Tensor;
  /** ViT: accept an image size other than config.image_size by resampling the position embeddings. */
  interpolate_pos_encoding?: boolean;
  /** Targets: next-token ids (causal LM, -100 = ignore) or class ids / regression values (classifiers). */
  labels?: Tensor;
  /** Decoder cache to read and extend (causal LMs). */
  past_key_values?: KVCache | null;
}

export interface CausalLMInputs extends ModelInputs {
  /** Compute logits for only the last n positions (0 = all), as transformers' logits_to_keep. */
  logits_to_keep?: number;
}

export interface ModelOutput {
  logits: Tensor;
  loss?: Tensor;
  past_key_values?: KVCache;
}

/** A module whose forward maps one tensor to one tensor (Linear, Conv1D, and PEFT's wrappers of them). */
export interface TensorModule extends Module {
  forward(x: Tensor): Tensor;
}

/** The files of a model folder that a save replaces: config, weights (single, shards, index). */
export function isModelFile(entry: string): boolean {
  return /^(config\.json|model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|pytorch_model.*\.bin(\.index\.json)?)$/.test(entry) || isAtomicWriteTemp(entry);
}

export abstract class PreTrainedModel<C extends PretrainedConfig = PretrainedConfig> extends Module {
  readonly config: C;

  constructor(config: C) {
    super();
    this.config = config;
  }

  abstract override forward(inputs: ModelInputs): ModelOutput;

  /** The class name Hugging Face gives this model (config.json `architectures[0]`). */
  abstract get architecture(): string;

  /** [tied, source] parameter paths that hold one shared tensor (tie_word_embeddings). */
  tiedParameters(): [string, string][] {
    return [];
  }

  /** Makes each tied parameter the very tensor of its source (again, e.g. after to()). */
  tieWeights(): void {
    for (const [tied, source] of this.tiedParameters()) {
      const target = this.#findParameter(tied);
      const shared = this.#findParameter(source);
      if (!target || !shared || target === shared) continue;
      this.replaceParameter(tied, shared);
      target.dispose();
    }
  }

  #findParameter(path: string): Parameter | null {
    return this.namedParameters({ removeDuplicate: false }).find(([name]) => name === path)?.[1] ?? null;
  }

  /** Checkpoint keys the model computes itself and skips on load (e.g. old files' rotary inv_freq buffers). */
  ignoredCheckpointKeys(): RegExp[] {
    return [];
  }

  /** The in-memory name of a checkpoint key (identity unless the model was renamed between eras). */
  checkpointKeyToModel(key: string): string {
    return key;
  }

  /** The checkpoint key Hugging Face writes for an in-memory name. */
  modelKeyToCheckpoint(key: string): string {
    return key;
  }

  /**
   * Writes config.json and the weights (model.safetensors, or shards + index when maxShardSize is given) as
   * transformers' save_pretrained does, so Hugging Face loads the folder.
   */
  /** Writes config.json and the weights; the folder's model files are replaced as a whole (other files stay). */
  async savePretrained(dir: string, options: SaveCheckpointOptions = {}): Promise<void> {
    const config = configToJson({ ...this.config, architectures: [this.architecture] }, this.dtype);
    await replaceFolder(dir, async (staging) => {
      await writeCheckpoint(this, staging, options);
      await writeTextFileAtomic(join(staging, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    }, { owns: isModelFile });
  }

  /** The dtype of the parameters (that of the first floating one). */
  get dtype(): DType {
    const first = this.parameters().find((p) => p.dtype !== 'int64' && p.dtype !== 'bool');
    if (!first) throw new TorchError(`${this.architecture} has no floating parameters`);
    return first.dtype;
  }

  /** Converts every parameter and buffer; tied parameters stay one tensor. */
  override to(target: DType | Device): this {
    super.to(target);
    this.tieWeights();
    return this;
  }
}
