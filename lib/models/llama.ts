// LlamaForCausalLM and Qwen2ForCausalLM (the same decoder; Qwen2 adds q/k/v biases), with Hugging Face's
// module names: model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj, model.layers.N.mlp.{gate,up,down}_proj,
// model.layers.N.{input,post_attention}_layernorm, model.norm, lm_head.
import { ModuleList } from '../nn/containers.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/normalization.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Activation, activation } from './activations.js';
import { attend } from './attention.js';
import { type CausalLMInputs, type ModelInputs, type ModelOutput, PreTrainedModel, type TensorModule } from './base.js';
import { causalLmOutput, causalMask, decoderStep, positionIds } from './causal-lm.js';
import { type ConfigJson, type LlamaConfig, llamaConfig, qwen2Config } from './config.js';
import { initializerRange, initWeights } from './init-weights.js';
import type { KVCache } from './kv-cache.js';
import { applyRotary } from '../tensor/functional.js';
import { RotaryEmbedding } from './rope.js';

/** What every decoder layer of one forward call shares. */
interface DecoderContext {
  cos: Tensor;
  sin: Tensor;
  mask: Tensor | null;
  cache: KVCache | null;
}

export class LlamaAttention extends Module {
  readonly layerIdx: number;
  readonly #heads: number;
  readonly #kvHeads: number;
  readonly #headDim: number;
  readonly #dropout: number;

