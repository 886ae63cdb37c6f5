// savePretrained(dir, { keyFormat: 'transformers4' }) on adapters made with getPeftModel writes the names PEFT wrote
// in the transformers-4 era: the same keys, shapes and dtypes as test/fixtures/peft-golden-transformers4, and the old
// target_modules / modules_to_save. Reading it back converts to the current names with identical logits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, PeftModel, readAdapterConfig, safetensors } from '../../lib/index.js';
import { FIXTURES, readManifest } from '../peft/golden.js';
import { buildScenario, type InteropScenario } from './scenarios.js';

const SAFETENSORS_DTYPES: Record<string, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64' };
const scratch = mkdtempSync(join(tmpdir(), 'node-peft-keyformat-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CASES: { caseName: string; modulesToSave: string[]; extraKeys: string[] }[] = [
  { caseName: '01_vit_lora_classifier', modulesToSave: ['classifier'], extraKeys: [] },
  { caseName: '02b_vit_resized_embeddings_module', modulesToSave: ['classifier', 'vit.embeddings'], extraKeys: [] },
  // PEFT ignored the parameter entry, so its file lacks the key node-peft saves for it (docs/checkpoint-format.md).
  { caseName: '02_vit_resized_posemb_param', modulesToSave: ['classifier', 'position_embeddings'], extraKeys: ['base_model.model.vit.embeddings.position_embeddings'] },
];

describe("keyFormat: 'transformers4'", () => {
  for (const { caseName, modulesToSave, extraKeys } of CASES) {
    it(`${caseName}: the saved keys, shapes, dtypes and module lists are the transformers-4 fixture's`, async () => {
      const scenario: InteropScenario = {
        name: `${caseName}-t4`,
        goldenCase: join(FIXTURES, 'peft-golden-transformers4', caseName),
        adapters: [{ name: 'default', config: { r: 4, lora_alpha: 8, init_lora_weights: false, target_modules: ['q_proj', 'v_proj'], modules_to_save: modulesToSave } }],
        keyFormat: 'transformers4',
      };
      const built = await buildScenario(scenario, scratch);
      const expectedKeys = readManifest('peft-golden-transformers4', caseName).adapters.default.saved_keys;
      const saved = await safetensors.load(join(built.adapterRoot, 'adapter_model.safetensors'));
      const savedInfo = Object.fromEntries(Object.entries(saved).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }]));
      const fixtureInfo = Object.fromEntries(Object.entries(expectedKeys).map(([k, info]) => [k, { dtype: SAFETENSORS_DTYPES[info.dtype] ?? info.dtype, shape: info.shape }]));
      for (const key of extraKeys) {
        expect(savedInfo[key]).toBeDefined();
        delete savedInfo[key];
      }
      expect(savedInfo).toEqual(fixtureInfo);
      expect(Object.keys(saved).some((k) => k.includes('.layers.') || k.includes('q_proj'))).toBe(false);

      const config = await readAdapterConfig(built.adapterRoot);
      expect([...(config.target_modules as string[])].sort()).toEqual(['query', 'value']);
      expect(config.modules_to_save).toEqual(modulesToSave);

      // node-peft reads its old-format file back into the current names, with the logits it had when saving.
      const peft = await PeftModel.fromPretrained(await models.fromPretrained(join(scenario.goldenCase, 'base')), built.adapterRoot, { warn: () => undefined });
      peft.eval();
      const { pixel_values } = await safetensors.load(join(scenario.goldenCase, 'inputs.safetensors'));
      const reloaded = (peft.forward({ pixel_values }) as { logits: import('../../lib/index.js').Tensor }).logits;
      const { 'logits.default': before } = await safetensors.load(built.pythonCase.ours);
      expect(reloaded.sub(before).abs().max().item()).toBeLessThanOrEqual(1e-6);
      for (const t of [...Object.values(saved), reloaded, before, pixel_values]) t.dispose();
      peft.dispose();
    });
  }
});
