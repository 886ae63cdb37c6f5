// LoRA on a Linear (weight [out, in]) or on GPT-2's Conv1D (weight [in, out], fan_in_fan_out).
// In memory, as PEFT: base_layer.weight, lora_A.<adapter>.weight [r, in], lora_B.<adapter>.weight [out, r],
// lora_magnitude_vector.<adapter>.weight [out] (DoRA).
import { PeftError } from '../../errors.js';
import { ModuleDict } from '../../nn/containers.js';
import { kaimingUniform_, normal_, zeros_ } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import type { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';
import { doraLinear, doraWeightNorm, loraDelta, loraLinear, loraLinearMixed, type LowRankTerm } from '../../tensor/lora.js';
import { keep, scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DoraMagnitude } from '../dora.js';
import { BASE_ROW, checkBatch, currentAdapterNames, rowIndex, rowsByAdapter } from '../mixed-batch.js';
import { adapterDtype, moduleDictOf, removeFromModuleDict } from './containers.js';
import { LoraLayer, type LoraLayerOptions } from './lora-layer.js';

export class LoraLinear extends LoraLayer {
  readonly adapterLayerNames = ['lora_A', 'lora_B', 'lora_magnitude_vector'] as const;
  readonly fanInFanOut: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** DoRA weight norms cached at merge time, so unmerge restores W exactly. */
  readonly #mergeNorms = new Map<string, Tensor>();

  constructor(baseLayer: Module, options: { fanInFanOut?: boolean } = {}) {
    super(baseLayer);
    const weight = baseLayer.param('weight');
    if (weight.ndim !== 2) throw new PeftError(`LoraLinear: the base layer's weight must be 2-D, got shape [${weight.shape.join(', ')}]`);
    this.fanInFanOut = options.fanInFanOut ?? false;
    [this.inFeatures, this.outFeatures] = this.fanInFanOut ? [weight.shape[0], weight.shape[1]] : [weight.shape[1], weight.shape[0]];
  }

  #A(name: string): Parameter {
    return this.child<ModuleDict>('lora_A').get(name).param('weight');
  }

  #B(name: string): Parameter {
    return this.child<ModuleDict>('lora_B').get(name).param('weight');
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
    // Same construction and RNG order as PEFT: both Linears draw their default init, then reset_lora_parameters.
    const A = new Linear(this.inFeatures, s.r, { bias: false, ...factory });
    const B = new Linear(s.r, this.outFeatures, { bias: false, ...factory });
    const init = options.initLoraWeights ?? true;
    if (init === true) {
      kaimingUniform_(A.weight, { a: Math.sqrt(5) });
      zeros_(B.weight);
    } else if (init === 'gaussian') {
      normal_(A.weight, 0, 1 / s.r);
      zeros_(B.weight);
    }
    moduleDictOf(this, 'lora_A').set(adapterName, A);
    moduleDictOf(this, 'lora_B').set(adapterName, B);
    if (s.useDora) {
      const norm = doraWeightNorm(weight, A.weight, B.weight, s.scaling, this.fanInFanOut);
      moduleDictOf(this, 'lora_magnitude_vector').set(adapterName, new DoraMagnitude(norm));
      norm.dispose();
    }
  }

  adapterParameters(adapterName: string): [string, Parameter][] {
    if (!this.hasAdapter(adapterName)) return [];
    const out: [string, Parameter][] = [
      [`lora_A.${adapterName}.weight`, this.#A(adapterName)],
      [`lora_B.${adapterName}.weight`, this.#B(adapterName)],
    ];
    const m = this.#magnitude(adapterName);
    if (m) out.push([`lora_magnitude_vector.${adapterName}.weight`, m]);
    return out;
  }

  protected dropAdapterTensors(adapterName: string): void {
    for (const name of this.adapterLayerNames) removeFromModuleDict(this, name, adapterName);
  }

  #term(name: string): LowRankTerm {
    const s = this.setting(name);
    return { A: this.#A(name), B: this.#B(name), scale: s.scaling, dropout: s.dropout };
  }

  forward(x: Tensor): Tensor {
    const base = this.baseLayer as Module & { forward(x: Tensor): Tensor };
    if (this.disabled) {
      if (this.merged) this.unmerge();
      return base.forward(x);
    }
    const adapterNames = currentAdapterNames();
    if (adapterNames) return this.#mixedForward(x, adapterNames);
    const active = this.activeHere();
    if (this.merged || active.length === 0) return base.forward(x);
    const weight = base.param('weight');
    const bias = base.paramOrNull('bias');
    const plain = active.filter((name) => !this.setting(name).useDora).map((name) => this.#term(name));
    let y = loraLinear(x, weight, bias, plain, this.training, this.fanInFanOut);
    for (const name of active.filter((n) => this.setting(n).useDora)) {
      const next = doraLinear(x, y, weight, bias, this.#term(name), this.#magnitude(name) as Parameter, this.training, this.fanInFanOut);
      y.dispose();
      y = next;
    }
    return y;
  }

  #mixedForward(x: Tensor, adapterNames: readonly string[]): Tensor {
    checkBatch(x, adapterNames, 'LoraLinear');
    if (this.merged) throw new PeftError('Cannot pass adapter_names when there are merged adapters, please call `unmerge_adapter` first.');
    const terms: LowRankTerm[] = [];
    const rows: Tensor[] = [];
    for (const [name, list] of rowsByAdapter(adapterNames)) {
      if (name === BASE_ROW || !this.hasAdapter(name)) continue;
      if (this.setting(name).useDora) throw new PeftError(`Cannot pass adapter_names with DoRA adapters (adapter '${name}' uses DoRA)`);
      terms.push(this.#term(name));
      rows.push(rowIndex(list, x.device));
    }
    const base = this.baseLayer;
    try {
      return loraLinearMixed(x, base.param('weight'), base.paramOrNull('bias'), terms, rows, this.fanInFanOut);
    } finally {
      for (const r of rows) r.dispose();
    }
  }

  deltaWeight(adapterName: string): Tensor {
    const s = this.setting(adapterName);
    const weight = this.baseLayer.param('weight');
    const delta = loraDelta(this.#A(adapterName), this.#B(adapterName), s.scaling, this.fanInFanOut);
    if (delta.dtype === weight.dtype) return delta;
    const cast = delta.to(weight.dtype);
    delta.dispose();
    return cast;
  }

  /** The DoRA factor m/‖W+ΔW‖ shaped to multiply W in its own layout. */
  #doraFactor(adapterName: string, norm: Tensor): Tensor {
    const f = (this.#magnitude(adapterName) as Parameter).div(norm);
    return this.fanInFanOut ? f.view(1, -1) : f.view(-1, 1);
  }

  protected mergeOne(adapterName: string, safeMerge: boolean): void {
    const weight = this.baseLayer.param('weight');
    scope(() => {
      const delta = this.deltaWeight(adapterName);
      let merged = weight.add(delta);
      if (this.setting(adapterName).useDora) {
        const norm = keep(merged.norm(2, this.fanInFanOut ? 0 : 1));
        this.#mergeNorms.set(adapterName, norm);
        merged = merged.mul(this.#doraFactor(adapterName, norm));
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
      weight.copy_(weight.div(this.#doraFactor(adapterName, norm)).sub(delta));
      this.#mergeNorms.delete(adapterName);
      norm.dispose();
    });
  }
}
