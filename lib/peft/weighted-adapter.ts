// add_weighted_adapter (PEFT §5.12, as PEFT 0.21 computes it) for combination types 'linear', 'cat' and 'svd'.
import { PeftError } from '../errors.js';
import type { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import { loraSvd } from '../tensor/lora.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { LoraConfig, loraConfigToObject } from './config.js';
import { LoraEmbedding } from './layers/lora-embedding.js';
import { LoraLayer } from './layers/lora-layer.js';
import { LoraLinear } from './layers/lora-linear.js';
import type { AdapterHost } from './host.js';

export type CombinationType = 'linear' | 'cat' | 'svd';

export interface WeightedAdapterOptions {
  svdRank?: number;
  /** Quantile at which the SVD factors are clipped (PEFT's svd_clamp). */
  svdClamp?: number | null;
  svdFullMatrices?: boolean;
}

/** [A, B] of one adapter on a layer (lora_A/lora_B or lora_embedding_A/B). */
function pair(layer: LoraLayer, adapter: string): [Parameter, Parameter] {
  const params = layer.adapterParameters(adapter);
  const find = (kind: 'A' | 'B'): Parameter => {
    const hit = params.find(([name]) => name.startsWith(`lora_${kind}.`) || name.startsWith(`lora_embedding_${kind}.`));
    if (!hit) throw new PeftError(`${layer.constructor.name}: adapter '${adapter}' has no lora_${kind}`);
    return hit[1];
  };
  return [find('A'), find('B')];
}

function combinedTargets(configs: LoraConfig[]): string[] | string {
  const targets = configs.map((c) => c.target_modules);
  if (targets.every((t) => Array.isArray(t))) return [...new Set(targets.flatMap((t) => t as string[]))];
  if (targets.every((t) => typeof t === 'string')) return targets.map((t) => `(${t})`).join('|');
  throw new PeftError('add_weighted_adapter: all adapters must have target_modules of the same type (all lists or all regex strings)');
}

function newRankFor(configs: LoraConfig[], combination: CombinationType, options: WeightedAdapterOptions): number {
  const ranks = configs.map((c) => Math.max(c.r, ...Object.values(c.rank_pattern)));
  if (combination === 'linear') {
    if (new Set(ranks).size !== 1) throw new PeftError("add_weighted_adapter: all adapters must have the same r value when using combination_type 'linear'");
    return ranks[0];
  }
  if (combination === 'cat') return ranks.reduce((a, b) => a + b, 0);
  return options.svdRank ?? Math.max(...ranks);
}

/**
 * Combines trained adapters into a new one (not activated). 'linear': equal ranks; A' = Σ√|wᵢsᵢ|·sign(wᵢsᵢ)·Aᵢ,
 * B' = Σ√|wᵢsᵢ|·Bᵢ. 'cat': rank Σrᵢ, A' = [wᵢsᵢ·Aᵢ] stacked, B' = [Bᵢ] side by side (exactly Σ wᵢΔWᵢ).
 * 'svd': Σ wᵢΔWᵢ truncated to svdRank by SVD. The new config has r = lora_alpha = new rank (scaling 1).
 */
export function addWeightedAdapter(peft: AdapterHost, adapters: string[], weights: number[], adapterName: string,
  combinationType: CombinationType = 'svd', options: WeightedAdapterOptions = {}): void {
  if (peft.peftConfig.has(adapterName)) return;
  if (adapters.length === 0 || adapters.length !== weights.length) {
    throw new PeftError(`add_weighted_adapter: expected as many weights as adapters (at least one), got ${adapters.length} adapters and ${weights.length} weights`);
  }
  if (!['linear', 'cat', 'svd'].includes(combinationType)) {
    throw new PeftError(`add_weighted_adapter: combination_type must be 'linear', 'cat' or 'svd' in node-peft, got ${JSON.stringify(combinationType)}`);
  }
  const configs = adapters.map((name) => {
    const config = peft.peftConfig.get(name);
    if (!config) throw new PeftError(`Adapter ${name} does not exist`);
    if ((config.modules_to_save ?? []).length > 0 || config.trainable_token_indices !== null) {
      throw new PeftError(`add_weighted_adapter: adapter '${name}' has modules_to_save or trainable tokens, which node-peft cannot combine`);
    }
    if (config.use_dora) throw new PeftError(`add_weighted_adapter: adapter '${name}' uses DoRA, which cannot be combined`);
    return config;
  });
  const combination: CombinationType = adapters.length === 1 ? 'linear' : combinationType;
  const newRank = newRankFor(configs, combination, options);
  const config = new LoraConfig(
    { ...(loraConfigToObject(configs[0]) as Partial<LoraConfig>), r: newRank, lora_alpha: newRank, use_rslora: false,
      target_modules: combinedTargets(configs), rank_pattern: {}, alpha_pattern: {}, modules_to_save: null, layers_to_transform: null, layers_pattern: null },
    { warn: () => undefined },
  );
  peft.addAdapter(adapterName, config);
  for (const [, layer] of peft.carriers()) {
    if (!(layer instanceof LoraLayer) || !layer.hasAdapter(adapterName)) continue;
    const present = adapters.map((name, i) => ({ name, weight: weights[i] })).filter(({ name }) => layer.hasAdapter(name));
    const [targetA, targetB] = pair(layer, adapterName);
    noGrad(() => scope(() => {
      targetA.zero_();
      targetB.zero_();
      if (present.length === 0) return;
      if (combination === 'svd') return combineSvd(layer, present, targetA, targetB, newRank, options);
      if (combination === 'linear') {
        for (const { name, weight } of present) {
          const [A, B] = pair(layer, name);
          const ws = weight * layer.setting(name).scaling;
          const c = Math.sqrt(Math.abs(ws));
          targetA.add_(A.mul(c * Math.sign(ws)));
          targetB.add_(B.mul(c));
        }
        return;
      }
      const As: Tensor[] = [];
      const Bs: Tensor[] = [];
      for (const { name, weight } of present) {
        const [A, B] = pair(layer, name);
        As.push(A.mul(weight * layer.setting(name).scaling));
        Bs.push(B);
      }
      const catA = cat(As, 0);
      const catB = cat(Bs, 1);
      targetA.narrow(0, 0, catA.shape[0]).copy_(catA);
      targetB.narrow(1, 0, catB.shape[1]).copy_(catB);
    }));
  }
}

function combineSvd(layer: LoraLayer, present: { name: string; weight: number }[], targetA: Tensor, targetB: Tensor, rank: number,
  options: WeightedAdapterOptions): void {
  if (!(layer instanceof LoraLinear) && !(layer instanceof LoraEmbedding)) {
    throw new PeftError(`add_weighted_adapter('svd'): ${layer.constructor.name} layers are not supported`);
  }
  let delta = present.map(({ name, weight }) => layer.deltaWeight(name).mul(weight)).reduce((a, b) => a.add(b));
  const transposed = layer instanceof LoraEmbedding || layer.fanInFanOut;
  if (transposed) delta = delta.mT();
  const [B, A] = loraSvd(delta.float(), rank, { fullMatrices: options.svdFullMatrices ?? true, clamp: options.svdClamp ?? null });
  targetB.copy_(B);
  targetA.copy_(A);
}
