// LoRA on a Linear (weight [out, in]) or on GPT-2's Conv1D (weight [in, out], fan_in_fan_out).
// In memory, as PEFT: base_layer.weight, lora_A.<adapter>.weight [r, in], lora_B.<adapter>.weight [out, r],
// lora_magnitude_vector.<adapter>.weight [out] (DoRA). The forward is one native call (loraLinear, or
// loraLinearGrouped for a mixed batch), plus one per DoRA adapter.
import { PeftError } from '../../errors.js';
import type { ModuleDict } from '../../nn/containers.js';
import type { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import { dropout, linear } from '../../tensor/functional.js';
import { loraDelta, loraLinear, loraLinearGrouped, type LowRankTerm } from '../../tensor/lora.js';
import { doraLinear } from '../dora.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adapterDtype, DeferredInitLinear, initFactorLayers, moduleDictOf } from './containers.js';
import { type AdapterRows, type InitLoraWeights, LoraLayer } from './lora-layer.js';
import { isWeightInit, oloraInit, orthogonalInit, pissaInit, pissaLowrankInit, PISSA_NITER } from './weight-inits.js';

export class LoraLinear extends LoraLayer {
  readonly adapterLayerNames = ['lora_A', 'lora_B', 'lora_magnitude_vector'] as const;
  protected override readonly supportsAlora = true;
  protected override readonly supportsLoraBias = true;
  readonly fanInFanOut: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(baseLayer: Module, options: { fanInFanOut?: boolean } = {}) {
    super(baseLayer);
    const weight = baseLayer.param('weight');
    if (weight.ndim !== 2) throw new PeftError(`LoraLinear: the base layer's weight must be 2-D, got shape [${weight.shape.join(', ')}]`);
    this.fanInFanOut = options.fanInFanOut ?? false;
    [this.inFeatures, this.outFeatures] = this.fanInFanOut ? [weight.shape[0], weight.shape[1]] : [weight.shape[1], weight.shape[0]];
  }

  #factor(dict: 'lora_A' | 'lora_B', name: string): DeferredInitLinear {
    return this.child<ModuleDict>(dict).get<DeferredInitLinear>(name);
  }

  protected createLoraTensors(adapterName: string, r: number): void {
    const weight = this.baseLayer.param('weight');
    const factory = { dtype: adapterDtype(weight.dtype), device: weight.device };
    moduleDictOf(this, 'lora_A').set(adapterName, new DeferredInitLinear(this.inFeatures, r, { bias: false, ...factory }));
    const bias = this.setting(adapterName).loraBias;
    moduleDictOf(this, 'lora_B').set(adapterName, new DeferredInitLinear(r, this.outFeatures, { bias, ...factory }));
  }

  protected initLoraTensors(adapterName: string, init: InitLoraWeights, r: number): void {
    const [A, B] = [this.#factor('lora_A', adapterName), this.#factor('lora_B', adapterName)];
    if (!isWeightInit(init)) {
      initFactorLayers(A, B, init, r);
      return;
    }
    A.defaultInit();
    B.defaultInit();
    const weight = this.baseLayer.param('weight');
    if (init === 'olora' && this.fanInFanOut) throw new PeftError('init_lora_weights "olora" is not supported on fan_in_fan_out (GPT-2 Conv1D) layers');
    const scaling = this.setting(adapterName).scaling;
    noGrad(() => scope(() => {
      const w = this.fanInFanOut ? weight.mT() : weight;
      const niter = PISSA_NITER.exec(init);
      const made = niter ? pissaLowrankInit(w, r, scaling, Number(niter[1]))
        : init === 'pissa' ? pissaInit(w, r, scaling) : init === 'olora' ? oloraInit(w, r, scaling) : orthogonalInit(this.inFeatures, this.outFeatures, r);
      A.weight.copy_(made.A);
      B.weight.copy_(made.B);
      if (made.residual) weight.copy_(this.fanInFanOut ? made.residual.mT() : made.residual);
    }));
  }

  protected loraParameters(adapterName: string): [string, Parameter][] {
    const out: [string, Parameter][] = [
      [`lora_A.${adapterName}.weight`, this.#factor('lora_A', adapterName).weight],
      [`lora_B.${adapterName}.weight`, this.#factor('lora_B', adapterName).weight],
    ];
    const bias = this.loraBiasOf(adapterName);
    if (bias) out.push([`lora_B.${adapterName}.bias`, bias]);
    return out;
  }

  protected override loraBiasOf(adapterName: string): Parameter | null {
    return this.#factor('lora_B', adapterName).bias;
  }

  /** Adapters the fused native forwards cannot run: DoRA, lora_bias (lora_B's bias), aLoRA (a token mask). */
  #needsOwnTerm(name: string): boolean {
    const s = this.setting(name);
    return s.useDora || s.loraBias || s.alora;
  }

  #term(name: string): LowRankTerm {
    const s = this.setting(name);
    return { A: this.#factor('lora_A', name).weight, B: this.#factor('lora_B', name).weight, scale: s.scaling, dropout: s.dropout };
  }

  protected override adaptedForward(x: Tensor, active: string[]): Tensor {
    const base = this.baseLayer;
    const weight = base.param('weight');
    const bias = base.paramOrNull('bias');
    const plain = active.filter((name) => !this.#needsOwnTerm(name)).map((name) => this.#term(name));
    let y = loraLinear(x, weight, bias, plain, this.training, this.fanInFanOut);
    for (const name of active.filter((n) => this.#needsOwnTerm(n))) {
      const next = this.setting(name).useDora
        ? doraLinear(x, y, weight, bias, this.#term(name), this.doraMagnitude(name) as Parameter, this.training, this.fanInFanOut)
        : scope(() => y.add(this.gatedTerm(this.loraOutput(x, name), name)));
      y.dispose();
      y = next;
    }
    if (y.dtype === weight.dtype) return y;
    const cast = y.to(weight.dtype); // float32 adapter terms on a bf16 base: back to its dtype, as PEFT
    y.dispose();
    return cast;
  }

  /** One low-rank product per adapter group of rows (loraLinearGrouped); other rows get the base output. */
  protected override mixedForward(x: Tensor, groups: AdapterRows): Tensor {
    if ([...groups.keys()].some((name) => this.#needsOwnTerm(name))) return super.mixedForward(x, groups);
    const rowAdapter = new Array<number>(x.shape[0]).fill(-1);
    const terms: LowRankTerm[] = [];
    for (const [name, rows] of groups) {
      for (const row of rows) rowAdapter[row] = terms.length;
      terms.push(this.#term(name));
    }
    const base = this.baseLayer;
    return loraLinearGrouped(x, base.param('weight'), base.paramOrNull('bias'), terms, rowAdapter, this.fanInFanOut);
  }

  /** scaling·B(A(dropout(x))) alone (the forwards above compute it inside their native call). */
  protected loraOutput(x: Tensor, adapterName: string): Tensor {
    const { A, B, scale, dropout: p = 0 } = this.#term(adapterName);
    return scope(() => {
      const xd = p > 0 && this.training ? dropout(x, p, true) : x;
      return linear(linear(xd.to(A.dtype), A), B, this.loraBiasOf(adapterName)).mul(scale);
    });
  }

  /** ΔW in the adapter's dtype (float32 on a bf16/fp16 base: merging adds it with one rounding, as PEFT). */
  deltaWeight(adapterName: string): Tensor {
    const s = this.setting(adapterName);
    return loraDelta(this.#factor('lora_A', adapterName).weight, this.#factor('lora_B', adapterName).weight, s.scaling, this.fanInFanOut);
  }

  /** One norm per output feature: over `in` (dim 1 of [out, in], dim 0 of the fan_in_fan_out layout [in, out]). */
  protected weightNorm(weight: Tensor): Tensor {
    return noGrad(() => weight.norm(2, this.fanInFanOut ? 0 : 1));
  }

  protected scaleForWeight(factor: Tensor): Tensor {
    return this.fanInFanOut ? factor.view(1, -1) : factor.view(-1, 1);
  }

  protected outputBias(): Tensor | null {
    return this.baseLayer.paramOrNull('bias');
  }
}
