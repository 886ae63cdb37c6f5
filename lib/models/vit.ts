// ViTForImageClassification with transformers 5's in-memory names: vit.embeddings.{cls_token,position_embeddings}
// (bare parameters), vit.embeddings.patch_embeddings.projection (Conv2d), vit.layers.N.attention.{q,k,v,o}_proj,
// vit.layers.N.{layernorm_before,layernorm_after}, vit.layers.N.mlp.{fc1,fc2}, vit.layernorm, classifier.
// Checkpoints load in either era's names and are written in the on-disk (legacy) names, as transformers 5 does.
import { TorchError } from '../errors.js';
import { Conv2d } from '../nn/conv.js';
import { ModuleList } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { normal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/normalization.js';
import { emptyParameter, Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import { cat } from '../tensor/ops-shape.js';
import { interpolate } from '../tensor/functional.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Activation, activation } from './activations.js';
import { attend } from './attention.js';
import { type ModelInputs, type ModelOutput, PreTrainedModel, type TensorModule } from './base.js';
import { type ConfigJson, type ViTConfig, vitConfig } from './config.js';
import { initializerRange, initWeights } from './init-weights.js';
import { classificationLoss } from './losses.js';
import { vitNameToCurrent, vitNameToLegacy } from './vit-names.js';

/**
 * Position embeddings (1, 1 + g·g, D) resampled for an image of height × width: the class row kept, the
 * g × g patch grid resized bicubically (align_corners=false), as transformers' interpolate_pos_encoding.
 */
export function interpolatePositionEmbeddings(positions: Tensor, height: number, width: number, patchSize: number): Tensor {
  const numPositions = positions.shape[1] - 1;
  const grid = Math.round(Math.sqrt(numPositions));
  if (grid * grid !== numPositions) throw new TorchError(`position_embeddings: expected 1 + a square number of rows, got ${positions.shape[1]}`);
  const [newHeight, newWidth] = [Math.floor(height / patchSize), Math.floor(width / patchSize)];
  return scope(() => {
    const dim = positions.shape[2];
    const patchRows = positions.slice(1, 1).reshape(1, grid, grid, dim).permute(0, 3, 1, 2); // (1, D, g, g)
    const resized = interpolate(patchRows, { size: [newHeight, newWidth], mode: 'bicubic', alignCorners: false });
    return cat([positions.slice(1, 0, 1), resized.permute(0, 2, 3, 1).reshape(1, newHeight * newWidth, dim)], 1);
  });
}

export class ViTPatchEmbeddings extends Module {
  readonly numChannels: number;

  constructor(config: ViTConfig) {
    super();
    this.numChannels = config.num_channels;
    this.registerModule('projection', new Conv2d(config.num_channels, config.hidden_size, config.patch_size, { stride: config.patch_size }));
  }

  /** (B, C, H, W) → (B, patches, D). */
  forward(pixels: Tensor): Tensor {
    if (pixels.ndim !== 4 || pixels.shape[1] !== this.numChannels) {
      throw new TorchError(`pixel_values: expected [batch, ${this.numChannels}, height, width], got [${pixels.shape.join(', ')}]`);
    }
    return scope(() => this.child<TensorModule>('projection').forward(pixels).flatten(2).transpose(1, 2));
  }
}

export class ViTEmbeddings extends Module {
  readonly #config: ViTConfig;

  constructor(config: ViTConfig) {
    super();
    this.#config = config;
    const patches = (Math.floor(config.image_size / config.patch_size)) ** 2;
    this.registerParameter('cls_token', emptyParameter([1, 1, config.hidden_size]));
    this.registerModule('patch_embeddings', new ViTPatchEmbeddings(config));
    this.registerParameter('position_embeddings', emptyParameter([1, patches + 1, config.hidden_size]));
    this.registerModule('dropout', new Dropout(config.hidden_dropout_prob));
  }

  forward(pixels: Tensor, interpolatePositions: boolean): Tensor {
    const [batch, , height, width] = pixels.shape;
    const size = this.#config.image_size;
    if (!interpolatePositions && (height !== size || width !== size)) {
      throw new TorchError(`pixel_values: input image size (${height}*${width}) doesn't match model (${size}*${size}); pass interpolate_pos_encoding: true or resize the model with resizeImageSize()`);
    }
    return scope(() => {
      const patches = this.child<ViTPatchEmbeddings>('patch_embeddings').forward(pixels);
      const tokens = cat([this.param('cls_token').expand(batch, -1, -1), patches], 1); // (B, 1 + patches, D)
      const stored = this.param('position_embeddings');
      const squareMatch = stored.shape[1] === tokens.shape[1] && height === width;
      const positions = interpolatePositions && !squareMatch
        ? interpolatePositionEmbeddings(stored, height, width, this.#config.patch_size)
        : stored;
      return this.child<TensorModule>('dropout').forward(tokens.add(positions));
    });
  }
}

export class ViTAttention extends Module {
  readonly #heads: number;
  readonly #headDim: number;
  readonly #dropout: number;

  constructor(config: ViTConfig) {
    super();
    this.#heads = config.num_attention_heads;
    this.#headDim = config.hidden_size / config.num_attention_heads;
    this.#dropout = config.attention_probs_dropout_prob;
    const h = config.hidden_size;
    for (const name of ['q_proj', 'k_proj', 'v_proj']) this.registerModule(name, new Linear(h, h, { bias: config.qkv_bias }));
    this.registerModule('o_proj', new Linear(h, h));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const [b, s, h] = x.shape;
      const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((name) =>
        this.child<TensorModule>(name).forward(x).view(b, s, this.#heads, this.#headDim).transpose(1, 2)); // (B, nh, S, hd)
      const out = attend(q, k, v, { mask: null, scale: this.#headDim ** -0.5, dropout: this.#dropout, training: this.training });
      return this.child<TensorModule>('o_proj').forward(out.transpose(1, 2).reshape(b, s, h));
    });
  }
}

export class ViTMLP extends Module {
  readonly #act: Activation;

  constructor(config: ViTConfig) {
    super();
    this.#act = activation(config.hidden_act);
    this.registerModule('fc1', new Linear(config.hidden_size, config.intermediate_size));
    this.registerModule('fc2', new Linear(config.intermediate_size, config.hidden_size));
  }

  forward(x: Tensor): Tensor {
    return scope(() => this.child<TensorModule>('fc2').forward(this.#act(this.child<TensorModule>('fc1').forward(x))));
  }
}

export class ViTLayer extends Module {
  constructor(config: ViTConfig) {
    super();
    this.registerModule('attention', new ViTAttention(config));
    this.registerModule('layernorm_before', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps }));
    this.registerModule('layernorm_after', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps }));
    this.registerModule('mlp', new ViTMLP(config));
    this.registerModule('dropout', new Dropout(config.hidden_dropout_prob));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const drop = this.child<TensorModule>('dropout');
      const attended = this.child<TensorModule>('attention').forward(this.child<TensorModule>('layernorm_before').forward(x));
      const h = drop.forward(attended).add(x);
      return drop.forward(this.child<TensorModule>('mlp').forward(this.child<TensorModule>('layernorm_after').forward(h))).add(h);
    });
  }
}

export class ViTModel extends Module {
  constructor(config: ViTConfig) {
    super();
    this.registerModule('embeddings', new ViTEmbeddings(config));
    this.registerModule('layers', new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new ViTLayer(config))));
    this.registerModule('layernorm', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps }));
  }

  /** The normalised hidden states (B, 1 + patches, D). */
  forward(pixels: Tensor, interpolatePositions = false): Tensor {
    return scope(() => {
      let h = this.child<ViTEmbeddings>('embeddings').forward(pixels, interpolatePositions);
      for (const layer of this.child<ModuleList>('layers')) h = (layer as ViTLayer).forward(h);
      return this.child<TensorModule>('layernorm').forward(h);
    });
  }
}

