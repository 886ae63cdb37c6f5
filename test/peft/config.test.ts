import { describe, expect, it } from 'vitest';
import { PeftError } from '../../lib/errors.js';
import { LORA_CONFIG_FIELDS, LoraConfig, loraConfigToJson, parseLoraConfig } from '../../lib/peft/config.js';
import { pythonFloatRepr, pythonJsonDumps, pythonJsonString } from '../../lib/serialization/python-json.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, goldenAdapters } from './golden.js';

const reference = JSON.parse(readFileSync(join(FIXTURES, 'peft-core', 'reference.json'), 'utf8')) as {
  configs: { kwargs: Record<string, unknown>; text: string }[];
};

const quiet = { warn: () => {} };

describe('LoraConfig defaults', () => {
  it('has PEFT 0.21 defaults for every field', () => {
    const config = new LoraConfig({}, quiet);
    expect(config.r).toBe(8);
    expect(config.lora_alpha).toBe(8);
    expect(config.lora_dropout).toBe(0);
    expect(config.bias).toBe('none');
    expect(config.init_lora_weights).toBe(true);
    expect(config.target_modules).toBeNull();
    expect(config.rank_pattern).toEqual({});
    expect(config.loftq_config).toEqual({});
    expect(config.megatron_core).toBe('megatron.core');
    expect(config.qalora_group_size).toBe(16);
    expect(config.peft_type).toBe('LORA');
    expect(config.peft_version).toBe('0.21.0');
    expect(LORA_CONFIG_FIELDS).toHaveLength(41);
  });

  it('writes a default config exactly as Python LoraConfig().save_pretrained does', () => {
    // Python: json.dumps(LoraConfig().to_dict(), indent=2, sort_keys=True) with runtime_config dropped (peft 0.21.0).
    const text = loraConfigToJson(new LoraConfig({}, quiet));
    expect(text.startsWith('{\n  "alora_invocation_tokens": null,\n  "alpha_pattern": {},\n')).toBe(true);
    expect(text).toContain('\n  "lora_dropout": 0.0,\n');
    expect(text).toContain('\n  "loftq_config": {},\n');
    expect(text.endsWith('\n  "velora_config": null\n}')).toBe(true);
  });

  it('drops duplicate target_modules like a Python set, keeping first-seen order', () => {
    const config = new LoraConfig({ target_modules: ['q', 'v', 'q'], exclude_modules: ['a', 'a'] }, quiet);
    expect(config.target_modules).toEqual(['q', 'v']);
    expect(config.exclude_modules).toEqual(['a']);
  });

  it('keeps modules_to_save duplicates, as PEFT (a list there)', () => {
    expect(new LoraConfig({ modules_to_save: ['classifier', 'classifier'] }, quiet).modules_to_save).toEqual(['classifier', 'classifier']);
  });
});

