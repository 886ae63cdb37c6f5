// The Llama-style decoder and LlamaForCausalLM / Qwen2ForCausalLM, with Hugging Face's module names:
// model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj, model.layers.N.mlp.{gate,up,down}_proj,
// model.layers.N.{input,post_attention}_layernorm, model.norm, lm_head. A DecoderSpec (decoder-spec.ts) turns on
// what the other families add: sliding-window layers, q/k norms, Gemma's norms and scaled embeddings, soft-capping,
// partial rotary, and Phi-3's fused qkv_proj / gate_up_proj.
import { ModuleList } from '../nn/containers.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { full } from '../tensor/creation.js';
import { applyRotary, dropout } from '../tensor/functional.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Activation, activation } from './activations.js';
import { attend } from './attention.js';
import { type CausalLMInputs, type ModelInputs, type ModelOutput, PreTrainedModel, type TensorModule } from './base.js';
import { causalLmOutput, causalMask, decoderStep, positionIds } from './causal-lm.js';
import { type ConfigJson, type LlamaConfig, llamaConfig, qwen2Config } from './config.js';
import { LAYER_TYPES, type LayerType } from './decoder-configs.js';
import { decoderNorm } from './decoder-norms.js';
import { type DecoderConfig, type DecoderSpec, llamaSpec } from './decoder-spec.js';
import { initializerRange, initWeights } from './init-weights.js';
import type { KVCache } from './kv-cache.js';
import { RotaryEmbedding } from './rope.js';

/** What every decoder layer of one forward call shares, per layer type where the types differ. */
interface DecoderContext {
  rotary: Partial<Record<LayerType, [Tensor, Tensor]>>;
  masks: Partial<Record<LayerType, Tensor | null>>;
  cache: KVCache | null;
}

/** Rotary embeddings on the first `dims` features of each head (all of them unless partial). */
function rotate(x: Tensor, [cos, sin]: [Tensor, Tensor], dims: number): Tensor {
  if (dims === x.shape[3]) return applyRotary(x, cos, sin);
  return cat([applyRotary(x.slice(3, 0, dims), cos, sin), x.slice(3, dims)], 3);
}

export class LlamaAttention extends Module {
  readonly layerIdx: number;
  readonly layerType: LayerType;
  readonly #spec: DecoderSpec;

  constructor(spec: DecoderSpec, layerIdx: number) {
    super();
    this.layerIdx = layerIdx;
    this.layerType = spec.layerTypes[layerIdx];
    this.#spec = spec;
    const { hiddenSize: h, heads, kvHeads, headDim: d, qkvBias } = spec;
    if (spec.fusedProjections) {
      this.registerModule('o_proj', new Linear(heads * d, h, { bias: spec.oBias }));
      this.registerModule('qkv_proj', new Linear(h, (heads + 2 * kvHeads) * d, { bias: qkvBias }));
    } else {
      this.registerModule('q_proj', new Linear(h, heads * d, { bias: qkvBias }));
      this.registerModule('k_proj', new Linear(h, kvHeads * d, { bias: qkvBias }));
      this.registerModule('v_proj', new Linear(h, kvHeads * d, { bias: qkvBias }));
      this.registerModule('o_proj', new Linear(heads * d, h, { bias: spec.oBias }));
    }
    if (spec.qkNorm) {
      this.registerModule('q_norm', decoderNorm(spec.norm, d, spec.eps));
      this.registerModule('k_norm', decoderNorm(spec.norm, d, spec.eps));
    }
  }

