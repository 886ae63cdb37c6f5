// GPT2LMHeadModel with Hugging Face's names: transformer.{wte,wpe}, transformer.h.N.{ln_1,attn.c_attn,attn.c_proj,
// ln_2,mlp.c_fc,mlp.c_proj}, transformer.ln_f, lm_head (tied to wte). Projections are Conv1D ([in, out] weights).
import { ModuleList } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/normalization.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Activation, activation } from './activations.js';
import { attend } from './attention.js';
import { type CausalLMInputs, type ModelInputs, type ModelOutput, PreTrainedModel, type TensorModule } from './base.js';
import { type ConfigJson, type GPT2Config, gpt2Config } from './config.js';
import { causalLmOutput, causalMask, decoderStep, positionIds } from './causal-lm.js';
import { Conv1D } from './conv1d.js';
import { initializerRange, initWeights } from './init-weights.js';
import type { KVCache } from './kv-cache.js';

interface BlockContext {
  mask: Tensor | null;
  cache: KVCache | null;
}

export class GPT2Attention extends Module {
  readonly layerIdx: number;
  readonly #heads: number;
  readonly #embed: number;
  readonly #scale: number;
  readonly #dropout: number;

  constructor(config: GPT2Config, layerIdx: number) {
    super();
    this.layerIdx = layerIdx;
    this.#heads = config.n_head;
    this.#embed = config.n_embd;
    const headDim = config.n_embd / config.n_head;
    let scale = config.scale_attn_weights ? headDim ** -0.5 : 1;
    if (config.scale_attn_by_inverse_layer_idx) scale /= layerIdx + 1;
    this.#scale = scale;
    this.#dropout = config.attn_pdrop;
    this.registerModule('c_attn', new Conv1D(3 * config.n_embd, config.n_embd));
    this.registerModule('c_proj', new Conv1D(config.n_embd, config.n_embd));
    this.registerModule('attn_dropout', new Dropout(config.attn_pdrop));
    this.registerModule('resid_dropout', new Dropout(config.resid_pdrop));
  }

  forward(x: Tensor, ctx: BlockContext): Tensor {
    return scope(() => {
      const [b, s] = x.shape;
      const headDim = this.#embed / this.#heads;
      const [q, k, v] = this.child<TensorModule>('c_attn').forward(x).split(this.#embed, 2)
        .map((t) => t.view(b, s, this.#heads, headDim).transpose(1, 2)); // (B, nh, S, hd)
      const [keys, values] = ctx.cache ? ctx.cache.update(this.layerIdx, k, v) : [k, v];
      const out = attend(q, keys, values, { mask: ctx.mask, causal: true, scale: this.#scale, dropout: this.#dropout, training: this.training });
      const projected = this.child<TensorModule>('c_proj').forward(out.transpose(1, 2).reshape(b, s, this.#embed));
      return this.child<TensorModule>('resid_dropout').forward(projected);
    });
  }
}

export class GPT2MLP extends Module {
  readonly #act: Activation;

  constructor(config: GPT2Config) {
    super();
    this.#act = activation(config.activation_function, 'activation_function');
    const inner = config.n_inner ?? 4 * config.n_embd;
    this.registerModule('c_fc', new Conv1D(inner, config.n_embd));
    this.registerModule('c_proj', new Conv1D(config.n_embd, inner));
    this.registerModule('dropout', new Dropout(config.resid_pdrop));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const h = this.child<TensorModule>('c_proj').forward(this.#act(this.child<TensorModule>('c_fc').forward(x)));
      return this.child<TensorModule>('dropout').forward(h);
    });
  }
}

export class GPT2Block extends Module {
  constructor(config: GPT2Config, layerIdx: number) {
    super();
    this.registerModule('ln_1', new LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon }));
    this.registerModule('attn', new GPT2Attention(config, layerIdx));
    this.registerModule('ln_2', new LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon }));
    this.registerModule('mlp', new GPT2MLP(config));
  }

  forward(x: Tensor, ctx: BlockContext): Tensor {
    return scope(() => {
      const h = x.add(this.child<GPT2Attention>('attn').forward(this.child<TensorModule>('ln_1').forward(x), ctx));
      return h.add(this.child<TensorModule>('mlp').forward(this.child<TensorModule>('ln_2').forward(h)));
    });
  }
}

export class GPT2Model extends Module {
  readonly #config: GPT2Config;

  constructor(config: GPT2Config) {
    super();
    this.#config = config;
    this.registerModule('wte', new Embedding(config.vocab_size, config.n_embd));
    this.registerModule('wpe', new Embedding(config.n_positions, config.n_embd));
    this.registerModule('drop', new Dropout(config.embd_pdrop));
    this.registerModule('h', new ModuleList(Array.from({ length: config.n_layer }, (_, i) => new GPT2Block(config, i))));
    this.registerModule('ln_f', new LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon }));
  }

  /** The final hidden states (B, S, n_embd). */
  forward(inputs: ModelInputs): Tensor {
    const step = decoderStep(inputs, 'GPT2LMHeadModel', { field: 'n_positions', value: this.#config.n_positions });
    return scope(() => {
      const wte = this.child<TensorModule>('wte');
      let hidden = wte.forward(step.ids).add(this.child<TensorModule>('wpe').forward(positionIds(inputs, step)));
      if (inputs.token_type_ids) hidden = hidden.add(wte.forward(inputs.token_type_ids));
      hidden = this.child<TensorModule>('drop').forward(hidden);
      const ctx: BlockContext = { mask: causalMask(inputs, step, hidden.dtype), cache: step.cache };
      for (const block of this.child<ModuleList>('h')) hidden = (block as GPT2Block).forward(hidden, ctx);
      return this.child<TensorModule>('ln_f').forward(hidden);
    });
  }
}

export class GPT2LMHeadModel extends PreTrainedModel<GPT2Config> {
  constructor(config: ConfigJson) {
    super(gpt2Config(config));
    this.registerModule('transformer', new GPT2Model(this.config));
    this.registerModule('lm_head', new Linear(this.config.n_embd, this.config.vocab_size, { bias: false }));
    initWeights(this, initializerRange(this.config));
    this.tieWeights();
  }

  get architecture(): string {
    return 'GPT2LMHeadModel';
  }

  override ignoredCheckpointKeys(): RegExp[] {
    return [/\.attn\.(masked_)?bias$/];
  }

  override tiedParameters(): [string, string][] {
    return this.config.tie_word_embeddings ? [['lm_head.weight', 'transformer.wte.weight']] : [];
  }

  forward(inputs: CausalLMInputs): ModelOutput {
    return scope(() => causalLmOutput(this.child<GPT2Model>('transformer').forward(inputs), this.child<TensorModule>('lm_head'), inputs));
  }
}
