// LoRA on an Embedding (weight [num_embeddings, dim]). In memory, as PEFT: base_layer.weight,
// lora_embedding_A.<adapter> [r, num_embeddings], lora_embedding_B.<adapter> [dim, r] (bare parameters),
// lora_magnitude_vector.<adapter>.weight [dim] (DoRA). A is used transposed as the lookup table.
import { PeftError } from '../../errors.js';
import type { ModuleDict, ParameterDict } from '../../nn/containers.js';
import { normal_, zeros_ } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { randn } from '../../tensor/creation.js';
import { embedding } from '../../tensor/functional.js';
import { keep, scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DoraMagnitude, embeddingWeightNorm } from '../dora.js';
import { BASE_ROW, checkBatch, currentAdapterNames, rowIndex, rowsByAdapter } from '../mixed-batch.js';
import { adapterDtype, moduleDictOf, parameterDictOf, removeFromModuleDict, removeFromParameterDict } from './containers.js';
import { LoraLayer, type LoraLayerOptions } from './lora-layer.js';

type EmbeddingLike = Module & { forward(ids: Tensor): Tensor; paddingIdx?: number | null };

export class LoraEmbedding extends LoraLayer {
  readonly adapterLayerNames = ['lora_embedding_A', 'lora_embedding_B', 'lora_magnitude_vector'] as const;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly #mergeNorms = new Map<string, Tensor>();

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

  #magnitude(name: string): Parameter | null {
    if (!this.hasChild('lora_magnitude_vector')) return null;
    const dict = this.child<ModuleDict>('lora_magnitude_vector');
    return dict.has(name) ? dict.get(name).param('weight') : null;
  }

  updateLayer(adapterName: string, options: LoraLayerOptions): void {
    const s = this.recordSettings(adapterName, options);
    const weight = this.baseLayer.param('weight');
    const factory = { dtype: adapterDtype(weight.dtype), device: weight.device };
    // PEFT draws randn for A then B; init_lora_weights true/'gaussian' then zeroes A and redraws B ~ N(0, 1).
    const a = randn([s.r, this.numEmbeddings], factory);
    const b = randn([this.embeddingDim, s.r], factory);
    const A = new Parameter(a);
    const B = new Parameter(b);
    a.dispose();
    b.dispose();
    if ((options.initLoraWeights ?? true) !== false) {
      zeros_(A);
      normal_(B);
    }
    parameterDictOf(this, 'lora_embedding_A').set(adapterName, A);
    parameterDictOf(this, 'lora_embedding_B').set(adapterName, B);
    if (s.useDora) {
      const norm = scope(() => embeddingWeightNorm(weight.add(this.deltaWeight(adapterName))));
      moduleDictOf(this, 'lora_magnitude_vector').set(adapterName, new DoraMagnitude(norm));
      norm.dispose();
    }
  }

  adapterParameters(adapterName: string): [string, Parameter][] {
    if (!this.hasAdapter(adapterName)) return [];
    const out: [string, Parameter][] = [
      [`lora_embedding_A.${adapterName}`, this.#A(adapterName)],
      [`lora_embedding_B.${adapterName}`, this.#B(adapterName)],
    ];
    const m = this.#magnitude(adapterName);
    if (m) out.push([`lora_magnitude_vector.${adapterName}.weight`, m]);
    return out;
  }

  protected dropAdapterTensors(adapterName: string): void {
    removeFromParameterDict(this, 'lora_embedding_A', adapterName);
    removeFromParameterDict(this, 'lora_embedding_B', adapterName);
    removeFromModuleDict(this, 'lora_magnitude_vector', adapterName);
  }

  /** (emb(ids, Aᵀ) @ Bᵀ)·scaling for one adapter. */
  #loraTerm(ids: Tensor, name: string): Tensor {
    const base = this.baseLayer as EmbeddingLike;
    return scope(() => {
      const afterA = embedding(ids, this.#A(name).mT(), base.paddingIdx ?? null);
      return afterA.matmul(this.#B(name).mT()).mul(this.setting(name).scaling);
    });
  }

  forward(ids: Tensor): Tensor {
    const base = this.baseLayer as EmbeddingLike;
    if (this.disabled) {
      if (this.merged) this.unmerge();
      return base.forward(ids);
    }
    const adapterNames = currentAdapterNames();
    if (adapterNames) return this.#mixedForward(ids, adapterNames);
    const active = this.activeHere();
    if (this.merged || active.length === 0) return base.forward(ids);
    return scope(() => {
      let y = base.forward(ids);
      for (const name of active) {
        const term = this.#loraTerm(ids, name);
        if (this.setting(name).useDora) {
          // f = m / ‖W + ΔW‖ per embedding dimension (norm detached); y = f·y + f·term
          const norm = embeddingWeightNorm(this.baseLayer.param('weight').add(this.deltaWeight(name)));
          const f = (this.#magnitude(name) as Parameter).div(norm);
          y = y.mul(f).add(term.mul(f));
        } else {
          y = y.add(term);
        }
      }
      return y;
    });
  }

  #mixedForward(ids: Tensor, adapterNames: readonly string[]): Tensor {
    checkBatch(ids, adapterNames, 'LoraEmbedding');
    if (this.merged) throw new PeftError('Cannot pass adapter_names when there are merged adapters, please call `unmerge_adapter` first.');
    return scope(() => {
      let y = (this.baseLayer as EmbeddingLike).forward(ids);
      for (const [name, list] of rowsByAdapter(adapterNames)) {
        if (name === BASE_ROW || !this.hasAdapter(name)) continue;
        if (this.setting(name).useDora) throw new PeftError(`Cannot pass adapter_names with DoRA adapters (adapter '${name}' uses DoRA)`);
        const rows = rowIndex(list, ids.device);
        y = y.indexAdd(0, rows, this.#loraTerm(ids.indexSelect(0, rows), name));
      }
      return y;
    });
  }

  /** ΔW [num_embeddings, dim] = scaling·(B @ A)ᵀ in the base weight's dtype. */
  deltaWeight(adapterName: string): Tensor {
    const weight = this.baseLayer.param('weight');
    return scope(() => this.#B(adapterName).mm(this.#A(adapterName)).mT().mul(this.setting(adapterName).scaling).to(weight.dtype).contiguous());
  }

  protected mergeOne(adapterName: string, safeMerge: boolean): void {
    const weight = this.baseLayer.param('weight');
    scope(() => {
      let merged = weight.add(this.deltaWeight(adapterName));
      if (this.setting(adapterName).useDora) {
        const norm = keep(embeddingWeightNorm(merged));
        this.#mergeNorms.set(adapterName, norm);
        merged = merged.mul((this.#magnitude(adapterName) as Parameter).div(norm));
      }
      if (safeMerge) LoraLayer.checkFinite(merged, adapterName);
      weight.copy_(merged);
    });
  }

  protected unmergeOne(adapterName: string): void {
    const weight = this.baseLayer.param('weight');
    scope(() => {
      const delta = this.deltaWeight(adapterName);
      const norm = this.#mergeNorms.get(adapterName);
      if (!norm) {
        weight.sub_(delta);
        return;
      }
      weight.copy_(weight.div((this.#magnitude(adapterName) as Parameter).div(norm)).sub(delta));
      this.#mergeNorms.delete(adapterName);
      norm.dispose();
    });
  }
}
