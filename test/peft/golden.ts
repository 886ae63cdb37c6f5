// Shared access to the PEFT golden fixtures (test/fixtures/peft-golden*, copied verbatim from /work/shared), and the
// comparison every golden test makes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { torch, type Tensor } from '../../lib/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
/** The largest absolute difference of two tensors of the same shape, compared in float32. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return torch.scope(() => a.to('float32').sub(b.to('float32')).abs().max().item());
}

export const GOLDEN_SETS = ['peft-golden', 'peft-golden-transformers4'] as const;

export interface SavedKeyInfo {
  dtype: string;
  shape: number[];
}

export interface GoldenAdapter {
  /** e.g. 'peft-golden/07_llama_two_named_adapters/adapter/first' */
  id: string;
  set: (typeof GOLDEN_SETS)[number];
  caseName: string;
  adapterName: string;
  configText: string;
  savedKeys: Record<string, SavedKeyInfo>;
  manifest: GoldenManifest;
}

export interface GoldenManifest {
  model_class: string;
  lora_config_kwargs: Record<string, Record<string, unknown>>;
  adapters: Record<string, { folder: string; saved_keys: Record<string, SavedKeyInfo>; lora_layers?: Record<string, { r: number; lora_alpha: number; scaling: number; base_layer: string }> }>;
  trainable_parameters: Record<string, number[]>;
  modules_to_save_report?: Record<string, Record<string, string[] | string>>;
  base_key_renames: Record<string, string>;
  base_model_keys: Record<string, SavedKeyInfo>;
}

export function goldenCases(set: (typeof GOLDEN_SETS)[number]): string[] {
  return readdirSync(join(FIXTURES, set)).filter((name) => existsSync(join(FIXTURES, set, name, 'manifest.json'))).sort();
}

export function readManifest(set: (typeof GOLDEN_SETS)[number], caseName: string): GoldenManifest {
  return JSON.parse(readFileSync(join(FIXTURES, set, caseName, 'manifest.json'), 'utf8')) as GoldenManifest;
}

/** Every adapter folder of every golden case, with its config text and the keys PEFT saved. */
export function goldenAdapters(): GoldenAdapter[] {
  const out: GoldenAdapter[] = [];
  for (const set of GOLDEN_SETS) {
    for (const caseName of goldenCases(set)) {
      const manifest = readManifest(set, caseName);
      for (const [adapterName, adapter] of Object.entries(manifest.adapters)) {
        const folder = join(FIXTURES, set, caseName, adapter.folder);
        out.push({
          id: relative(FIXTURES, folder),
          set,
          caseName,
          adapterName,
          configText: readFileSync(join(folder, 'adapter_config.json'), 'utf8'),
          savedKeys: adapter.saved_keys,
          manifest,
        });
      }
    }
  }
  return out;
}
