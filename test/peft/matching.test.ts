import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NoMatchingTargetError, PeftError } from '../../lib/errors.js';
import { LoraConfig, parseLoraConfig, type LoraConfigInit } from '../../lib/peft/config.js';
import {
  checkTargetModuleExists,
  classifyTargetModule,
  expandAllLinear,
  findMinimalTargetModules,
  findTargets,
  type ModuleInfo,
  type ModuleKind,
  type TargetMatch,
} from '../../lib/peft/matching.js';
import { matchModulesToSave, modulesToSaveForTask } from '../../lib/peft/modules-to-save-matching.js';
import { findPatternKey, rankAndAlphaFor } from '../../lib/peft/patterns.js';
import { FIXTURES, goldenAdapters } from './golden.js';

const config = (init: LoraConfigInit) => new LoraConfig(init, { warn: () => {} });

interface Reference {
  matching: { key: string; config: LoraConfigInit; result: TargetMatch }[];
  configs: { kwargs: LoraConfigInit; text: string }[];
  patterns: { patterns: string[]; name: string; key: string | null }[];
  minimal_target_modules: { targets: string[]; others: string[]; result: string[] }[];
  toy_model: { modules: [string, string][]; parameters: string[] };
  injection: ({ config: LoraConfigInit; warnings: string[] } & ({ error: string; message: string } | { targeted: string[]; targeted_parameters: string[]; target_modules: string[] | string }))[];
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'peft-core', 'reference.json'), 'utf8')) as Reference;

