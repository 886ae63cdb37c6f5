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
import type { DecoderConfig } from './decoder-spec.js';
import { initializerRange, initWeights } from './init-weights.js';
import { type DecoderFamily, LlamaForCausalLM, LlamaModel, Qwen2ForCausalLM } from './llama.js';
import { classificationLoss } from './losses.js';

export type SequenceClassifierConfig = DecoderConfig & { num_labels: number };

/** A classifier's class name and the causal LM family whose config and decoder it shares. */
export interface ClassifierFamily {
  architecture: string;
  decoder: DecoderFamily;
}

const classifierOf = (architecture: string, causal: { family: DecoderFamily }): ClassifierFamily => ({ architecture, decoder: causal.family });

export class LlamaForSequenceClassification extends PreTrainedModel<SequenceClassifierConfig> {
  static readonly family: ClassifierFamily = classifierOf('LlamaForSequenceClassification', LlamaForCausalLM);

  constructor(config: ConfigJson) {
    const { decoder } = (new.target as unknown as { family: ClassifierFamily }).family;
    const parsed = decoder.parseConfig(config);
    super({ ...parsed, num_labels: numLabels(config) });
    const spec = decoder.decoderSpec(parsed);
    this.registerModule('model', new LlamaModel(this.config, spec));
    this.registerModule('score', new Linear(spec.hiddenSize, this.config.num_labels, { bias: false }));
    initWeights(this, initializerRange(this.config));
  }

  get architecture(): string {
    return (this.constructor as typeof LlamaForSequenceClassification).family.architecture;
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
  static override readonly family = classifierOf('Qwen2ForSequenceClassification', Qwen2ForCausalLM);
}

export class MistralForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family = classifierOf('MistralForSequenceClassification', MistralForCausalLM);
}

export class Qwen3ForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family = classifierOf('Qwen3ForSequenceClassification', Qwen3ForCausalLM);
}

export class Gemma2ForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family = classifierOf('Gemma2ForSequenceClassification', Gemma2ForCausalLM);
}

/** transformers' text-only Gemma 3 classifier (Gemma3ForSequenceClassification is the multimodal one). */
export class Gemma3TextForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family = classifierOf('Gemma3TextForSequenceClassification', Gemma3ForCausalLM);
}

export class Phi3ForSequenceClassification extends LlamaForSequenceClassification {
  static override readonly family = classifierOf('Phi3ForSequenceClassification', Phi3ForCausalLM);
}
