import { describe, expect, it } from 'vitest';
import { PeftError } from '../../lib/errors.js';
import { parseLoraConfig } from '../../lib/peft/config.js';
import { convertVitEntries, convertVitKeys, convertVitName } from '../../lib/peft/key-formats.js';
import {
  adapterKeyRole,
  buildLoadKeyMap,
  insertAdapterName,
  parameterToSaveName,
  planAdapterLoad,
  removeAdapterName,
  savedKeyFor,
  selectAdapterStateNames,
} from '../../lib/peft/keys.js';
import { goldenAdapters, goldenCases, readManifest } from './golden.js';

describe('saved keys from in-memory names (§2.3)', () => {
  const cases: [string, string][] = [
    ['base_model.model.m.q_proj.lora_A.default.weight', 'base_model.model.m.q_proj.lora_A.weight'],
    ['base_model.model.m.q_proj.lora_B.default.bias', 'base_model.model.m.q_proj.lora_B.bias'],
    ['base_model.model.m.embed.lora_embedding_A.default', 'base_model.model.m.embed.lora_embedding_A'],
    ['base_model.model.m.q_proj.lora_magnitude_vector.default.weight', 'base_model.model.m.q_proj.lora_magnitude_vector'],
    ['base_model.model.classifier.modules_to_save.default.weight', 'base_model.model.classifier.weight'],
    ['base_model.model.vit.embeddings.modules_to_save.default.patch_embeddings.projection.bias', 'base_model.model.vit.embeddings.patch_embeddings.projection.bias'],
    ['base_model.model.vit.embeddings.position_embeddings.modules_to_save.default', 'base_model.model.vit.embeddings.position_embeddings'],
    ['base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta.default', 'base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta'],
    ['base_model.model.m.q_proj.base_layer.bias', 'base_model.model.m.q_proj.base_layer.bias'],
    // A module named like the adapter keeps its name (PEFT >= 0.18).
    ['base_model.model.default.q.lora_A.default.weight', 'base_model.model.default.q.lora_A.weight'],
  ];
  for (const [inMemory, saved] of cases) {
    it(`${inMemory} -> ${saved}`, () => {
      expect(savedKeyFor(inMemory, 'default')).toBe(saved);
    });
  }

  it('removes only the adapter name at its one position', () => {
    expect(removeAdapterName('a.mlp.lora_A.mlp.weight', 'mlp')).toBe('a.mlp.lora_A.weight');
    expect(removeAdapterName('weight', 'default')).toBe('weight');
  });

  it('inserts the adapter name model-free for LoRA keys (PEFT <= 0.20 algorithm)', () => {
    expect(insertAdapterName('m.q.lora_A.weight', 'x')).toBe('m.q.lora_A.x.weight');
    expect(insertAdapterName('m.embed.lora_embedding_B', 'x')).toBe('m.embed.lora_embedding_B.x');
    expect(insertAdapterName('m.q.lora_magnitude_vector', 'x')).toBe('m.q.lora_magnitude_vector.x.weight');
    expect(insertAdapterName('m.weight_proj.lora_B.weight', 'x')).toBe('m.weight_proj.lora_B.x.weight');
    expect(insertAdapterName('m.q.base_layer.bias', 'x')).toBe('m.q.base_layer.bias');
  });

  it('tells each kind of adapter tensor by its name', () => {
    expect(adapterKeyRole('m.q.lora_A.a.weight', 'a')).toBe('lora');
    expect(adapterKeyRole('c.modules_to_save.a.weight', 'a')).toBe('modules_to_save');
    expect(adapterKeyRole(parameterToSaveName('v.pos', 'a'), 'a')).toBe('parameter_to_save');
    expect(adapterKeyRole('e.token_adapter.trainable_tokens_delta.a', 'a')).toBe('trainable_tokens');
    expect(adapterKeyRole('m.q.base_layer.bias', 'a')).toBe('base');
  });
});