  /** q, k, v as (B, S, heads, headDim), from three projections or slices of the fused one. */
  #project(x: Tensor): [Tensor, Tensor, Tensor] {
    const { heads, kvHeads, headDim: d } = this.#spec;
    const [b, s] = x.shape;
    if (!this.#spec.fusedProjections) {
      const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((name) => this.child<TensorModule>(name).forward(x));
      return [q.view(b, s, heads, d), k.view(b, s, kvHeads, d), v.view(b, s, kvHeads, d)];
    }
    const qkv = this.child<TensorModule>('qkv_proj').forward(x);
    const [q, k, v] = qkv.split([heads * d, kvHeads * d, kvHeads * d], -1);
    return [q.reshape(b, s, heads, d), k.reshape(b, s, kvHeads, d), v.reshape(b, s, kvHeads, d)];
  }

  forward(x: Tensor, ctx: DecoderContext): Tensor {
    return scope(() => {
      const spec = this.#spec;
      const [b, s] = x.shape;
      let [q, k, v] = this.#project(x);
      if (spec.qkNorm) [q, k] = [this.child<TensorModule>('q_norm').forward(q), this.child<TensorModule>('k_norm').forward(k)];
      const rotary = ctx.rotary[this.layerType] as [Tensor, Tensor];
      q = rotate(q.transpose(1, 2), rotary, spec.rotaryDims); // (B, nh, S, hd)
      k = rotate(k.transpose(1, 2), rotary, spec.rotaryDims);
      v = v.transpose(1, 2);
      const [keys, values] = ctx.cache ? ctx.cache.update(this.layerIdx, k, v) : [k, v];
      const out = attend(q, keys, values, {
        mask: ctx.masks[this.layerType] ?? null, causal: true, scale: spec.attentionScale, dropout: spec.attentionDropout,
        training: this.training, softcap: spec.attentionSoftcap,
      });
      return this.child<TensorModule>('o_proj').forward(out.transpose(1, 2).reshape(b, s, spec.heads * spec.headDim));
    });
  }
}

export class LlamaMLP extends Module {
  readonly #act: Activation;
  readonly #fused: boolean;

  constructor(spec: DecoderSpec) {
    super();
    this.#act = activation(spec.activation);
    this.#fused = spec.fusedProjections;
    const [h, i, bias] = [spec.hiddenSize, spec.intermediateSize, spec.mlpBias];
    if (this.#fused) {
      this.registerModule('gate_up_proj', new Linear(h, 2 * i, { bias }));
    } else {
      this.registerModule('gate_proj', new Linear(h, i, { bias }));
      this.registerModule('up_proj', new Linear(h, i, { bias }));
    }
    this.registerModule('down_proj', new Linear(i, h, { bias }));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const [gate, up] = this.#fused
        ? this.child<TensorModule>('gate_up_proj').forward(x).chunk(2, -1)
        : [this.child<TensorModule>('gate_proj').forward(x), this.child<TensorModule>('up_proj').forward(x)];
      return this.child<TensorModule>('down_proj').forward(this.#act(gate).mul(up));
    });
  }
}

export class LlamaDecoderLayer extends Module {
  readonly #spec: DecoderSpec;

  constructor(spec: DecoderSpec, layerIdx: number) {
    super();
    this.#spec = spec;
    this.registerModule('self_attn', new LlamaAttention(spec, layerIdx));
    this.registerModule('mlp', new LlamaMLP(spec));
    const norms = spec.sandwichNorms
      ? ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm']
      : ['input_layernorm', 'post_attention_layernorm'];
    for (const name of norms) this.registerModule(name, decoderNorm(spec.norm, spec.hiddenSize, spec.eps));
  }

