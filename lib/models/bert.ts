// BertForSequenceClassification with Hugging Face's names: bert.embeddings.{word,position,token_type}_embeddings,
// bert.embeddings.LayerNorm, bert.encoder.layer.N.attention.self.{query,key,value}, ...attention.output.{dense,LayerNorm},
// ...intermediate.dense, ...output.{dense,LayerNorm}, bert.pooler.dense, classifier.
import { TorchError } from '../errors.js';
import { ModuleList } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/normalization.js';
import { arange, zeros } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Activation, activation } from './activations.js';
import { additiveMask, attend, checkAttentionMask } from './attention.js';
import { type ModelInputs, type ModelOutput, PreTrainedModel, type TensorModule } from './base.js';
import { type BertConfig, bertConfig, type ConfigJson } from './config.js';
import { initializerRange, initWeights } from './init-weights.js';
import { classificationLoss } from './losses.js';

export class BertEmbeddings extends Module {
  constructor(config: BertConfig) {
    super();
    this.registerModule('word_embeddings', new Embedding(config.vocab_size, config.hidden_size, { paddingIdx: config.pad_token_id }));
    this.registerModule('position_embeddings', new Embedding(config.max_position_embeddings, config.hidden_size));
    this.registerModule('token_type_embeddings', new Embedding(config.type_vocab_size, config.hidden_size));
    this.registerModule('LayerNorm', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps }));
    this.registerModule('dropout', new Dropout(config.hidden_dropout_prob));
  }

  forward(inputs: { ids: Tensor; tokenTypes: Tensor; positions: Tensor }): Tensor {
    return scope(() => {
      const words = this.child<TensorModule>('word_embeddings').forward(inputs.ids);
      const h = words.add(this.child<TensorModule>('token_type_embeddings').forward(inputs.tokenTypes))
        .add(this.child<TensorModule>('position_embeddings').forward(inputs.positions));
      return this.child<TensorModule>('dropout').forward(this.child<TensorModule>('LayerNorm').forward(h));
    });
  }
}

export class BertSelfAttention extends Module {
  readonly #heads: number;
  readonly #headDim: number;
  readonly #dropout: number;

  constructor(config: BertConfig) {
    super();
    this.#heads = config.num_attention_heads;
    this.#headDim = config.hidden_size / config.num_attention_heads;
    this.#dropout = config.attention_probs_dropout_prob;
    for (const name of ['query', 'key', 'value']) this.registerModule(name, new Linear(config.hidden_size, config.hidden_size));
    this.registerModule('dropout', new Dropout(config.attention_probs_dropout_prob));
  }

  forward(x: Tensor, mask: Tensor | null): Tensor {
    return scope(() => {
      const [b, s, h] = x.shape;
      const [q, k, v] = ['query', 'key', 'value'].map((name) =>
        this.child<TensorModule>(name).forward(x).view(b, s, this.#heads, this.#headDim).transpose(1, 2)); // (B, nh, S, hd)
      const out = attend(q, k, v, { mask, scale: this.#headDim ** -0.5, dropout: this.#dropout, training: this.training });
      return out.transpose(1, 2).reshape(b, s, h);
    });
  }
}

/** dense → dropout → LayerNorm(· + residual): BertSelfOutput and BertOutput. */
export class BertResidualOutput extends Module {
  constructor(config: BertConfig, inFeatures: number) {
    super();
    this.registerModule('dense', new Linear(inFeatures, config.hidden_size));
    this.registerModule('LayerNorm', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps }));
    this.registerModule('dropout', new Dropout(config.hidden_dropout_prob));
  }

  forward(x: Tensor, residual: Tensor): Tensor {
    return scope(() => {
      const h = this.child<TensorModule>('dropout').forward(this.child<TensorModule>('dense').forward(x));
      return this.child<TensorModule>('LayerNorm').forward(h.add(residual));
    });
  }
}

export class BertAttention extends Module {
  constructor(config: BertConfig) {
    super();
    this.registerModule('self', new BertSelfAttention(config));
    this.registerModule('output', new BertResidualOutput(config, config.hidden_size));
  }

  forward(x: Tensor, mask: Tensor | null): Tensor {
    return scope(() => this.child<BertResidualOutput>('output').forward(this.child<BertSelfAttention>('self').forward(x, mask), x));
  }
}

export class BertIntermediate extends Module {
  readonly #act: Activation;

  constructor(config: BertConfig) {
    super();
    this.#act = activation(config.hidden_act);
    this.registerModule('dense', new Linear(config.hidden_size, config.intermediate_size));
  }

  forward(x: Tensor): Tensor {
    return scope(() => this.#act(this.child<TensorModule>('dense').forward(x)));
  }
}

export class BertLayer extends Module {
  constructor(config: BertConfig) {
    super();
    this.registerModule('attention', new BertAttention(config));
    this.registerModule('intermediate', new BertIntermediate(config));
    this.registerModule('output', new BertResidualOutput(config, config.intermediate_size));
  }

  forward(x: Tensor, mask: Tensor | null): Tensor {
    return scope(() => {
      const attended = this.child<BertAttention>('attention').forward(x, mask);
      return this.child<BertResidualOutput>('output').forward(this.child<TensorModule>('intermediate').forward(attended), attended);
    });
  }
}

export class BertEncoder extends Module {
  constructor(config: BertConfig) {
    super();
    this.registerModule('layer', new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new BertLayer(config))));
  }

  forward(x: Tensor, mask: Tensor | null): Tensor {
    return scope(() => {
      let h = x;
      for (const layer of this.child<ModuleList>('layer')) h = (layer as BertLayer).forward(h, mask);
      return h;
    });
  }
}

export class BertPooler extends Module {
  constructor(config: BertConfig) {
    super();
    this.registerModule('dense', new Linear(config.hidden_size, config.hidden_size));
  }