describe('LoraConfig validation', () => {
  const rejects = (init: Record<string, unknown>, message: RegExp) => {
    expect(() => new LoraConfig(init as never, quiet)).toThrow(PeftError);
    expect(() => new LoraConfig(init as never, quiet)).toThrow(message);
  };

  it('names the field, what it expected and what it got', () => {
    rejects({ r: 0 }, /LoraConfig\.r: expected a positive integer, got 0/);
    rejects({ r: 2.5 }, /LoraConfig\.r: expected a positive integer, got 2\.5/);
    rejects({ bias: 'some' }, /LoraConfig\.bias: expected "none", "all" or "lora_only", got "some"/);
    rejects({ lora_dropout: 1.5 }, /LoraConfig\.lora_dropout: expected a probability in \[0, 1\], got 1\.5/);
    rejects({ target_modules: [1] }, /LoraConfig\.target_modules: expected a list of module names, a regex string, or null, got array \[1\]/);
    rejects({ task_type: 'CLS' }, /LoraConfig\.task_type: expected null or one of SEQ_CLS, .*got "CLS"/);
    rejects({ peft_type: 'IA3' }, /LoraConfig\.peft_type: expected "LORA"/);
    rejects({ rank_pattern: { q_proj: 0 } }, /LoraConfig\.rank_pattern\["q_proj"\]: expected a positive integer, got 0/);
    rejects({ layers_to_transform: [0, -1] }, /LoraConfig\.layers_to_transform\[1\]: expected an integer >= 0, got -1/);
    rejects({ layer_replication: [[0, 2, 3]] }, /LoraConfig\.layer_replication\[0\]: expected a \[start, end\) pair/);
    rejects({ trainable_token_indices: { embed_tokens: ['a'] } }, /trainable_token_indices\["embed_tokens"\]\[0\]: expected an integer >= 0, got "a"/);
  });

  it('rejects a target_modules regex that does not compile', () => {
    rejects({ target_modules: '.*(q_proj' }, /LoraConfig\.target_modules: expected a valid Python regular expression, got "\.\*\(q_proj"/);
  });

  it('rejects unknown fields in code (files only warn)', () => {
    rejects({ rank: 4 }, /LoraConfig: unknown field "rank"/);
  });

  it('applies the cross-field rules of PEFT __post_init__', () => {
    rejects({ target_modules: '.*q', layers_to_transform: [0] }, /layers_to_transform: expected null when target_modules is a regex string/);
    rejects({ target_modules: '.*q', layers_pattern: 'layers' }, /layers_pattern: expected null when target_modules is a regex string/);
    rejects({ target_modules: ['q'], layers_pattern: 'layers' }, /layers_to_transform: expected a layer index or list of indices when layers_pattern is set, got null/);
    rejects({ target_parameters: 'experts.gate_up_proj' }, /target_parameters: expected a list of strings or null \(a string is refused/);
    rejects({ lora_bias: true, use_dora: true }, /lora_bias: expected false with use_dora/);
    rejects({ lora_bias: true, init_lora_weights: 'gaussian' }, /init_lora_weights: expected true or false when lora_bias is true, got "gaussian"/);
    rejects({ init_lora_weights: 'loftq' }, /loftq_config: expected a LoftQ config/);
  });

  it('resets loftq_config with a warning when init is not loftq', () => {
    const warnings: string[] = [];
    const config = new LoraConfig({ loftq_config: { loftq_bits: 4 } }, { warn: (m) => warnings.push(m) });
    expect(config.loftq_config).toEqual({});
    expect(warnings).toEqual(["`loftq_config` specified but will be ignored when `init_lora_weights` is not 'loftq'."]);
  });
});

describe('parseLoraConfig', () => {
  it('drops unknown fields with PEFT\'s warning and reports them', () => {
    const seen: string[] = [];
    const { config, warnings, unknownFields } = parseLoraConfig(
      { peft_type: 'LORA', r: 4, target_modules: ['q'], zeta_config: null, future_field: 1 },
      { warn: (m) => seen.push(m) },
    );
    expect(config.r).toBe(4);
    expect(unknownFields).toEqual(['future_field', 'zeta_config']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Unexpected keyword arguments \['future_field', 'zeta_config'\] for class LoraConfig, these are ignored\./);
    expect(seen).toEqual(warnings);
    expect('future_field' in config).toBe(false);
  });

  it('drops runtime_config with a warning', () => {
    const { warnings } = parseLoraConfig({ peft_type: 'LORA', runtime_config: { ephemeral_gpu_offload: false } });
    expect(warnings).toEqual(['The configuration file contains a `runtime_config` key. This is ignored. Runtime configurations are only valid at runtime.']);
  });

  it('requires peft_type and accepts a minimal file', () => {
    expect(() => parseLoraConfig({ r: 4 })).toThrow(/expected a "peft_type" field/);
    const { config } = parseLoraConfig('{"peft_type": "LORA", "r": 2, "target_modules": ["q_proj"]}');
    expect(config.r).toBe(2);
    expect(config.lora_alpha).toBe(8);
    expect(config.peft_version).toBe('0.21.0');
  });

  it('rejects text that is not a JSON object', () => {
    expect(() => parseLoraConfig('{"peft_type": ')).toThrow(/adapter_config\.json: expected JSON text, got unparsable text/);
    expect(() => parseLoraConfig('[1]')).toThrow(/adapter_config\.json: expected a JSON object, got an array/);
  });
});

describe('adapter_config.json round trip against every golden file', () => {
  const adapters = goldenAdapters();

  it('covers both golden sets', () => {
    expect(adapters.filter((a) => a.set === 'peft-golden')).toHaveLength(22);
    expect(adapters.filter((a) => a.set === 'peft-golden-transformers4')).toHaveLength(12);
  });

  for (const adapter of adapters) {
    it(`re-writes ${adapter.id}/adapter_config.json byte for byte`, () => {
      const { config, warnings } = parseLoraConfig(adapter.configText);
      expect(warnings).toEqual([]);
      const forPeftVersion = adapter.set === 'peft-golden-transformers4' ? '0.20.0' : undefined;
      expect(loraConfigToJson(config, { forPeftVersion })).toBe(adapter.configText);
    });
  }

  it('holds the values of the regex / pattern case (04)', () => {
    const adapter = adapters.find((a) => a.id === 'peft-golden/04_llama_regex_rank_alpha_pattern/adapter')!;
    const { config } = parseLoraConfig(adapter.configText);
    expect(config.target_modules).toBe('.*\\.layers\\.(1)\\.(self_attn\\.(q_proj|v_proj)|mlp\\.down_proj)');
    expect(config.rank_pattern).toEqual({ 'model.layers.1.mlp.down_proj': 6, v_proj: 2 });
    expect(config.alpha_pattern).toEqual({ down_proj: 3, q_proj: 10 });
  });

  it('a 0.21 file read for a 0.20 reader loses only kasa_config', () => {
    const adapter = adapters.find((a) => a.set === 'peft-golden')!;
    const full = JSON.parse(loraConfigToJson(parseLoraConfig(adapter.configText).config)) as object;
    const old = JSON.parse(loraConfigToJson(parseLoraConfig(adapter.configText).config, { forPeftVersion: '0.20.0' })) as object;
    expect(Object.keys(full).filter((k) => !(k in old))).toEqual(['kasa_config']);
    const older = JSON.parse(loraConfigToJson(parseLoraConfig(adapter.configText).config, { forPeftVersion: '0.13.2' })) as object;
    expect(Object.keys(older)).not.toContain('exclude_modules');
    expect(Object.keys(older)).toContain('use_dora');
  });
});

describe('configs written by Python LoraConfig(**kwargs) (reference.json)', () => {
  for (const { kwargs, text } of reference.configs) {
    it(`writes LoraConfig(${JSON.stringify(kwargs)}) byte for byte`, () => {
      expect(loraConfigToJson(new LoraConfig(kwargs, quiet))).toBe(text);
    });
  }
});

describe('Python JSON writing', () => {
  it('formats floats as Python repr does', () => {
    const cases: [number, string][] = [
      [0, '0.0'], [0.05, '0.05'], [1e-5, '1e-05'], [0.0001, '0.0001'], [1.5e-7, '1.5e-07'], [16, '16.0'],
      [1e15, '1000000000000000.0'], [1e16, '1e+16'], [2.5e22, '2.5e+22'], [-0.1, '-0.1'], [11.313708498984761, '11.313708498984761'],
      [123.456, '123.456'],
    ];
    for (const [value, text] of cases) expect(pythonFloatRepr(value)).toBe(text);
  });

  it('escapes strings as ensure_ascii=True does', () => {
    expect(pythonJsonString('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
    expect(pythonJsonString('é')).toBe('"\\u00e9"');
    expect(pythonJsonString('\u007f')).toBe('"\\u007f"');
    expect(pythonJsonString('😀')).toBe('"\\ud83d\\ude00"');
  });

  it('indents, sorts keys at every level, and writes empty containers inline', () => {
    expect(pythonJsonDumps({ b: [1, { d: null, c: [] }], a: {} })).toBe(
      '{\n  "a": {},\n  "b": [\n    1,\n    {\n      "c": [],\n      "d": null\n    }\n  ]\n}',
    );
  });
});
