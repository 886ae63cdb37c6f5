// Per-module rank and alpha from rank_pattern / alpha_pattern (spec/peft.md §3.5), and the LoRA scaling they give.
import type { LoraConfigFields } from './config-fields.js';
import { pythonRepr } from '../serialization/python-json.js';
import { pythonMatchSpliced } from './python-regex.js';

export type PatternConfig = Pick<LoraConfigFields, 'r' | 'lora_alpha' | 'use_rslora' | 'rank_pattern' | 'alpha_pattern'>;

/** True if the pattern key `p` matches a whole dotted suffix of `name`: `re.match("(.*\.)?(" + p + ")$", name)`. */
export function patternKeyMatches(patternKey: string, name: string, what = 'pattern'): boolean {
  return pythonMatchSpliced('(.*\\.)?(', patternKey, ')$', name, what) !== null;
}

/** PEFT's `get_pattern_key`: the first key (insertion order) matching `name`, or null. */
export function findPatternKey(patterns: Record<string, number>, name: string, what = 'pattern'): string | null {
  for (const key of Object.keys(patterns)) if (patternKeyMatches(key, name, what)) return key;
  return null;
}

export interface RankAndAlpha {
  r: number;
  lora_alpha: number;
  /** lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora. */
  scaling: number;
}

/** The rank, alpha and scaling PEFT gives the LoRA layer at module `name` (rank and alpha looked up separately). */
export function rankAndAlphaFor(config: PatternConfig, name: string): RankAndAlpha {
  const rankKey = findPatternKey(config.rank_pattern, name, 'LoraConfig.rank_pattern');
  const alphaKey = findPatternKey(config.alpha_pattern, name, 'LoraConfig.alpha_pattern');
  const r = rankKey === null ? config.r : config.rank_pattern[rankKey]!;
  const lora_alpha = alphaKey === null ? config.lora_alpha : config.alpha_pattern[alphaKey]!;
  return { r, lora_alpha, scaling: loraScaling(lora_alpha, r, config.use_rslora) };
}

export function loraScaling(alpha: number, r: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** PEFT 0.21's warning for rank_pattern / alpha_pattern keys that matched none of the targeted modules. */
export function unusedPatternWarnings(config: Pick<LoraConfigFields, 'rank_pattern' | 'alpha_pattern'>, targetedModules: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const field of ['rank_pattern', 'alpha_pattern'] as const) {
    const keys = Object.keys(config[field]);
    const unused = keys.filter((key) => !targetedModules.some((name) => patternKeyMatches(key, name, `LoraConfig.${field}`))).sort();
    if (unused.length > 0) {
      warnings.push(`The following ${field} keys did not match any targeted module and were ignored: ${pythonRepr(unused)}.`);
    }
  }
  return warnings;
}
