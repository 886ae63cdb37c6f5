// add_weighted_adapter (PEFT §5.12, as PEFT 0.21 computes it): 'linear', 'cat', 'svd', and the task-arithmetic
// family of merge-utils.ts ('ties', 'dare_linear', 'dare_ties', 'magnitude_prune') with their '_svd' forms.
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
import { combineTaskTensors, type MajoritySignMethod, type TaskCombination } from './merge-utils.js';
import type { AdapterHost } from './host.js';

const ON_FACTORS = ['linear', 'ties', 'dare_linear', 'dare_ties', 'magnitude_prune'] as const;
const ON_DELTAS = ['svd', 'ties_svd', 'dare_linear_svd', 'dare_ties_svd', 'magnitude_prune_svd'] as const;
export const COMBINATION_TYPES = ['cat', ...ON_FACTORS, ...ON_DELTAS] as const;
export type CombinationType = (typeof COMBINATION_TYPES)[number];

export interface WeightedAdapterOptions {
  svdRank?: number;
  /** Quantile at which the SVD factors are clipped (PEFT's svd_clamp). */
  svdClamp?: number | null;
  svdFullMatrices?: boolean;
  /** Fraction of values kept by ties / dare_* / magnitude_prune (and their _svd forms). */
  density?: number | null;
  /** How ties / dare_ties elect the sign: 'total' (sum of values, default) or 'frequency' (count of signs). */
  majoritySignMethod?: MajoritySignMethod;
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
  if ((ON_FACTORS as readonly string[]).includes(combination)) {
    if (new Set(ranks).size !== 1) {
      throw new PeftError('add_weighted_adapter: all adapters must have the same r value when using combination_type linear, ties, dare_ties or dare_linear');
    }
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
  if (!(COMBINATION_TYPES as readonly string[]).includes(combinationType)) {
    throw new PeftError(`add_weighted_adapter: combination_type must be one of ${COMBINATION_TYPES.join(', ')}, got ${JSON.stringify(combinationType)}`);
  }
  const configs = adapters.map((name) => {
    const config = peft.peftConfig.get(name);
    if (!config) throw new PeftError(`Adapter ${name} does not exist`);
    if ((config.target_parameters ?? []).length > 0) throw new PeftError(`add_weighted_adapter does not support targeting nn.Parameter (problematic adapter '${name}')`);
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
      if ((ON_DELTAS as readonly string[]).includes(combination)) return combineSvd(layer, combination, present, targetA, targetB, newRank, options, peft.warn);
      if ((ON_FACTORS as readonly string[]).includes(combination)) {
        // PEFT's _generalized_task_arithmetic_weighted_adapter: √|w·s| on both factors, the sign on A only
        const factors = present.map(({ name, weight }) => ({ pair: pair(layer, name), ws: weight * layer.setting(name).scaling }));
        const task = { density: options.density ?? null, majoritySignMethod: options.majoritySignMethod, warn: peft.warn };
        const kind = combination as TaskCombination;
        targetA.copy_(combineTaskTensors(kind, factors.map((f) => f.pair[0]), factors.map((f) => Math.sqrt(Math.abs(f.ws)) * (f.ws >= 0 ? 1 : -1)), task));
        targetB.copy_(combineTaskTensors(kind, factors.map((f) => f.pair[1]), factors.map((f) => Math.sqrt(Math.abs(f.ws))), task));
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

function combineSvd(layer: LoraLayer, combination: CombinationType, present: { name: string; weight: number }[], targetA: Tensor, targetB: Tensor,
  rank: number, options: WeightedAdapterOptions, warn: (m: string) => void): void {
  if (!(layer instanceof LoraLinear) && !(layer instanceof LoraEmbedding)) {
    throw new PeftError(`add_weighted_adapter('${combination}'): ${layer.constructor.name} layers are not supported`);
  }
  const kind = (combination === 'svd' ? 'linear' : combination.slice(0, -'_svd'.length)) as TaskCombination;
  let delta = combineTaskTensors(kind, present.map(({ name }) => layer.deltaWeight(name)), present.map(({ weight }) => weight),
    { density: options.density ?? null, majoritySignMethod: options.majoritySignMethod, warn });
  const transposed = layer instanceof LoraEmbedding || layer.fanInFanOut;
  if (transposed) delta = delta.mT();
  const [B, A] = loraSvd(delta.float(), rank, { fullMatrices: options.svdFullMatrices ?? true, clamp: options.svdClamp ?? null });
  targetB.copy_(B);
  targetA.copy_(A);
}
