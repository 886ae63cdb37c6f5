// LoRA on a bare parameter (target_parameters), as PEFT 0.21's lora.ParamWrapper: the module owning the parameter
// is wrapped (two parameters of one module: nested wrappers, the first matched innermost), and for the length of a
// forward the owner computes with W + ΔW (Module.parametrize; the owner's forward reads it with value(name)), so
// gradients reach lora_A / lora_B. Merging adds ΔW to the parameter itself.
//
// Shapes, as PEFT: a 2-D parameter [out, in] gets A [r, in], B [out, r] (ΔW = s·B·A, as a Linear). A 3-D parameter
// [E, d1, d2] (fused MoE experts) is [E, out, in] unless the owner has `isTransposed` (then [E, in, out]); A is
// [r·E, in], B [out, r·E]; expert e uses A's rows e·r … e·r+r−1 and B's columns {j·E + e}.
import { PeftError } from '../../errors.js';
import type { ModuleDict } from '../../nn/containers.js';
import type { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { currentAdapterNames } from '../mixed-batch.js';
import { adapterDtype, DeferredInitLinear, initFactorLayers, moduleDictOf } from './containers.js';
import { type InitLoraWeights, LoraLayer, type LoraLayerOptions } from './lora-layer.js';

type AnyForward = Module & { forward(...args: unknown[]): Tensor };

const NAME = 'lora.ParamWrapper';

export class LoraParamWrapper extends LoraLayer {
  readonly adapterLayerNames = ['lora_A', 'lora_B'] as const;
  /** The adapted parameter's name on the owning module. */
  readonly parameterName: string;
  readonly numExperts: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** A 3-D parameter laid out [E, in, out] (the owner's isTransposed); ΔW is transposed per expert. */
  readonly #inOut: boolean;

  constructor(baseLayer: Module, parameterName: string) {
    super(baseLayer);
    this.parameterName = parameterName;
    const shape = this.targetWeight().shape;
    if (shape.length === 2) {
      [this.numExperts, this.inFeatures, this.outFeatures] = [1, shape[1], shape[0]];
      this.#inOut = false;
    } else if (shape.length === 3) {
      this.#inOut = (this.owner() as Module & { isTransposed?: unknown }).isTransposed === true;
      const [experts, d1, d2] = shape;
      [this.numExperts, this.inFeatures, this.outFeatures] = this.#inOut ? [experts, d1, d2] : [experts, d2, d1];
    } else {
      throw new PeftError(`${NAME} was initialized with ${shape.length} dimensional Parameter, but only 2d and 3d are supported.`);
    }
  }

  /** The module that owns the parameter (below any nested wrappers). */
  owner(): Module {
    let module = this.baseLayer;
    while (module instanceof LoraParamWrapper) module = module.baseLayer;
    return module;
  }

  protected override targetWeight(): Parameter {
    return this.owner().param(this.parameterName);
  }

  #factor(dict: 'lora_A' | 'lora_B', name: string): DeferredInitLinear {
    return this.child<ModuleDict>(dict).get<DeferredInitLinear>(name);
  }

  override updateLayer(adapterName: string, options: LoraLayerOptions, init: { initialize?: boolean } = {}): void {
    if ((options.loraDropout ?? 0) !== 0) throw new PeftError(`${NAME} does not work with lora_dropout != 0.`);
    if (options.loraBias) throw new PeftError(`${NAME} does not work with lora_bias=True.`);
    if (options.useDora) throw new PeftError(`${NAME} does not work with use_dora=True.`);
    if (options.alora) throw new PeftError(`${NAME} does not work with aLoRA (alora_invocation_tokens).`);
    const initWeights = options.initLoraWeights ?? true;
    if (initWeights !== true && initWeights !== false && initWeights !== 'gaussian') {
      throw new PeftError(`init_lora_weights ${JSON.stringify(initWeights)} is not supported for target_parameters (${NAME} on '${this.parameterName}'): ` +
        'PEFT 0.21 reads the owning module\'s `weight` for it, not the targeted parameter; use true, false or "gaussian"');
    }
    super.updateLayer(adapterName, options, init);
  }

  protected createLoraTensors(adapterName: string, r: number): void {
    const weight = this.targetWeight();
    const factory = { dtype: adapterDtype(weight.dtype), device: weight.device, bias: false };
    moduleDictOf(this, 'lora_A').set(adapterName, new DeferredInitLinear(this.inFeatures, r * this.numExperts, factory));
    moduleDictOf(this, 'lora_B').set(adapterName, new DeferredInitLinear(r * this.numExperts, this.outFeatures, factory));
  }

  protected initLoraTensors(adapterName: string, init: InitLoraWeights, r: number): void {
    initFactorLayers(this.#factor('lora_A', adapterName), this.#factor('lora_B', adapterName), init, r);
  }

  protected loraParameters(adapterName: string): [string, Parameter][] {
    return [
      [`lora_A.${adapterName}.weight`, this.#factor('lora_A', adapterName).weight],
      [`lora_B.${adapterName}.weight`, this.#factor('lora_B', adapterName).weight],
    ];
  }

  /** ΔW shaped and typed like the parameter (in the autograd graph of A and B). */
  deltaWeight(adapterName: string): Tensor {
    const weight = this.targetWeight();
    const scaling = this.setting(adapterName).scaling;
    const A = this.#factor('lora_A', adapterName).weight;
    const B = this.#factor('lora_B', adapterName).weight;
    return scope(() => {
      const E = this.numExperts;
      let delta: Tensor;
      if (E === 1) {
        delta = B.mm(A);
        if (this.#inOut) delta = delta.mT();
      } else {
        // B [out, r·E] → [E, out, r] (column j·E + e), A [r·E, in] → [E, r, in] (row e·r + j)
        const perExpertB = B.view(this.outFeatures, -1, E).permute(2, 0, 1);
        delta = perExpertB.bmm(A.view(E, -1, this.inFeatures));
        if (this.#inOut) delta = delta.transpose(1, 2);
      }
      return delta.mul(scaling).reshape(...weight.shape).to(weight.dtype).contiguous();
    });
  }

  /** PEFT's forward: the owner's forward with the parameter read as W + Σ ΔW of the active adapters. */
  override forward(x: Tensor, ...rest: unknown[]): Tensor {
    const base = this.baseLayer as AnyForward;
    if (currentAdapterNames()) throw new PeftError(`${NAME} does not support mixed adapter batches yet.`);
    if (this.disabled) {
      if (this.merged) this.unmerge();
      return base.forward(x, ...rest);
    }
    const active = this.activeHere();
    if (this.merged || active.length === 0) return base.forward(x, ...rest);
    const owner = this.owner();
    const effective = scope(() => {
      let delta = this.deltaWeight(active[0]);
      for (const name of active.slice(1)) delta = delta.add(this.deltaWeight(name));
      return this.targetWeight().add(delta);
    });
    const release = owner.parametrize(this.parameterName, effective);
    let y: Tensor;
    let read = false;
    try {
      y = base.forward(x, ...rest);
    } finally {
      read = release();
      effective.dispose();
    }
    if (!read) {
      y.dispose();
      throw new PeftError(`${owner.constructor.name}.forward did not read its parameter '${this.parameterName}' with value('${this.parameterName}'), ` +
        'so LoRA on it (target_parameters) would have no effect; a module whose parameters are targeted must read them with this.value(name) in forward');
    }
    return y;
  }

  override enterMixedBatch(): () => void {
    throw new PeftError(`${NAME} does not support mixed adapter batches yet.`);
  }

  protected loraOutput(): Tensor {
    throw new PeftError(`${NAME} has no separate LoRA term: it adds ΔW to the parameter`);
  }

  protected weightNorm(): Tensor {
    throw new PeftError(`${NAME} does not work with use_dora=True.`);
  }

  protected scaleForWeight(): Tensor {
    throw new PeftError(`${NAME} does not work with use_dora=True.`);
  }

  protected outputBias(): Tensor | null {
    return null;
  }
}