// spec/peft.md §3.9, every row. Rows 29 and 33 differ from the spec: PEFT 0.21 (checked in
// test/fixtures/peft-core/reference.json) lets layers_pattern start the name: `(?:^|.*?\.)pattern\.(\d+)\.`.
const SPEC_TABLE: [row: number, key: string, init: LoraConfigInit, expected: TargetMatch][] = [
  [1, 'foo', { target_modules: ['foo'] }, 'matched'],
  [2, 'foo', { target_modules: ['bar'] }, 'unmatched'],
  [3, 'foo', { target_modules: [] }, 'unmatched'],
  [4, '', { target_modules: ['foo'] }, 'unmatched'],
  [5, 'foo', { target_modules: ['foo', 'bar'] }, 'matched'],
  [6, 'foo', { target_modules: 'foo' }, 'matched'],
  [7, 'foo', { target_modules: '.*oo' }, 'matched'],
  [8, 'foo', { target_modules: 'fo.*' }, 'matched'],
  [9, 'foo', { target_modules: '.*bar.*' }, 'unmatched'],
  [10, 'foobar', { target_modules: '.*oba.*' }, 'matched'],
  [16, 'transformer.h.1.attn.attention.q_proj.foo', { target_modules: ['q_proj'], layers_pattern: [] }, 'unmatched'],
  [17, 'transformer.h.1.attn.attention.q_proj', { target_modules: ['q_proj', 'v_proj'], layers_pattern: [] }, 'matched'],
  [18, 'transformer.h.1.attn.attention.resid_dropout', { target_modules: ['q_proj', 'v_proj'], layers_pattern: [] }, 'unmatched'],
  [19, 'transformer.h.1.attn.attention.q_proj', { target_modules: ['q_proj'], layers_to_transform: [1], layers_pattern: ['h'] }, 'matched'],
  [20, 'transformer.h.1.attn.attention.q_proj', { target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: ['h'] }, 'unmatched'],
  [22, 'foo.bar.1.baz', { target_modules: ['baz'], layers_to_transform: [0, 1, 2], layers_pattern: ['bar'] }, 'matched'],
  [23, 'foo.bar.10.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: ['bar'] }, 'unmatched'],
  [27, 'foo.bar.1.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: ['foo'] }, 'unmatched'],
  [28, 'foo.bar.1.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: ['baz'] }, 'unmatched'],
  [29, 'bar.1.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: ['bar'] }, 'matched'],
  [30, 'foo.whatever.1.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: [] }, 'matched'],
  [30, 'foo.whatever.1.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: '' }, 'matched'],
  [30, 'foo.whatever.1.baz', { target_modules: ['baz'], layers_to_transform: [1], layers_pattern: null }, 'matched'],
  [31, 'foo.whatever.1.baz', { target_modules: ['baz'], layers_to_transform: [0] }, 'unmatched'],
  [32, 'mlp.blocks.1.weight', { target_modules: ['weight'], layers_to_transform: [1], layers_pattern: ['blocks'] }, 'matched'],
  [33, 'blocks.1.weight', { target_modules: ['weight'], layers_to_transform: [1], layers_pattern: ['blocks'] }, 'matched'],
  [34, 'mlp.blocks.1.bias', { target_modules: ['weight'], layers_to_transform: [1], layers_pattern: ['blocks'] }, 'unmatched'],
  [38, 'lin0', { target_modules: ['lin0', 'lin1'], exclude_modules: ['lin0'] }, 'excluded'],
  [39, 'lin0', { target_modules: 'lin.*', exclude_modules: 'lin0' }, 'excluded'],
  [42, 'classifier', { target_modules: ['classifier'], modules_to_save: ['classifier'] }, 'excluded'],
];

describe('checkTargetModuleExists: the spec table (§3.9)', () => {
  for (const [row, key, init, expected] of SPEC_TABLE) {
    it(`row ${row}: '${key}' with ${JSON.stringify(init)} is ${expected}`, () => {
      expect(classifyTargetModule(config(init), key)).toBe(expected);
      expect(checkTargetModuleExists(config(init), key)).toBe(expected === 'matched');
    });
  }
});

describe('checkTargetModuleExists against PEFT 0.21 (reference.json)', () => {
  for (const { key, config: init, result } of reference.matching) {
    it(`'${key}' with ${JSON.stringify(init)} is ${result}`, () => {
      expect(classifyTargetModule(config(init), key)).toBe(result);
    });
  }
});

describe('rank_pattern / alpha_pattern lookup (§3.5)', () => {
  for (const { patterns, name, key } of reference.patterns) {
    it(`${JSON.stringify(patterns)} picks ${JSON.stringify(key)} for '${name}'`, () => {
      expect(findPatternKey(Object.fromEntries(patterns.map((p) => [p, 1])), name)).toBe(key);
    });
  }

  it('gives each golden LoRA layer the r, alpha and scaling PEFT gave it', () => {
    let layers = 0;
    for (const adapter of goldenAdapters()) {
      const { config: parsed } = parseLoraConfig(adapter.configText);
      for (const [name, layer] of Object.entries(adapter.manifest.adapters[adapter.adapterName]!.lora_layers ?? {})) {
        const got = rankAndAlphaFor(parsed, name);
        expect(got.r, `${adapter.id} ${name}`).toBe(layer.r);
        expect(got.lora_alpha, `${adapter.id} ${name}`).toBe(layer.lora_alpha);
        expect(got.scaling).toBeCloseTo(layer.scaling, 12);
        layers++;
      }
    }
    expect(layers).toBeGreaterThan(100);
  });
});

const KIND_OF_CLASS: Record<string, ModuleKind> = { Linear: 'linear', Embedding: 'embedding', ModuleList: 'module_list', ModuleDict: 'module_dict' };
const toyModules: ModuleInfo[] = reference.toy_model.modules.map(([name, cls]) => ({ name, kind: KIND_OF_CLASS[cls] ?? 'other' }));

describe('findTargets against PEFT 0.21 injection on a toy model', () => {
  for (const { config: init, warnings, ...outcome } of reference.injection) {
    it(`${JSON.stringify(init)}`, () => {
      const run = () => findTargets(config(init), { modules: toyModules, parameters: reference.toy_model.parameters });
      if ('error' in outcome) {
        expect(run).toThrow(NoMatchingTargetError);
        expect(run).toThrow(outcome.message);
        return;
      }
      const selection = run();
      expect([...selection.targetModules].sort()).toEqual(outcome.targeted);
      expect(selection.targetParameters).toEqual(outcome.targeted_parameters);
      const resolved = selection.resolvedTargetModules;
      expect(Array.isArray(resolved) ? [...resolved].sort() : resolved).toEqual(outcome.target_modules);
      expect(selection.warnings).toEqual(warnings);
    });
  }

  it('refuses a parameter of the root module in target_parameters', () => {
    const model = { modules: [{ name: '', kind: 'other' as const }], parameters: ['pos'] };
    expect(() => findTargets(config({ target_modules: [], target_parameters: ['pos'] }), model)).toThrow(/top-level module is not supported \(parameter 'pos'\)/);
  });

  it('matches target_parameters through .base_layer of an earlier wrapper', () => {
    const model = { modules: [{ name: 'mlp', kind: 'other' as const }], parameters: ['mlp.experts.base_layer.gate_up_proj'] };
    expect(findTargets(config({ target_modules: [], target_parameters: ['experts.gate_up_proj'] }), model).targetParameters).toEqual(['mlp.experts.gate_up_proj']);
  });
});

describe('all-linear (§3.2)', () => {
  const modules: ModuleInfo[] = [
    { name: '', kind: 'other' },
    { name: 'model.embed_tokens', kind: 'embedding' },
    { name: 'model.layers.0.q_proj', kind: 'linear' },
    { name: 'model.layers.0.c_attn', kind: 'transformers_conv1d' },
    { name: 'model.layers.0.v_proj', kind: 'linear', isLoraLayer: true },
    { name: 'model.layers.0.v_proj.lora_A', kind: 'module_dict' },
    { name: 'model.layers.0.v_proj.lora_A.default', kind: 'linear' },
    { name: 'lm_head', kind: 'linear' },
    { name: 'score', kind: 'linear' },
  ];

  it('excludes the output embedding of a transformers model, but nothing in a plain model', () => {
    expect(expandAllLinear({ modules, outputEmbeddingName: 'lm_head' })).toEqual(['model.layers.0.q_proj', 'model.layers.0.c_attn', 'model.layers.0.v_proj', 'score']);
    expect(expandAllLinear({ modules })).toContain('lm_head');
  });

  it('excludes a SEQ_CLS head when the transformers model has no output embedding', () => {
    expect(expandAllLinear({ modules, outputEmbeddingName: null }, 'SEQ_CLS')).not.toContain('score');
    expect(expandAllLinear({ modules, outputEmbeddingName: null }, null)).toContain('score');
  });

  it('is recognised case-insensitively as a string only, and becomes the list of full names', () => {
    const selection = findTargets(config({ target_modules: 'ALL-LINEAR' }), { modules, outputEmbeddingName: 'lm_head' });
    expect(selection.resolvedTargetModules).toEqual(['model.layers.0.q_proj', 'model.layers.0.c_attn', 'model.layers.0.v_proj', 'score']);
    expect(selection.targetModules).toEqual(['model.layers.0.q_proj', 'model.layers.0.c_attn', 'model.layers.0.v_proj', 'score']);
    expect(() => findTargets(config({ target_modules: ['all-linear'] }), { modules })).toThrow("Target modules {'all-linear'} not found");
  });

  it('reproduces golden case 03: every Linear except lm_head', () => {
    const adapter = goldenAdapters().find((a) => a.id === 'peft-golden/03_llama_all_linear_rslora/adapter')!;
    const saved = parseLoraConfig(adapter.configText).config.target_modules as string[];
    const llamaModules: ModuleInfo[] = [...saved.map((name) => ({ name, kind: 'linear' as const })), { name: 'lm_head', kind: 'linear' }, { name: 'model.embed_tokens', kind: 'embedding' }];
    expect(expandAllLinear({ modules: llamaModules, outputEmbeddingName: 'lm_head' }).sort()).toEqual([...saved].sort());
  });
});

describe('condensing long target lists (§3.4)', () => {
  for (const { targets, others, result } of reference.minimal_target_modules) {
    it(`${targets.length} targets condense to ${JSON.stringify(result)}`, () => {
      expect(findMinimalTargetModules(targets, others).sort()).toEqual(result);
    });
  }

  it('applies from 20 entries and keeps the same selection', () => {
    const names = Array.from({ length: 12 }, (_, i) => [`m.layers.${i}.q`, `m.layers.${i}.v`, `m.layers.${i}.k`]).flat();
    const modules = names.map((name) => ({ name, kind: 'linear' as const }));
    const targets = names.filter((n) => !n.endsWith('.k'));
    const selection = findTargets(config({ target_modules: targets }), { modules });
    expect(selection.resolvedTargetModules).toEqual(['q', 'v']);
    expect(selection.targetModules).toEqual(targets);
  });
});

describe('modules_to_save (§4.1 plus the parameter-level extension)', () => {
  const vit = {
    modules: ['', 'vit', 'vit.embeddings', 'vit.embeddings.patch_embeddings', 'vit.embeddings.patch_embeddings.projection', 'vit.layers', 'vit.layers.0.attention.q_proj', 'classifier', 'lm_head']
      .map((name): ModuleInfo => ({ name, kind: name === 'vit.layers' ? 'module_list' : 'other' })),
    parameters: ['vit.embeddings.cls_token', 'vit.embeddings.position_embeddings', 'vit.embeddings.patch_embeddings.projection.weight', 'classifier.weight', 'classifier.bias'],
  };

  it('wraps modules by raw suffix as PEFT does, warning when the match is not at a dot', () => {
    const selection = matchModulesToSave(['classifier', 'head'], vit);
    expect(selection.modules).toEqual(['classifier', 'lm_head']);
    expect(selection.entries.map((e) => e.kind)).toEqual(['modules', 'modules']);
    expect(selection.warnings).toEqual(["modules_to_save entry 'head' also wraps 'lm_head': PEFT matches the end of the name as plain text, not at a '.' boundary."]);
  });

  it('selects a bare parameter by short or full name (golden case 02)', () => {
    for (const entry of ['position_embeddings', 'vit.embeddings.position_embeddings', 'embeddings.position_embeddings']) {
      const selection = matchModulesToSave(['classifier', entry], vit);
      expect(selection.entries[1]).toEqual({ entry, kind: 'parameters', modules: [], parameters: ['vit.embeddings.position_embeddings'] });
      expect(selection.modules).toEqual(['classifier']);
      expect(selection.parameters).toEqual(['vit.embeddings.position_embeddings']);
    }
  });

  it('throws naming an entry that matches nothing', () => {
    expect(() => matchModulesToSave(['classifer'], vit)).toThrow(NoMatchingTargetError);
    expect(() => matchModulesToSave(['classifer'], vit)).toThrow(/modules_to_save entry 'classifer' matches no module and no parameter/);
    expect(matchModulesToSave(['classifer'], vit, { onUnmatched: 'warn' }).warnings[0]).toMatch(/'classifer' matches no module/);
  });

  it('lets the task head names match nothing (BERT SEQ_CLS lists score, golden case 06)', () => {
    const entries = modulesToSaveForTask({ modules_to_save: ['classifier'], task_type: 'SEQ_CLS' });
    expect(entries).toEqual(['classifier', 'classifier', 'score']);
    const selection = matchModulesToSave(entries, vit, { taskType: 'SEQ_CLS' });
    expect(selection.modules).toEqual(['classifier']);
    expect(selection.entries.map((e) => [e.entry, e.kind])).toEqual([['classifier', 'modules'], ['score', 'unmatched']]);
  });

  it('reports nested wrappers (golden 02b probe: "embeddings") and parameters a module already covers', () => {
    const nested = matchModulesToSave(['embeddings'], vit);
    expect(nested.modules).toEqual(['vit.embeddings', 'vit.embeddings.patch_embeddings']);
    expect(nested.warnings.some((w) => w.includes("wraps both 'vit.embeddings' and 'vit.embeddings.patch_embeddings'"))).toBe(true);
    const covered = matchModulesToSave(['vit.embeddings', 'position_embeddings'], vit);
    expect(covered.entries[1]!.kind).toBe('covered');
    expect(covered.parameters).toEqual([]);
  });

  it('refuses containers and LoRA internals', () => {
    expect(() => matchModulesToSave(['layers'], vit)).toThrow(/'vit\.layers', a module_list/);
    const withLora = { modules: [{ name: 'q', kind: 'linear' as const, isLoraLayer: true }, { name: 'q.lora_A', kind: 'module_dict' as const }, { name: 'q.lora_A.default', kind: 'linear' as const }], parameters: [] };
    expect(() => matchModulesToSave(['default'], withLora)).toThrow(PeftError);
  });

  it('agrees with PEFT\'s report for every golden case', () => {
    for (const adapter of goldenAdapters()) {
      const report = adapter.manifest.modules_to_save_report?.[adapter.adapterName];
      if (!report) continue;
      const { config: parsed } = parseLoraConfig(adapter.configText);
      const renames = adapter.manifest.base_key_renames ?? {};
      const modules = Object.keys(adapter.manifest.base_model_keys).map((key) => renames[key] ?? key);
      const moduleNames = [...new Set(modules.flatMap((key) => key.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.')).slice(0, -1)))];
      const selection = matchModulesToSave(parsed.modules_to_save, { modules: moduleNames.map((name) => ({ name, kind: 'other' })), parameters: modules }, { taskType: parsed.task_type, onUnmatched: 'warn' });
      for (const [entry, wrapped] of Object.entries(report)) {
        const got = selection.entries.find((e) => e.entry === entry)!;
        if (Array.isArray(wrapped)) expect(got.modules, `${adapter.id} ${entry}`).toEqual(wrapped);
        else expect(got.modules, `${adapter.id} ${entry}`).toEqual([]);
      }
    }
  });
});
