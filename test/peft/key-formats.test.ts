// ViT adapter names across transformers eras (key-formats.ts): layer paths, short entries, the golden cases.
import { describe, expect, it } from 'vitest';
import { PeftError } from '../../lib/errors.js';
import { parseLoraConfig } from '../../lib/peft/config.js';
import { convertVitEntries, convertVitKeys, convertVitName } from '../../lib/peft/key-formats.js';
import { goldenAdapters, goldenCases, readManifest } from './golden.js';

describe('ViT names across transformers eras', () => {
  it('renames layer paths both ways and leaves other names alone', () => {
    const pairs: [string, string][] = [
      ['base_model.model.vit.encoder.layer.0.attention.attention.query.lora_A.weight', 'base_model.model.vit.layers.0.attention.q_proj.lora_A.weight'],
      ['vit.encoder.layer.11.attention.output.dense.bias', 'vit.layers.11.attention.o_proj.bias'],
      ['vit.encoder.layer.1.intermediate.dense.weight', 'vit.layers.1.mlp.fc1.weight'],
      ['vit.encoder.layer.1.output.dense.weight', 'vit.layers.1.mlp.fc2.weight'],
      ['vit.encoder.layer.1.layernorm_before.bias', 'vit.layers.1.layernorm_before.bias'],
      ['encoder.layer.0.attention.attention.value', 'layers.0.attention.v_proj'],
      ['vit.embeddings.position_embeddings', 'vit.embeddings.position_embeddings'],
      ['classifier.weight', 'classifier.weight'],
    ];
    for (const [old, now] of pairs) {
      expect(convertVitName(old, 'transformers5')).toBe(now);
      expect(convertVitName(now, 'transformers4')).toBe(old);
    }
    expect(() => convertVitName('vit.encoder.layer.0.intermediate', 'transformers5')).toThrow(PeftError);
  });

  it('maps the base_key_renames of every golden ViT case', () => {
    for (const caseName of goldenCases('peft-golden')) {
      const renames = readManifest('peft-golden', caseName).base_key_renames;
      for (const [old, now] of Object.entries(renames)) {
        expect(convertVitName(old, 'transformers5')).toBe(now);
        expect(convertVitName(now, 'transformers4')).toBe(old);
      }
    }
  });

  it('converts the transformers-4 golden ViT adapters into the transformers-5 ones (keys and config)', () => {
    for (const caseName of ['01_vit_lora_classifier', '02_vit_resized_posemb_param', '02b_vit_resized_embeddings_module']) {
      const old = goldenAdapters().find((a) => a.id === `peft-golden-transformers4/${caseName}/adapter`)!;
      const now = goldenAdapters().find((a) => a.id === `peft-golden/${caseName}/adapter`)!;
      expect(convertVitKeys(Object.keys(old.savedKeys), 'transformers5').sort()).toEqual(Object.keys(now.savedKeys).sort());
      expect(convertVitKeys(Object.keys(now.savedKeys), 'transformers4').sort()).toEqual(Object.keys(old.savedKeys).sort());
      const oldConfig = parseLoraConfig(old.configText).config;
      const newConfig = parseLoraConfig(now.configText).config;
      expect(convertVitEntries(oldConfig.target_modules, 'transformers5')).toEqual(['q_proj', 'v_proj']);
      expect([...(newConfig.target_modules as string[])].sort()).toEqual(['q_proj', 'v_proj']);
      expect(convertVitEntries(newConfig.target_modules, 'transformers4')).toEqual(['value', 'query']);
      expect(convertVitEntries(oldConfig.modules_to_save, 'transformers5')).toEqual(newConfig.modules_to_save);
    }
  });

  it('converts short entries so they select the same modules', () => {
    expect(convertVitEntries(['output.dense'], 'transformers5')).toEqual(['o_proj', 'fc2']);
    expect(convertVitEntries(['dense'], 'transformers5')).toEqual(['o_proj', 'fc1', 'fc2', 'dense']);
    expect(convertVitEntries(['o_proj', 'fc1'], 'transformers4')).toEqual(['attention.output.dense', 'intermediate.dense']);
    expect(convertVitEntries(['vit.layers.3.mlp.fc2'], 'transformers4')).toEqual(['vit.encoder.layer.3.output.dense']);
  });

  it('needs the model\'s module names for fc2 (old "output.dense" also hits the attention output)', () => {
    expect(() => convertVitEntries(['fc2'], 'transformers4')).toThrow(/without the model's module names/);
    const moduleNames = ['vit.layers.0.attention.o_proj', 'vit.layers.0.mlp.fc2', 'vit.layers.1.mlp.fc2', 'vit.layers.0.mlp'];
    expect(convertVitEntries(['fc2'], 'transformers4', { moduleNames })).toEqual(['vit.encoder.layer.0.output.dense', 'vit.encoder.layer.1.output.dense']);
  });

  it('refuses a regex that names renamed parts', () => {
    expect(() => convertVitEntries('.*\\.(query|value)', 'transformers5')).toThrow(/cannot convert the regex/);
    expect(convertVitEntries('.*classifier', 'transformers5')).toBe('.*classifier');
  });
});
