// ...ForSequenceClassification for the decoder families, as transformers' GenericForSequenceClassification: the
// decoder (`model`), a bias-free `score` head on every position, and the logits of each row's last non-padding
// token (the rightmost token that is not pad_token_id, so left and right padding both work).
import { TorchError } from '../errors.js';
import { Linear } from '../nn/linear.js';
import { arange } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelInputs, type ModelOutput, PreTrainedModel, type TensorModule } from './base.js';
import { type ConfigJson, numLabels } from './config.js';
import { Gemma2ForCausalLM, Gemma3ForCausalLM, MistralForCausalLM, Phi3ForCausalLM, Qwen3ForCausalLM } from './decoder-families.js';
import type { DecoderConfig, DecoderSpec } from './decoder-spec.js';
import { initializerRange, initWeights } from './init-weights.js';
import { LlamaForCausalLM, LlamaModel, Qwen2ForCausalLM } from './llama.js';
import { classificationLoss } from './losses.js';

type DecoderFamily = { parseConfig(json: ConfigJson): DecoderConfig; decoderSpec(config: DecoderConfig): DecoderSpec };
export type SequenceClassifierConfig = DecoderConfig & { num_labels: number };

export class LlamaForSequenceClassification extends PreTrainedModel<SequenceClassifierConfig> {
  /** The causal LM class whose config and decoder this classifier shares. */
  static family: DecoderFamily = LlamaForCausalLM;

  constructor(config: ConfigJson) {
    const family = (new.target as unknown as { family: DecoderFamily }).family;
    const parsed = family.parseConfig(config);
    super({ ...parsed, num_labels: numLabels(config) });
    const spec = family.decoderSpec(parsed);
    this.registerModule('model', new LlamaModel(this.config, spec));
    this.registerModule('score', new Linear(spec.hiddenSize, this.config.num_labels, { bias: false }));
    initWeights(this, initializerRange(this.config));
  }

  get architecture(): string {
    return 'LlamaForSequenceClassification';
  }

  override ignoredCheckpointKeys(): RegExp[] {
    return [/\.rotary_emb\.inv_freq$/];
  }

  /** Position of each row's last token that is not pad_token_id (int64 [B]). */
  #lastTokens(ids: Tensor): Tensor {
    const pad = this.config.pad_token_id as number | null;
    const [batch, length] = ids.shape;
    if (pad === null) {
      if (batch !== 1) throw new TorchError(`${this.architecture}: cannot handle batch sizes > 1 if no padding token is defined (config.pad_token_id is null)`);
      return arange(length - 1, length, 1, { device: ids.device });
    }
    return arange(0, length, 1, { device: ids.device }).mul(ids.ne(pad).long()).argmax(-1);
  }

  /** logits (B, num_labels) at each row's last non-padding token; loss when labels are given. */
  forward(inputs: ModelInputs): ModelOutput {
    return scope(() => {
      const hidden = this.child<LlamaModel>('model').forward(inputs);
      const all = this.child<TensorModule>('score').forward(hidden); // (B, S, labels)
      const [batch, , labels] = all.shape;
      const last = this.#lastTokens(inputs.input_ids as Tensor);
      const logits = all.gather(1, last.view(batch, 1, 1).expand(batch, 1, labels)).squeeze(1);
      const out: ModelOutput = { logits };
      if (inputs.labels) out.loss = classificationLoss(logits, inputs.labels, this.config.num_labels);
      return out;
    });
  }
}

export class Qwen2ForSequenceClassification extends LlamaForSequenceClassification {
  static override family: DecoderFamily = Qwen2ForCausalLM;
  override get architecture(): string {
    return 'Qwen2ForSequenceClassification';
  }
}

export class MistralForSequenceClassification extends LlamaForSequenceClassification {
  static override family: DecoderFamily = MistralForCausalLM;
  override get architecture(): string {
    return 'MistralForSequenceClassification';
  }
}

export class Qwen3ForSequenceClassification extends LlamaForSequenceClassification {
  static override family: DecoderFamily = Qwen3ForCausalLM;
  override get architecture(): string {
    return 'Qwen3ForSequenceClassification';
  }
}

export class Gemma2ForSequenceClassification extends LlamaForSequenceClassification {
  static override family: DecoderFamily = Gemma2ForCausalLM;
  override get architecture(): string {
    return 'Gemma2ForSequenceClassification';
  }
}

/** transformers' text-only Gemma 3 classifier (Gemma3ForSequenceClassification is the multimodal one). */
export class Gemma3TextForSequenceClassification extends LlamaForSequenceClassification {
  static override family: DecoderFamily = Gemma3ForCausalLM;
  override get architecture(): string {
    return 'Gemma3TextForSequenceClassification';
  }
}

export class Phi3ForSequenceClassification extends LlamaForSequenceClassification {
  static override family: DecoderFamily = Phi3ForCausalLM;
  override get architecture(): string {
    return 'Phi3ForSequenceClassification';
  }
}
