// LoRA on a Conv2d (weight [out, in, kh, kw]). In memory, as PEFT: lora_A.<adapter> = Conv2d(in, r, kernel,
// stride, padding, no bias), lora_B.<adapter> = Conv2d(r, out, 1×1, no bias), lora_magnitude_vector (DoRA,
// shape [1, out, 1, 1]). Dilation and groups of the base are not copied to lora_A (as PEFT); groups > 1 unsupported.
import { PeftError } from '../../errors.js';
import type { ModuleDict } from '../../nn/containers.js';
import { Conv2d } from '../../nn/conv.js';
import { kaimingUniform_, normal_, zeros_ } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';
import { dropout } from '../../tensor/functional.js';
import { einsum } from '../../tensor/ops-math.js';
import { keep, scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { convWeightNorm, DoraMagnitude } from '../dora.js';
import { BASE_ROW, checkBatch, currentAdapterNames, rowIndex, rowsByAdapter } from '../mixed-batch.js';
import { adapterDtype, moduleDictOf, removeFromModuleDict } from './containers.js';
import { LoraLayer, type LoraLayerOptions } from './lora-layer.js';

type ConvLike = Module & {
  forward(x: Tensor): Tensor;
  stride?: [number, number];
  padding?: [number, number] | 'same';
  groups?: number;
};

export class LoraConv2d extends LoraLayer {
  readonly adapterLayerNames = ['lora_A', 'lora_B', 'lora_magnitude_vector'] as const;
  readonly #mergeNorms = new Map<string, Tensor>();

  constructor(baseLayer: Module) {
    super(baseLayer);
    const weight = baseLayer.param('weight');
    if (weight.ndim !== 4) throw new PeftError(`LoraConv2d: the base layer's weight must be 4-D, got shape [${weight.shape.join(', ')}]`);
    const groups = (baseLayer as ConvLike).groups ?? 1;
    if (groups !== 1) throw new PeftError(`LoraConv2d: base convolutions with groups > 1 are not supported (got groups=${groups})`);
  }

  #conv(dict: string, name: string): Conv2d {
    return this.child<ModuleDict>(dict).get<Conv2d>(name);
  }

  #magnitude(name: string): Parameter | null {
    if (!this.hasChild('lora_magnitude_vector')) return null;
    const dict = this.child<ModuleDict>('lora_magnitude_vector');
    return dict.has(name) ? dict.get(name).param('weight') : null;
  }

  updateLayer(adapterName: string, options: LoraLayerOptions): void {
    const s = this.recordSettings(adapterName, options);
    const base = this.baseLayer as ConvLike;
    const weight = base.param('weight');
    const [out, inChannels, kh, kw] = weight.shape;
    const factory = { dtype: adapterDtype(weight.dtype), device: weight.device };
    const A = new Conv2d(inChannels, s.r, [kh, kw], { stride: base.stride ?? 1, padding: base.padding ?? 0, bias: false, ...factory });
    const B = new Conv2d(s.r, out, 1, { bias: false, ...factory });
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
      const norm = scope(() => convWeightNorm(weight.add(this.deltaWeight(adapterName))));
      moduleDictOf(this, 'lora_magnitude_vector').set(adapterName, new DoraMagnitude(norm));
      norm.dispose();
    }
  }

  adapterParameters(adapterName: string): [string, Parameter][] {
    if (!this.hasAdapter(adapterName)) return [];
    const out: [string, Parameter][] = [
      [`lora_A.${adapterName}.weight`, this.#conv('lora_A', adapterName).weight],
      [`lora_B.${adapterName}.weight`, this.#conv('lora_B', adapterName).weight],
    ];
    const m = this.#magnitude(adapterName);
    if (m) out.push([`lora_magnitude_vector.${adapterName}.weight`, m]);
    return out;
  }

  protected dropAdapterTensors(adapterName: string): void {
    for (const name of this.adapterLayerNames) removeFromModuleDict(this, name, adapterName);
  }

  /** B(A(dropout(x)))·scaling. */
  #loraTerm(x: Tensor, name: string): Tensor {
    const s = this.setting(name);
    return scope(() => {
      const xd = s.dropout > 0 && this.training ? dropout(x, s.dropout, true) : x;
      return this.#conv('lora_B', name).forward(this.#conv('lora_A', name).forward(xd)).mul(s.scaling);
    });
  }

  forward(x: Tensor): Tensor {
    const base = this.baseLayer as ConvLike;
    if (this.disabled) {
      if (this.merged) this.unmerge();
      return base.forward(x);
    }
    const adapterNames = currentAdapterNames();
    if (adapterNames) return this.#mixedForward(x, adapterNames);
    const active = this.activeHere();
    if (this.merged || active.length === 0) return base.forward(x);
    return scope(() => {
      let y = base.forward(x);
      for (const name of active) {
        const term = this.#loraTerm(x, name);
        if (!this.setting(name).useDora) {
          y = y.add(term);
          continue;
        }
        // As DoRA on Linear (eval form): y + (f−1)·(y − bias) + f·term, f = m/‖W+ΔW‖ (detached), [1, out, 1, 1].
        const norm = convWeightNorm(base.param('weight').add(this.deltaWeight(name)));
        const f = (this.#magnitude(name) as Parameter).div(norm);
        const bias = base.paramOrNull('bias');
        const basePart = bias ? y.sub(bias.view(1, -1, 1, 1)) : y;
        y = y.add(f.sub(1).mul(basePart)).add(f.mul(term));
      }
      return y;
    });
  }

  #mixedForward(x: Tensor, adapterNames: readonly string[]): Tensor {
    checkBatch(x, adapterNames, 'LoraConv2d');
    if (this.merged) throw new PeftError('Cannot pass adapter_names when there are merged adapters, please call `unmerge_adapter` first.');
    return scope(() => {
      let y = (this.baseLayer as ConvLike).forward(x);
      for (const [name, list] of rowsByAdapter(adapterNames)) {
        if (name === BASE_ROW || !this.hasAdapter(name)) continue;
        if (this.setting(name).useDora) throw new PeftError(`Cannot pass adapter_names with DoRA adapters (adapter '${name}' uses DoRA)`);
        const rows = rowIndex(list, x.device);
        y = y.indexAdd(0, rows, this.#loraTerm(x.indexSelect(0, rows), name));
      }
      return y;
    });
  }

  /** ΔW[o, i, kh, kw] = scaling·Σ_r B[o, r]·A[r, i, kh, kw], in the base weight's dtype. */
  deltaWeight(adapterName: string): Tensor {
    const weight = this.baseLayer.param('weight');
    const scaling = this.setting(adapterName).scaling;
    return scope(() => {
      const B2 = this.#conv('lora_B', adapterName).weight.flatten(1);
      return einsum('or,rikl->oikl', B2, this.#conv('lora_A', adapterName).weight).mul(scaling).to(weight.dtype).contiguous();
    });
  }

  protected mergeOne(adapterName: string, safeMerge: boolean): void {
    const weight = this.baseLayer.param('weight');
    scope(() => {
      let merged = weight.add(this.deltaWeight(adapterName));
      if (this.setting(adapterName).useDora) {
        const norm = keep(convWeightNorm(merged));
        this.#mergeNorms.set(adapterName, norm);
        merged = merged.mul((this.#magnitude(adapterName) as Parameter).div(norm).transpose(0, 1));
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
      weight.copy_(weight.div((this.#magnitude(adapterName) as Parameter).div(norm).transpose(0, 1)).sub(delta));
      this.#mergeNorms.delete(adapterName);
      norm.dispose();
    });
  }
}
