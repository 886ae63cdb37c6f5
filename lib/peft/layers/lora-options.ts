// What one adapter asks of one LoRA layer (rank, alpha, dropout, init, DoRA, lora_bias, aLoRA), its check, the
// settings a layer records for it, and how a LoRA layer's parameter names are saved.
import { PeftError } from '../../errors.js';
import type { InitLoraWeights } from './containers.js';
import { loraScaling } from '../patterns.js';
import { isWeightInit, WEIGHT_INITS } from './weight-inits.js';

export type { InitLoraWeights } from './containers.js';

/** What one adapter asks of one layer (already resolved through rank_pattern / alpha_pattern). */
export interface LoraLayerOptions {
  r: number;
  loraAlpha: number;
  loraDropout?: number;
  useRslora?: boolean;
  initLoraWeights?: InitLoraWeights;
  useDora?: boolean;
  /** lora_bias: lora_B has a bias (trained, saved as lora_B.bias, merged into the base bias). */
  loraBias?: boolean;
  /** aLoRA: the adapter acts only from its invocation tokens on (alora.ts); Linear layers only. */
  alora?: boolean;
}

export interface AdapterSettings {
  r: number;
  loraAlpha: number;
  scaling: number;
  dropout: number;
  useDora: boolean;
  useRslora: boolean;
  initLoraWeights: InitLoraWeights;
  loraBias: boolean;
  alora: boolean;
}

/** Rows of a mixed batch per adapter this layer holds (adapters absent here and '__base__' rows get the base). */
export type AdapterRows = Map<string, number[]>;

export function checkLoraOptions(layer: string, adapterName: string, o: LoraLayerOptions): void {
  if (!Number.isInteger(o.r) || o.r <= 0) {
    throw new PeftError(`${layer}: r must be a positive integer for adapter '${adapterName}', got ${o.r}`);
  }
  if (typeof o.loraAlpha !== 'number' || !Number.isFinite(o.loraAlpha)) {
    throw new PeftError(`${layer}: lora_alpha must be a finite number for adapter '${adapterName}', got ${o.loraAlpha}`);
  }
  const p = o.loraDropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new PeftError(`${layer}: lora_dropout must be in [0, 1) for adapter '${adapterName}', got ${p}`);
  const init = o.initLoraWeights ?? true;
  if (init !== true && init !== false && init !== 'gaussian' && !isWeightInit(init)) {
    throw new PeftError(`${layer}: init_lora_weights must be true, false, 'gaussian', ${WEIGHT_INITS.map((i) => `'${i}'`).join(', ')} or 'pissa_niter_<N>', got ${JSON.stringify(init)}`);
  }
}

/** A LoRA layer's in-memory parameter name (`lora_A.<adapter>.weight`) as saved (`lora_A.weight`; DoRA: no `.weight`). */
export function savedLoraName(local: string): string {
  const [container, , ...rest] = local.split('.');
  if (container === 'lora_magnitude_vector') return container;
  return [container, ...rest].join('.');
}

/** A layer's checked settings for one adapter: the options with PEFT's defaults and the scaling they give. */
export function adapterSettings(layer: string, adapterName: string, o: LoraLayerOptions, supports: { alora: boolean; loraBias: boolean }): AdapterSettings {
  checkLoraOptions(layer, adapterName, o);
  const useRslora = o.useRslora ?? false;
  const s: AdapterSettings = {
    initLoraWeights: o.initLoraWeights ?? true,
    r: o.r,
    loraAlpha: o.loraAlpha,
    scaling: loraScaling(o.loraAlpha, o.r, useRslora),
    dropout: o.loraDropout ?? 0,
    useDora: o.useDora ?? false,
    useRslora,
    loraBias: o.loraBias ?? false,
    alora: o.alora ?? false,
  };
  if (s.alora && !supports.alora) {
    throw new PeftError(`aLoRA (alora_invocation_tokens) is supported on Linear layers only (PEFT applies it to every token of a ${layer}), adapter '${adapterName}'`);
  }
  if (s.loraBias && !supports.loraBias) throw new PeftError(`lora_bias=true is not supported for ${layer} (as in PEFT), adapter '${adapterName}'`);
  return s;
}