  constructor(config: LlamaConfig, layerIdx: number) {
    super();
    this.layerIdx = layerIdx;
    this.#heads = config.num_attention_heads;
    this.#kvHeads = config.num_key_value_heads;
    this.#headDim = config.head_dim;
    this.#dropout = typeof config.attention_dropout === 'number' ? config.attention_dropout : 0;
    const qkvBias = config.model_type === 'qwen2' || config.attention_bias;
    const h = config.hidden_size;
    this.registerModule('q_proj', new Linear(h, this.#heads * this.#headDim, { bias: qkvBias }));
    this.registerModule('k_proj', new Linear(h, this.#kvHeads * this.#headDim, { bias: qkvBias }));
    this.registerModule('v_proj', new Linear(h, this.#kvHeads * this.#headDim, { bias: qkvBias }));
    this.registerModule('o_proj', new Linear(this.#heads * this.#headDim, h, { bias: config.attention_bias }));
  }

  forward(x: Tensor, ctx: DecoderContext): Tensor {
    return scope(() => {
      const [b, s] = x.shape;
      const project = (name: string, heads: number): Tensor =>
        this.child<TensorModule>(name).forward(x).view(b, s, heads, this.#headDim).transpose(1, 2); // (B, nh, S, hd)
      const q = applyRotary(project('q_proj', this.#heads), ctx.cos, ctx.sin);
      const k = applyRotary(project('k_proj', this.#kvHeads), ctx.cos, ctx.sin);
      const v = project('v_proj', this.#kvHeads);
      const [keys, values] = ctx.cache ? ctx.cache.update(this.layerIdx, k, v) : [k, v];
      const out = attend(q, keys, values, {
        mask: ctx.mask, causal: true, scale: this.#headDim ** -0.5, dropout: this.#dropout, training: this.training,
      });
      return this.child<TensorModule>('o_proj').forward(out.transpose(1, 2).reshape(b, s, this.#heads * this.#headDim));
    });
  }
}

export class LlamaMLP extends Module {
  readonly #act: Activation;

  constructor(config: LlamaConfig) {
    super();
    this.#act = activation(config.hidden_act);
    const [h, i, bias] = [config.hidden_size, config.intermediate_size, config.mlp_bias];
    this.registerModule('gate_proj', new Linear(h, i, { bias }));
    this.registerModule('up_proj', new Linear(h, i, { bias }));
    this.registerModule('down_proj', new Linear(i, h, { bias }));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const gate = this.#act(this.child<TensorModule>('gate_proj').forward(x));
      return this.child<TensorModule>('down_proj').forward(gate.mul(this.child<TensorModule>('up_proj').forward(x)));
    });
  }
}

export class LlamaDecoderLayer extends Module {
  constructor(config: LlamaConfig, layerIdx: number) {
    super();
    this.registerModule('self_attn', new LlamaAttention(config, layerIdx));
    this.registerModule('mlp', new LlamaMLP(config));
    this.registerModule('input_layernorm', new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps }));
    this.registerModule('post_attention_layernorm', new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps }));
  }

  forward(x: Tensor, ctx: DecoderContext): Tensor {
    return scope(() => {
      const attended = this.child<LlamaAttention>('self_attn').forward(this.child<TensorModule>('input_layernorm').forward(x), ctx);
      const h = x.add(attended);
      return h.add(this.child<TensorModule>('mlp').forward(this.child<TensorModule>('post_attention_layernorm').forward(h)));
    });
  }
}

export class LlamaModel extends Module {
  readonly rotary: RotaryEmbedding;
  readonly #config: LlamaConfig;

  constructor(config: LlamaConfig) {
    super();
    this.#config = config;
    this.registerModule('embed_tokens', new Embedding(config.vocab_size, config.hidden_size, { paddingIdx: config.pad_token_id }));
    this.registerModule('layers', new ModuleList(Array.from({ length: config.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(config, i))));
    this.registerModule('norm', new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps }));
    this.rotary = new RotaryEmbedding({
      headDim: config.head_dim, maxPositionEmbeddings: config.max_position_embeddings, rope: config.rope_parameters,
    });
  }

  /** The final hidden states (B, S, hidden). */
  forward(inputs: ModelInputs): Tensor {
    const step = decoderStep(inputs, this.#config.architectures[0]);
    return scope(() => {
      let hidden = this.child<TensorModule>('embed_tokens').forward(step.ids);
      const [cos, sin] = this.rotary.cosSin(positionIds(inputs, step), hidden.dtype);
      const ctx: DecoderContext = { cos, sin, mask: causalMask(inputs, step, hidden.dtype), cache: step.cache };
      for (const layer of this.child<ModuleList>('layers')) hidden = (layer as LlamaDecoderLayer).forward(hidden, ctx);
      return this.child<TensorModule>('norm').forward(hidden);
    });
  }
}

export class LlamaForCausalLM extends PreTrainedModel<LlamaConfig> {
  /** config: config.json fields (a parsed config works too); transformers' defaults fill the rest. */
  constructor(config: ConfigJson) {
    super((new.target as typeof LlamaForCausalLM).parseConfig(config));
    this.registerModule('model', new LlamaModel(this.config));
    this.registerModule('lm_head', new Linear(this.config.hidden_size, this.config.vocab_size, { bias: false }));
    initWeights(this, initializerRange(this.config));
    this.tieWeights();
  }

  /** config.json fields → a full config (transformers' defaults for what is missing). */
  static parseConfig(json: ConfigJson): LlamaConfig {
    return llamaConfig(json);
  }

  get architecture(): string {
    return 'LlamaForCausalLM';
  }

  override ignoredCheckpointKeys(): RegExp[] {
    return [/\.rotary_emb\.inv_freq$/];
  }

  override tiedParameters(): [string, string][] {
    return this.config.tie_word_embeddings ? [['lm_head.weight', 'model.embed_tokens.weight']] : [];
  }

  forward(inputs: CausalLMInputs): ModelOutput {
    return scope(() => causalLmOutput(this.child<LlamaModel>('model').forward(inputs), this.child<TensorModule>('lm_head'), inputs));
  }
}

export class Qwen2ForCausalLM extends LlamaForCausalLM {
  static override parseConfig(json: ConfigJson): LlamaConfig {
    return qwen2Config(json);
  }

  override get architecture(): string {
    return 'Qwen2ForCausalLM';
  }
}