  #residual(x: Tensor): Tensor {
    const p = this.#spec.residualDropout;
    return p > 0 && this.training ? dropout(x, p, true) : x;
  }

  forward(x: Tensor, ctx: DecoderContext): Tensor {
    return scope(() => {
      const norm = (name: string, t: Tensor): Tensor => this.child<TensorModule>(name).forward(t);
      const mlp = this.child<TensorModule>('mlp');
      let attended = this.child<LlamaAttention>('self_attn').forward(norm('input_layernorm', x), ctx);
      if (this.#spec.sandwichNorms) attended = norm('post_attention_layernorm', attended);
      const h = x.add(this.#residual(attended));
      const fed = this.#spec.sandwichNorms
        ? norm('post_feedforward_layernorm', mlp.forward(norm('pre_feedforward_layernorm', h)))
        : mlp.forward(norm('post_attention_layernorm', h));
      return h.add(this.#residual(fed));
    });
  }
}

export class LlamaModel extends Module {
  readonly spec: DecoderSpec;
  readonly rotary: Partial<Record<LayerType, RotaryEmbedding>> = {};
  readonly #architecture: string;

  constructor(config: DecoderConfig, spec: DecoderSpec = llamaSpec(config as LlamaConfig)) {
    super();
    this.spec = spec;
    this.#architecture = config.architectures[0];
    this.registerModule('embed_tokens', new Embedding(spec.vocabSize, spec.hiddenSize, { paddingIdx: spec.padTokenId }));
    this.registerModule('layers', new ModuleList(spec.layerTypes.map((_, i) => new LlamaDecoderLayer(spec, i))));
    this.registerModule('norm', decoderNorm(spec.norm, spec.hiddenSize, spec.eps));
    for (const type of LAYER_TYPES) {
      if (!spec.layerTypes.includes(type)) continue;
      const shared = type === 'sliding_attention' && spec.rope.sliding_attention === spec.rope.full_attention ? this.rotary.full_attention : undefined;
      this.rotary[type] = shared ?? new RotaryEmbedding({ headDim: spec.rotaryDims, maxPositionEmbeddings: spec.maxPositions, rope: spec.rope[type] });
    }
  }

  /** The final hidden states (B, S, hidden). */
  forward(inputs: ModelInputs): Tensor {
    const step = decoderStep(inputs, this.#architecture);
    return scope(() => {
      let hidden = this.child<TensorModule>('embed_tokens').forward(step.ids);
      // Gemma: × sqrt(hidden_size), the factor rounded to the weights' dtype first (as transformers' embed_scale buffer)
      if (this.spec.scaleEmbeddings) hidden = hidden.mul(full([], Math.sqrt(this.spec.hiddenSize), { dtype: 'float32' }).to(hidden.dtype));
      const positions = positionIds(inputs, step);
      const ctx: DecoderContext = { rotary: {}, masks: {}, cache: step.cache };
      for (const type of LAYER_TYPES) {
        const rotary = this.rotary[type];
        if (!rotary) continue;
        const shared = type === 'sliding_attention' && rotary === this.rotary.full_attention;
        ctx.rotary[type] = shared ? ctx.rotary.full_attention : rotary.cosSin(positions, hidden.dtype);
        const window = type === 'sliding_attention' ? this.spec.slidingWindow : null;
        ctx.masks[type] = causalMask(inputs, step, hidden.dtype, window);
      }
      for (const layer of this.child<ModuleList>('layers')) hidden = (layer as LlamaDecoderLayer).forward(hidden, ctx);
      return this.child<TensorModule>('norm').forward(hidden);
    });
  }
}

/** What makes a decoder class one family: its transformers class name, config reader and DecoderSpec. */
export interface DecoderFamily {
  architecture: string;
  /** config.json fields → a full config (transformers' defaults for what is missing). */
  parseConfig(json: ConfigJson): DecoderConfig;
  decoderSpec(config: DecoderConfig): DecoderSpec;
}

export class LlamaForCausalLM extends PreTrainedModel<DecoderConfig> {
  static readonly family: DecoderFamily = { architecture: 'LlamaForCausalLM', parseConfig: llamaConfig, decoderSpec: llamaSpec };

  /** config: config.json fields (a parsed config works too); transformers' defaults fill the rest. */
  constructor(config: ConfigJson) {
    const { family } = new.target as unknown as { family: DecoderFamily };
    const parsed = family.parseConfig(config);
    super(parsed);
    const spec = family.decoderSpec(parsed);
    this.registerModule('model', new LlamaModel(this.config, spec));
    this.registerModule('lm_head', new Linear(spec.hiddenSize, spec.vocabSize, { bias: false }));
    initWeights(this, initializerRange(this.config));
    this.tieWeights();
  }

  get architecture(): string {
    return (this.constructor as typeof LlamaForCausalLM).family.architecture;
  }

  override ignoredCheckpointKeys(): RegExp[] {
    return [/\.rotary_emb\.inv_freq$/];
  }

  override tiedParameters(): [string, string][] {
    return this.config.tie_word_embeddings ? [['lm_head.weight', 'model.embed_tokens.weight']] : [];
  }

  forward(inputs: CausalLMInputs): ModelOutput {
    const model = this.child<LlamaModel>('model');
    return scope(() => causalLmOutput(model.forward(inputs), this.child<TensorModule>('lm_head'), inputs, { softcap: model.spec.finalSoftcap }));
  }
}

export class Qwen2ForCausalLM extends LlamaForCausalLM {
  static override readonly family: DecoderFamily = { architecture: 'Qwen2ForCausalLM', parseConfig: qwen2Config, decoderSpec: llamaSpec };
}
