// Interop with real Python PEFT (optional: needs NODE_PEFT_INTEROP_PYTHON, see python.ts). Adapters node-peft makes
// and saves load in Python PEFT with no missing or unexpected adapter keys and give node-peft's logits (≤ 1e-4);
// the seed case's parameter-level key does what docs/checkpoint-format.md says; the transformers-4 key format is
// refused by PEFT 0.21 on transformers 5, as the golden README records. NODE_PEFT_INTEROP_REPORT=FILE keeps the
// full report (every figure) as JSON.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { safetensors, torch } from '../../lib/index.js';
import { ENABLE_HINT, interopPython, runPythonChecks, type PythonCaseReport, type PythonReport } from './python.js';
import { ADAPTER_SCENARIOS, buildScenario, SEED_SCENARIO, TRANSFORMERS4_SCENARIO, type BuiltScenario, type PythonCase } from './scenarios.js';

const TOLERANCE = 1e-4;
const POSITION_KEY = 'base_model.model.vit.embeddings.position_embeddings';
const TAMPERED_MISSING = 'base_model.model.vit.layers.0.attention.q_proj.lora_B.weight';
const TAMPERED_EXTRA = 'base_model.model.vit.not_a_module.weight';
const python = interopPython();

/** A short `node-peft demo` run: our own resized base (base-16px) and the adapter its serving process used. */
async function shortDemo(dir: string): Promise<PythonCase> {
  const io = { out: (): void => undefined, err: (): void => undefined };
  const code = await main(['demo', '--out', dir, '--pretrain-steps', '30', '--finetune-steps', '20', '--no-progress'], io);
  expect(code).toBe(0);
  return {
    name: 'short_demo', base: join(dir, 'base-16px'), inputs: join(dir, 'test-16px.safetensors'),
    adapters: [{ name: 'default', dir: join(dir, 'adapter') }], ours: join(dir, 'serving-logits.safetensors'), ours_keys: { default: 'logits' },
  };
}

/** The control: a copy of an adapter with one LoRA tensor removed and one unknown key added. */
async function tamperedCopy(source: PythonCase, dir: string): Promise<PythonCase> {
  cpSync(source.adapters[0].dir, dir, { recursive: true });
  const file = join(dir, 'adapter_model.safetensors');
  const tensors = await safetensors.load(file);
  tensors[TAMPERED_MISSING].dispose();
  delete tensors[TAMPERED_MISSING];
  tensors[TAMPERED_EXTRA] = torch.zeros([2, 2]);
  await safetensors.save(file, tensors, { format: 'pt' });
  for (const t of Object.values(tensors)) t.dispose();
  return { ...source, name: 'tampered_control', adapters: [{ name: 'default', dir }] };
}
if (!python) console.warn(`Python PEFT interop tests skipped: ${ENABLE_HINT}`);