export class ViTForImageClassification extends PreTrainedModel<ViTConfig> {
  constructor(config: ConfigJson) {
    super(vitConfig(config));
    const c = this.config;
    this.registerModule('vit', new ViTModel(c));
    this.registerModule('classifier', new Linear(c.hidden_size, c.num_labels));
    const std = initializerRange(c);
    initWeights(this, std);
    for (const name of ['vit.embeddings.cls_token', 'vit.embeddings.position_embeddings']) normal_(this.getParameter(name), 0, std);
  }

  get architecture(): string {
    return 'ViTForImageClassification';
  }

  override checkpointKeyToModel(key: string): string {
    return vitNameToCurrent(key);
  }

  override modelKeyToCheckpoint(key: string): string {
    return vitNameToLegacy(key);
  }

  forward(inputs: ModelInputs): ModelOutput {
    const pixels = inputs.pixel_values;
    if (!pixels) throw new TorchError('ViTForImageClassification: pixel_values is required (a float tensor [batch, channels, height, width])');
    return scope(() => {
      const input = pixels.dtype === this.dtype ? pixels : pixels.to(this.dtype);
      const hidden = this.child<ViTModel>('vit').forward(input, inputs.interpolate_pos_encoding ?? false);
      const logits = this.child<TensorModule>('classifier').forward(hidden.select(1, 0)); // (B, labels)
      const out: ModelOutput = { logits };
      if (inputs.labels) out.loss = classificationLoss(logits, inputs.labels, this.config.num_labels);
      return out;
    });
  }

  /**
   * Makes the model take imageSize × imageSize images: the position embeddings are resampled to the new patch grid
   * (a new parameter replaces the old one, which is freed) and config.image_size is updated; an image processor
   * passed along gets the same size (ImageProcessor.setImageSize), so both can be saved together.
   */
  resizeImageSize(imageSize: number, options: { processor?: { setImageSize(side: number): void } } = {}): void {
    if (!Number.isInteger(imageSize) || imageSize < this.config.patch_size) {
      throw new TorchError(`resizeImageSize: imageSize must be an integer >= patch_size (${this.config.patch_size}), got ${imageSize}`);
    }
    const path = 'vit.embeddings.position_embeddings';
    const old = this.getParameter(path);
    const resized = noGrad(() => interpolatePositionEmbeddings(old, imageSize, imageSize, this.config.patch_size));
    this.replaceParameter(path, new Parameter(resized, old.requiresGrad));
    resized.dispose();
    old.dispose();
    this.config.image_size = imageSize;
    options.processor?.setImageSize(imageSize);
  }
}
