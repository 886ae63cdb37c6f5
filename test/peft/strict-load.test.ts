// Strict adapter loading: an adapter that does not fit the model is an error naming keys and shapes, never a
// "successful" load with LoRA weights left at their initial values. strict: false keeps PEFT's warn-and-continue.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, PeftModel, safetensors, StateDictError, type Tensor } from '../../lib/index.js';
import { FIXTURES, GOLDEN_SETS, goldenCases } from './golden.js';

const scratch = mkdtempSync(join(tmpdir(), 'node-peft-strict-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const LLAMA = join(FIXTURES, 'peft-golden', '07_llama_two_named_adapters');
const VIT_ADAPTER = join(FIXTURES, 'peft-golden', '01_vit_lora_classifier', 'adapter');

/** A copy of the golden q/v adapter whose config was edited to target k_proj and a module that does not exist. */
function editedAdapter(): string {
  const dir = join(scratch, `edited-${Math.random().toString(16).slice(2)}`);
  cpSync(join(LLAMA, 'adapter', 'first'), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  config.target_modules = ['k_proj', 'nonexistent'];
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config, null, 2));
  return dir;
}

function snapshot(model: { namedParameters(): [string, Tensor][] }): Map<string, Tensor> {
  return new Map(model.namedParameters());
}

describe('strict adapter loading', () => {
  it('an adapter whose target_modules were edited (q/v weights dropped) is an error naming keys and shapes', async () => {
    const base = await models.fromPretrained(join(LLAMA, 'base'));
    const error = await PeftModel.fromPretrained(base, editedAdapter(), { strict: true, warn: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateDictError);
    const message = (error as Error).message;
    expect(message).toMatch(/tensor\(s\) in the file have no place in the model: base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight \[\d+, \d+\]/);
    expect(message).toMatch(/LoRA weight\(s\) of the model are not in the file and would stay uninitialised: base_model\.model\.model\.layers\.0\.self_attn\.k_proj\.lora_A\.weight \[\d+, \d+\]/);
    expect(message.split('\n')).toHaveLength(1);
    base.dispose();
  });

  it('a ViT adapter loaded into a Llama is an error, and the model is left as it was', async () => {
    const base = await models.fromPretrained(join(LLAMA, 'base'));
    const before = snapshot(base);
    const error = await PeftModel.fromPretrained(base, VIT_ADAPTER, { strict: true, warn: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateDictError);
    expect((error as Error).message).toMatch(/base_model\.model\.vit\.layers\.0\.attention\.(q|v)_proj\.lora_A\.weight \[\d+, \d+\]/);
    const after = snapshot(base);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, p] of after) expect(p, name).toBe(before.get(name));
    base.dispose();
  });

  it('strict: false (the library default) loads as PEFT does: warnings name the unexpected and missing keys', async () => {
    const base = await models.fromPretrained(join(LLAMA, 'base'));
    const warnings: string[] = [];
    const peft = await PeftModel.fromPretrained(base, editedAdapter(), { warn: (m) => warnings.push(m) });
    expect(warnings.some((w) => /unexpected keys not found in the model: base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight/.test(w))).toBe(true);
    expect(warnings.some((w) => /missing adapter keys .*k_proj\.lora_A\.weight/.test(w))).toBe(true);
    peft.dispose();
  });

  it('loadAdapter with strict: true refuses the edited adapter and keeps the model usable with its other adapter', async () => {
    const base = await models.fromPretrained(join(LLAMA, 'base'));
    const peft = await PeftModel.fromPretrained(base, join(LLAMA, 'adapter', 'first'), { adapterName: 'first', strict: true });
    const inputs = await safetensors.load(join(LLAMA, 'inputs.safetensors'));
    const logits = () => (peft.forward({ ...inputs }) as { logits: Tensor }).logits;
    const before = logits();
    await expect(peft.loadAdapter(editedAdapter(), 'edited', { strict: true })).rejects.toThrow(StateDictError);
    expect([...peft.peftConfig.keys()]).toEqual(['first']);
    expect(peft.activeAdapter).toBe('first');
    const after = logits();
    expect(after.equal(before)).toBe(true);
    for (const t of [before, after, ...Object.values(inputs)]) t.dispose();
    peft.dispose();
  });

  it('a rank mismatch names every size mismatch, and its first line says how many', async () => {
    const dir = join(scratch, 'rank');
    cpSync(join(LLAMA, 'adapter', 'first'), dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    config.r = Number(config.r) * 2;
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
    const base = await models.fromPretrained(join(LLAMA, 'base'));
    const error = await PeftModel.fromPretrained(base, dir, { strict: true }).catch((e: unknown) => e);
    const [first, ...rest] = (error as Error).message.split('\n');
    expect(first).toMatch(/^Error\(s\) in loading adapter 'default' \(\d+ size mismatches: were its r or target_modules changed\?\):$/);
    expect(rest.length).toBeGreaterThan(1);
    expect(rest[0]).toMatch(/size mismatch for base_model\.model\.model\.layers\.\d+\.self_attn\.[qv]_proj\.lora_A\.weight: copying a param with shape \[\d+, \d+\]/);
    base.dispose();
  });
});

describe('every adapter Python PEFT wrote loads strictly', () => {
  for (const set of GOLDEN_SETS) {
    for (const caseName of goldenCases(set)) {
      const index = JSON.parse(readFileSync(join(FIXTURES, set, 'index.json'), 'utf8')) as { cases: Record<string, { adapters: Record<string, string> }> };
      it(`${set}/${caseName}`, async () => {
        const dir = join(FIXTURES, set, caseName);
        const base = await models.fromPretrained(join(dir, 'base'));
        const [[firstName, firstFolder], ...rest] = Object.entries(index.cases[caseName].adapters);
        const peft = await PeftModel.fromPretrained(base, join(dir, firstFolder), { adapterName: firstName, strict: true, warn: () => undefined });
        for (const [name, folder] of rest) await peft.loadAdapter(join(dir, folder), name, { strict: true });
        peft.dispose();
      });
    }
  }
});