describe('every golden adapter: in-memory trainable names <-> saved keys', () => {
  for (const adapter of goldenAdapters()) {
    const trainable = Object.keys(adapter.manifest.trainable_parameters);
    if (trainable.length === 0) continue;
    it(`${adapter.id}`, () => {
      const saved = Object.keys(adapter.savedKeys);
      const names = trainable.filter((name) => adapterKeyRole(name, adapter.adapterName) !== 'base' || saved.includes(name));
      const mine = names.filter((name) => adapterKeyRole(name, adapter.adapterName) === 'base' || name.includes(`.${adapter.adapterName}`));
      if (mine.length === 0) {
        // trainable_parameters lists the case's active adapter only: rebuild this one's names model-free instead.
        const rebuilt = saved.map((key) => insertAdapterName(key, adapter.adapterName));
        expect(rebuilt.every((name) => name.includes(`.${adapter.adapterName}`))).toBe(true);
        expect(rebuilt.map((name) => savedKeyFor(name, adapter.adapterName))).toEqual(saved);
        return;
      }
      for (const name of mine) expect(saved, name).toContain(savedKeyFor(name, adapter.adapterName));
      // Loading maps every saved key back (base tensors such as embed_tokens.base_layer.weight by identical name).
      const modelNames = [...mine, ...saved.filter((key) => !key.includes('lora_') && !mine.some((n) => savedKeyFor(n, adapter.adapterName) === key))];
      const plan = planAdapterLoad(saved, modelNames, adapter.adapterName);
      expect(plan.unexpected).toEqual([]);
      expect(plan.missing).toEqual({ lora: [], modules_to_save: [], parameter_to_save: [], trainable_tokens: [] });
      for (const [key, target] of plan.assignments) {
        if (target.includes(`.${adapter.adapterName}`)) expect(savedKeyFor(target, adapter.adapterName)).toBe(key);
      }
    });
  }
});

describe('selecting what to save (§2.4)', () => {
  const names = [
    'base_model.model.m.q.base_layer.weight', 'base_model.model.m.q.base_layer.bias',
    'base_model.model.m.q.lora_A.a.weight', 'base_model.model.m.q.lora_B.a.weight',
    'base_model.model.m.q.lora_A.b.weight', 'base_model.model.m.q.lora_B.b.weight',
    'base_model.model.m.k.weight', 'base_model.model.m.k.bias',
    'base_model.model.head.original_module.weight', 'base_model.model.head.modules_to_save.a.weight', 'base_model.model.head.modules_to_save.b.weight',
    'base_model.model.v.pos', 'base_model.model.v.pos.modules_to_save.a',
  ];
  const base = { names, adapterName: 'a', allAdapterNames: ['a', 'b'], loraLayers: ['base_model.model.m.q'], moduleWrappers: ['base_model.model.head'], parameterWrappers: ['base_model.model.v.pos'] };

  it('takes this adapter\'s LoRA tensors and copies, saved under the originals\' keys', () => {
    const selected = selectAdapterStateNames({ ...base, bias: 'none' });
    expect(selected).toEqual([
      'base_model.model.m.q.lora_A.a.weight', 'base_model.model.m.q.lora_B.a.weight',
      'base_model.model.head.modules_to_save.a.weight', 'base_model.model.v.pos.modules_to_save.a',
    ]);
    expect(selected.map((n) => savedKeyFor(n, 'a'))).toEqual([
      'base_model.model.m.q.lora_A.weight', 'base_model.model.m.q.lora_B.weight', 'base_model.model.head.weight', 'base_model.model.v.pos',
    ]);
  });

  it('adds biases for bias="lora_only" (base_layer.bias) and bias="all" (every bias)', () => {
    expect(selectAdapterStateNames({ ...base, bias: 'lora_only' })).toContain('base_model.model.m.q.base_layer.bias');
    expect(selectAdapterStateNames({ ...base, bias: 'lora_only' })).not.toContain('base_model.model.m.k.bias');
    expect(selectAdapterStateNames({ ...base, bias: 'all' })).toEqual(expect.arrayContaining(['base_model.model.m.q.base_layer.bias', 'base_model.model.m.k.bias']));
  });

  it('round-trips through the load plan, with the parameter copy mapped back', () => {
    const saved = selectAdapterStateNames({ ...base, bias: 'none' }).map((n) => savedKeyFor(n, 'a'));
    const map = buildLoadKeyMap(names, 'a');
    expect(map.get('base_model.model.v.pos')).toBe('base_model.model.v.pos.modules_to_save.a');
    const plan = planAdapterLoad(saved, names, 'a');
    expect(plan.unexpected).toEqual([]);
    expect(plan.assignments.map(([, target]) => target)).toEqual(selectAdapterStateNames({ ...base, bias: 'none' }));
    const partial = planAdapterLoad(saved.filter((k) => k !== 'base_model.model.v.pos'), names, 'a');
    expect(partial.missing.parameter_to_save).toEqual(['base_model.model.v.pos.modules_to_save.a']);
  });

  it('maps prefixed saved keys onto a model without the base_model.model. prefix', () => {
    const plan = planAdapterLoad(['base_model.model.m.q.lora_A.weight', 'base_model.model.m.k.bias'], ['m.q.lora_A.x.weight', 'm.k.bias'], 'x');
    expect(plan.assignments).toEqual([['base_model.model.m.q.lora_A.weight', 'm.q.lora_A.x.weight'], ['base_model.model.m.k.bias', 'm.k.bias']]);
  });
});

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