  /** tanh(dense(first token)): (B, S, H) → (B, H). */
  forward(x: Tensor): Tensor {
    return scope(() => this.child<TensorModule>('dense').forward(x.select(1, 0)).tanh());
  }
}

export class BertModel extends Module {
  constructor(config: BertConfig) {
    super();
    this.registerModule('embeddings', new BertEmbeddings(config));
    this.registerModule('encoder', new BertEncoder(config));
    this.registerModule('pooler', new BertPooler(config));
  }

  /** [last hidden states (B, S, H), pooled output (B, H)]. */
  forward(inputs: ModelInputs): [Tensor, Tensor] {
    const ids = inputs.input_ids;
    if (!ids || ids.ndim !== 2) throw new TorchError(`BertForSequenceClassification: input_ids must be an int64 tensor [batch, sequence], got ${ids ? `shape [${ids.shape.join(', ')}]` : 'nothing'}`);
    const [b, s] = ids.shape;
    if (inputs.attention_mask) checkAttentionMask(inputs.attention_mask, b, s);
    return scope(() => {
      const positions = inputs.position_ids ?? arange(s, undefined, 1, { device: ids.device }).unsqueeze(0);
      const tokenTypes = inputs.token_type_ids ?? zeros([b, s], { dtype: 'int64', device: ids.device });
      const embedded = this.child<BertEmbeddings>('embeddings').forward({ ids, tokenTypes, positions });
      const mask = additiveMask({ queryLength: s, keyLength: s, causal: false, attentionMask: inputs.attention_mask, dtype: embedded.dtype });
      const hidden = this.child<BertEncoder>('encoder').forward(embedded, mask);
      return [hidden, this.child<TensorModule>('pooler').forward(hidden)] as [Tensor, Tensor];
    });
  }
}

export class BertForSequenceClassification extends PreTrainedModel<BertConfig> {
  constructor(config: ConfigJson) {
    super(bertConfig(config));
    const c = this.config;
    this.registerModule('bert', new BertModel(c));
    this.registerModule('dropout', new Dropout(c.classifier_dropout ?? c.hidden_dropout_prob));
    this.registerModule('classifier', new Linear(c.hidden_size, c.num_labels));
    initWeights(this, initializerRange(c));
  }

  get architecture(): string {
    return 'BertForSequenceClassification';
  }

  override ignoredCheckpointKeys(): RegExp[] {
    return [/embeddings\.position_ids$/];
  }

  forward(inputs: ModelInputs): ModelOutput {
    return scope(() => {
      const [, pooled] = this.child<BertModel>('bert').forward(inputs);
      const logits = this.child<TensorModule>('classifier').forward(this.child<TensorModule>('dropout').forward(pooled)); // (B, labels)
      const out: ModelOutput = { logits };
      if (inputs.labels) out.loss = classificationLoss(logits, inputs.labels, this.config.num_labels);
      return out;
    });
  }
}
