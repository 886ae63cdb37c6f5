// LoRA on a Conv1d (weight [out, in, k]), Conv2d ([out, in, kh, kw]) or Conv3d ([out, in, kd, kh, kw]). In memory,
// as PEFT: lora_A.<adapter> = Conv(in, r, kernel, stride, padding, no bias), lora_B.<adapter> = Conv(r, out, 1, bias
// only with lora_bias), lora_magnitude_vector (DoRA, shape [1, out, 1, …]). Dilation and groups of the base are not copied to lora_A
// (as PEFT); groups > 1 unsupported.
import { PeftError } from '../../errors.js';
import type { ModuleDict } from '../../nn/containers.js';
import type { Module } from '../../nn/module.js';
import type { FactoryOptions } from '../../nn/parameter.js';
import type { Parameter } from '../../nn/parameter.js';
import { dropout } from '../../tensor/functional.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { convWeightNorm } from '../dora.js';
import { adapterDtype, DeferredInitConv1d, DeferredInitConv2d, DeferredInitConv3d, initFactorLayers, moduleDictOf } from './containers.js';
import { type InitLoraWeights, LoraLayer } from './lora-layer.js';

type ConvLike = Module & {
  forward(x: Tensor): Tensor;
  stride?: number | number[];
  padding?: number | number[] | 'same';
  groups?: number;
};

type LoraConv = DeferredInitConv1d | DeferredInitConv2d | DeferredInitConv3d;

/** PEFT's lora_A (the base's kernel, stride and padding) or lora_B (1×…×1) for a base weight of kernel.length dims. */
function loraConv(inChannels: number, outChannels: number, kernel: number[], base: ConvLike | null, options: FactoryOptions & { bias: boolean }): LoraConv {
  const spatial = { bias: options.bias, dtype: options.dtype, device: options.device, ...(base ? { stride: base.stride ?? 1, padding: base.padding ?? 0 } : {}) };
  if (kernel.length === 1) return new DeferredInitConv1d(inChannels, outChannels, kernel[0], spatial as ConstructorParameters<typeof DeferredInitConv1d>[3]);
  if (kernel.length === 2) return new DeferredInitConv2d(inChannels, outChannels, [kernel[0], kernel[1]], spatial as ConstructorParameters<typeof DeferredInitConv2d>[3]);
  return new DeferredInitConv3d(inChannels, outChannels, [kernel[0], kernel[1], kernel[2]], spatial as ConstructorParameters<typeof DeferredInitConv3d>[3]);
}

export class LoraConv2d extends LoraLayer {
  readonly adapterLayerNames = ['lora_A', 'lora_B', 'lora_magnitude_vector'] as const;
  protected override readonly supportsLoraBias = true;

  constructor(baseLayer: Module) {
    super(baseLayer);
    const weight = baseLayer.param('weight');
    if (weight.ndim < 3 || weight.ndim > 5) throw new PeftError(`LoraConv2d: the base layer's weight must be 3-D (Conv1d), 4-D (Conv2d) or 5-D (Conv3d), got shape [${weight.shape.join(', ')}]`);
    const groups = (baseLayer as ConvLike).groups ?? 1;
    if (groups !== 1) throw new PeftError(`LoraConv2d: base convolutions with groups > 1 are not supported (got groups=${groups})`);
  }

  #conv(dict: 'lora_A' | 'lora_B', name: string): LoraConv {
    return this.child<ModuleDict>(dict).get<LoraConv>(name);
  }

  protected createLoraTensors(adapterName: string, r: number): void {
    const base = this.baseLayer as ConvLike;
    const weight = base.param('weight');
    const [out, inChannels, ...kernel] = weight.shape;
    const factory = { dtype: adapterDtype(weight.dtype), device: weight.device };
    const bias = this.setting(adapterName).loraBias;
    moduleDictOf(this, 'lora_A').set(adapterName, loraConv(inChannels, r, kernel, base, { bias: false, ...factory }));
    moduleDictOf(this, 'lora_B').set(adapterName, loraConv(r, out, kernel.map(() => 1), null, { bias, ...factory }));
  }

  protected initLoraTensors(adapterName: string, init: InitLoraWeights, r: number): void {
    if (init !== true && init !== false && init !== 'gaussian') throw new PeftError(`init_lora_weights ${JSON.stringify(init)} is supported on Linear layers only (${this.constructor.name} here)`);
    initFactorLayers(this.#conv('lora_A', adapterName), this.#conv('lora_B', adapterName), init, r);
  }

  protected loraParameters(adapterName: string): [string, Parameter][] {
    const out: [string, Parameter][] = [
      [`lora_A.${adapterName}.weight`, this.#conv('lora_A', adapterName).weight],
      [`lora_B.${adapterName}.weight`, this.#conv('lora_B', adapterName).weight],
    ];
    const bias = this.loraBiasOf(adapterName);
    if (bias) out.push([`lora_B.${adapterName}.bias`, bias]);
    return out;
  }

  protected override loraBiasOf(adapterName: string): Parameter | null {
    return this.#conv('lora_B', adapterName).bias;
  }

  /** B(A(dropout(x)))·scaling. */
  protected loraOutput(x: Tensor, adapterName: string): Tensor {
    const s = this.setting(adapterName);
    return scope(() => {
      const xd = s.dropout > 0 && this.training ? dropout(x, s.dropout, true) : x;
      return this.#conv('lora_B', adapterName).forward(this.#conv('lora_A', adapterName).forward(xd)).mul(s.scaling);
    });
  }

  /** ΔW[o, i, k…] = scaling·Σ_r B[o, r]·A[r, i, k…], in the base weight's dtype. */
  deltaWeight(adapterName: string): Tensor {
    const weight = this.baseLayer.param('weight');
    const scaling = this.setting(adapterName).scaling;
    return scope(() => {
      const B2 = this.#conv('lora_B', adapterName).weight.flatten(1);
      return B2.mm(this.#conv('lora_A', adapterName).weight.flatten(1)).reshape(...weight.shape).mul(scaling).to(weight.dtype).contiguous();
    });
  }

  /** [1, out, 1, …], as PEFT stores the magnitude. */
  protected weightNorm(weight: Tensor): Tensor {
    return convWeightNorm(weight);
  }

  /** [1, out, 1, …] → [out, 1, 1, …] to scale W [out, in, k, …]. */
  protected scaleForWeight(factor: Tensor): Tensor {
    return factor.transpose(0, 1);
  }

  protected outputBias(): Tensor | null {
    const bias = this.baseLayer.paramOrNull('bias');
    return bias ? bias.view(1, -1, ...new Array<number>(this.baseLayer.param('weight').ndim - 2).fill(1)) : null;
  }
}