describe.skipIf(!python)(`Python PEFT interop${python ? '' : ` (skipped: ${ENABLE_HINT})`}`, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'node-peft-interop-'));
  const built: Record<string, BuiltScenario> = {};
  let report: PythonReport;
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  beforeAll(async () => {
    for (const scenario of [...ADAPTER_SCENARIOS, SEED_SCENARIO, TRANSFORMERS4_SCENARIO]) built[scenario.name] = await buildScenario(scenario, scratch);
    const tampered = await tamperedCopy(built.vit_lora_classifier.pythonCase, join(scratch, 'tampered'));
    const demo = await shortDemo(join(scratch, 'demo'));
    report = runPythonChecks(python as string, [...Object.values(built).map((b) => b.pythonCase), tampered, demo], join(scratch, 'spec.json'));
    const reportPath = process.env.NODE_PEFT_INTEROP_REPORT;
    if (reportPath) {
      const effects = Object.fromEntries(Object.entries(built).map(([name, b]) => [name, b.effectOnLogits]));
      writeFileSync(reportPath, JSON.stringify({ python: report, node_peft_adapter_effect_on_logits: effects }, null, 1));
    }
  });

  const caseReport = (name: string): PythonCaseReport => {
    const r = report.cases[name];
    expect(r, name).toBeDefined();
    return r;
  };

  it('ran against PEFT 0.21+ on transformers 5', () => {
    expect(report.versions.transformers).toMatch(/^5\./);
    expect(report.versions.peft).toMatch(/^0\.(2[1-9]|[3-9]\d)\./);
  });

  it('control: the checks see a removed LoRA tensor (missing, with PEFT\'s warning) and an unknown key (unexpected)', () => {
    const r = caseReport('tampered_control');
    expect(r.error).toBeUndefined();
    expect(r.load_results.default.missing_keys).toEqual([TAMPERED_MISSING.replace('lora_B.weight', 'lora_B.default.weight')]);
    expect(r.load_results.default.unexpected_keys).toEqual([TAMPERED_EXTRA]);
    expect(r.keys?.default.in_peft_state_dict_not_in_file).toEqual([TAMPERED_MISSING]);
    expect(r.keys?.default.in_file_not_in_peft_state_dict).toEqual([TAMPERED_EXTRA]);
    expect(r.warnings.some((w) => w.startsWith('Found missing adapter keys while loading the checkpoint'))).toBe(true);
    expect(r.logits_max_abs_diff?.default).toBeGreaterThan(1e-3);
  });

  for (const scenario of ADAPTER_SCENARIOS) {
    it(`${scenario.name}: PeftModel.from_pretrained loads it with no missing or unexpected adapter keys and gives our logits`, () => {
      const r = caseReport(scenario.name);
      expect(r.error).toBeUndefined();
      for (const adapter of scenario.adapters) {
        expect(built[scenario.name].effectOnLogits[adapter.name], `${adapter.name} changes the logits`).toBeGreaterThan(1e-3);
        expect(r.load_results[adapter.name], adapter.name).toEqual({ missing_keys: [], unexpected_keys: [] });
        expect(r.keys?.[adapter.name].in_file_not_in_peft_state_dict, adapter.name).toEqual([]);
        expect(r.keys?.[adapter.name].in_peft_state_dict_not_in_file, adapter.name).toEqual([]);
        expect(r.logits_max_abs_diff?.[adapter.name], `${adapter.name} logits`).toBeLessThanOrEqual(TOLERANCE);
      }
      expect(r.logits_max_abs_diff?.__disabled__, 'logits inside disable_adapter()').toBeLessThanOrEqual(TOLERANCE);
      if (scenario.mixedAdapterNames) expect(r.logits_max_abs_diff?.__mixed__, 'mixed batch').toBeLessThanOrEqual(TOLERANCE);
      expect(r.warnings.filter((w) => /missing|unexpected/i.test(w))).toEqual([]);
    });
  }

  it('seed case: PEFT loads the position_embeddings key silently into the base parameter; with the adapter on, logits equal ours', () => {
    const r = caseReport(SEED_SCENARIO.name);
    expect(r.error).toBeUndefined();
    // Neither missing nor unexpected: the key names a real parameter of the model, so load_state_dict(strict=False) takes it.
    expect(r.load_results.default).toEqual({ missing_keys: [], unexpected_keys: [] });
    expect(r.warnings.filter((w) => w.includes('position_embeddings'))).toEqual([]);
    expect(r.keys?.default.in_file_not_in_peft_state_dict).toEqual([POSITION_KEY]);
    expect(r.keys?.default.in_peft_state_dict_not_in_file).toEqual([]);
    expect(r.non_adapter_keys?.[POSITION_KEY]).toEqual({ base_parameter: 'vit.embeddings.position_embeddings', loaded_into_base_parameter: true, requires_grad: false });
    expect(built[SEED_SCENARIO.name].effectOnLogits.default).toBeGreaterThan(1e-3);
    expect(r.logits_max_abs_diff?.default).toBeLessThanOrEqual(TOLERANCE);
    // The documented difference: in Python the base parameter itself changed, so disable_adapter() keeps the trained
    // position embeddings, while node-peft's disabled model reads the original ones.
    expect(r.logits_max_abs_diff?.__disabled__).toBeGreaterThan(1e-3);
  });

  it("the demo's adapter on the demo's own 16px base: PEFT loads it (only the position_embeddings key is PEFT-unknown) with our logits", () => {
    const r = caseReport('short_demo');
    expect(r.error).toBeUndefined();
    expect(r.load_results.default).toEqual({ missing_keys: [], unexpected_keys: [] });
    expect(r.keys?.default.in_file_not_in_peft_state_dict).toEqual([POSITION_KEY]);
    expect(r.keys?.default.in_peft_state_dict_not_in_file).toEqual([]);
    expect(r.non_adapter_keys?.[POSITION_KEY].loaded_into_base_parameter).toBe(true);
    expect(r.logits_max_abs_diff?.default).toBeLessThanOrEqual(TOLERANCE);
  });

  it("transformers-4 key format: PEFT 0.21 on transformers 5 cannot target the old ViT names (as the golden README records)", () => {
    const r = caseReport(TRANSFORMERS4_SCENARIO.name);
    expect(r.error).toMatch(/^\w*Error: No modules were targeted for adaptation/);
  });
});
