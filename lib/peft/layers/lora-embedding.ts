// LoRA on an Embedding (weight [num_embeddings, dim]). In memory, as PEFT: base_layer.weight,
// lora_embedding_A.<adapter> [r, num_embeddings], lora_embedding_B.<adapter> [dim, r] (bare parameters),
// lora_magnitude_vector.<adapter>.weight [dim] (DoRA). A is used transposed as the lookup table.
import { PeftError } from '../../errors.js';
import type { ParameterDict } from '../../nn/containers.js';
import { normal_, zeros_ } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import { emptyParameter, type Parameter } from '../../nn/parameter.js';
import { embedding } from '../../tensor/functional.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { embeddingWeightNorm } from '../dora.js';
import { adapterDtype, parameterDictOf } from './containers.js';
import { type InitLoraWeights, LoraLayer } from './lora-layer.js';

type EmbeddingLike = Module & { forward(ids: Tensor): Tensor; paddingIdx?: number | null };

export class LoraEmbedding extends LoraLayer {
  readonly adapterLayerNames = ['lora_embedding_A', 'lora_embedding_B', 'lora_magnitude_vector'] as const;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(baseLayer: Module) {
    super(baseLayer);
    const weight = baseLayer.param('weight');
    if (weight.ndim !== 2) throw new PeftError(`LoraEmbedding: the base layer's weight must be 2-D, got shape [${weight.shape.join(', ')}]`);
    [this.numEmbeddings, this.embeddingDim] = weight.shape;
  }

  #A(name: string): Parameter {
    return this.child<ParameterDict>('lora_embedding_A').get(name);
  }

  #B(name: string): Parameter {
    return this.child<ParameterDict>('lora_embedding_B').get(name);
  }

  protected createLoraTensors(adapterName: string, r: number): void {
    const weight = this.baseLayer.param('weight');
    const factory = { dtype: adapterDtype(weight.dtype), device: weight.device };
    parameterDictOf(this, 'lora_embedding_A').set(adapterName, emptyParameter([r, this.numEmbeddings], factory));
    parameterDictOf(this, 'lora_embedding_B').set(adapterName, emptyParameter([this.embeddingDim, r], factory));
  }

  protected initLoraTensors(adapterName: string, init: InitLoraWeights): void {
    if (init !== true && init !== false && init !== 'gaussian') throw new PeftError(`init_lora_weights ${JSON.stringify(init)} is supported on Linear layers only (${this.constructor.name} here)`);
    // PEFT draws randn for A then B; init_lora_weights true/'gaussian' then zeroes A and redraws B ~ N(0, 1).
    const [A, B] = [this.#A(adapterName), this.#B(adapterName)];
    normal_(A);
    normal_(B);
    if (init !== false) {
      zeros_(A);
      normal_(B);
    }
  }

  protected loraParameters(adapterName: string): [string, Parameter][] {
    return [
      [`lora_embedding_A.${adapterName}`, this.#A(adapterName)],
      [`lora_embedding_B.${adapterName}`, this.#B(adapterName)],
    ];
  }

  /** (emb(ids, Aᵀ) @ Bᵀ)·scaling for one adapter. */
  protected loraOutput(ids: Tensor, adapterName: string): Tensor {
    const base = this.baseLayer as EmbeddingLike;
    return scope(() => {
      const afterA = embedding(ids, this.#A(adapterName).mT(), base.paddingIdx ?? null);
      return afterA.matmul(this.#B(adapterName).mT()).mul(this.setting(adapterName).scaling);
    });
  }

  /** ΔW [num_embeddings, dim] = scaling·(B @ A)ᵀ in the base weight's dtype. */
  deltaWeight(adapterName: string): Tensor {
    const weight = this.baseLayer.param('weight');
    return scope(() => this.#B(adapterName).mm(this.#A(adapterName)).mT().mul(this.setting(adapterName).scaling).to(weight.dtype).contiguous());
  }

  protected weightNorm(weight: Tensor): Tensor {
    return embeddingWeightNorm(weight);
  }

  /** m/‖W+ΔW‖ is per embedding dimension, the last dimension of W: it broadcasts as it is. */
  protected scaleForWeight(factor: Tensor): Tensor {
    return factor;
  }

  protected outputBias(): Tensor | null {
    return null;
  }
}
