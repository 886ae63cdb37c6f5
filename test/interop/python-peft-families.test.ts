// Interop with real Python PEFT for the decoder families (Mistral, Qwen3, Gemma 2, Gemma 3 text, Phi-3; optional:
// needs NODE_PEFT_INTEROP_PYTHON, see python.ts). On each family's tiny transformers model (test/fixtures/models/
// <family>), node-peft trains LoRA adapters with AdamW (causal LM on every projection, fused ones for Phi-3; a
// sequence classifier with modules_to_save ["score"]) and one with PEFT's default target_modules; PEFT's
// from_pretrained loads each with no missing or unexpected keys and gives node-peft's logits (≤ 1e-4).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optim, torch, type PeftModel, type Tensor } from '../../lib/index.js';
import { FIXTURES } from '../peft/golden.js';
import { ENABLE_HINT, interopPython, runPythonChecks, type PythonCaseReport, type PythonReport } from './python.js';
import { buildScenario, type BuiltScenario, type InteropScenario } from './scenarios.js';

const TOLERANCE = 1e-4;
const FAMILIES = ['mistral', 'qwen3', 'gemma2', 'gemma3', 'phi3'] as const;
const python = interopPython();

const familyDir = (name: string): string => join(FIXTURES, 'models', name);
const notesOf = (name: string): { adapter_target_modules: string[]; peft_default_target_modules: { target_modules?: string[] } } =>
  JSON.parse(readFileSync(join(familyDir(name), 'notes.json'), 'utf8'));

/** Three AdamW steps on the model's own loss (labels: the next tokens, or class ids 0, 1, 2 for the classifier). */
function trainWithAdamW(peft: PeftModel, inputs: Record<string, Tensor>): void {
  const classifier = inputs.input_ids.shape[0] === 3;
  const labels = classifier ? torch.tensor([0, 1, 2], { dtype: 'int64' }) : inputs.input_ids.maskedFill(inputs.attention_mask.eq(0), -100);
  const params = peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([, p]) => p);
  const optimizer = new optim.AdamW(params, { lr: 2e-2 });
  peft.train();
  for (let step = 0; step < 3; step++) {
    torch.scope(() => {
      optimizer.zeroGrad();
      (peft.forward({ ...inputs, labels } as never) as unknown as { loss: Tensor }).loss.backward();
      optimizer.step();
    });
  }
  optimizer.dispose();
  labels.dispose();
}

const lora = (config: Record<string, unknown>) => ({ r: 4, lora_alpha: 8, ...config });

function familyScenarios(name: string): InteropScenario[] {
  const dir = familyDir(name);
  const notes = notesOf(name);
  const attention = name === 'phi3' ? ['qkv_proj', 'o_proj'] : ['q_proj', 'v_proj'];
  const scenarios: InteropScenario[] = [
    {
      name: `${name}_lora_all_projections`, goldenCase: dir, train: trainWithAdamW,
      adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: notes.adapter_target_modules }) }],
    },
    {
      name: `${name}_seq_cls_score`, goldenCase: dir, base: join(dir, 'seq_cls'), inputs: join(dir, 'cls_inputs.safetensors'), train: trainWithAdamW,
      adapters: [{ name: 'default', config: lora({ task_type: 'SEQ_CLS', target_modules: attention, modules_to_save: ['score'] }) }],
    },
  ];
  if (notes.peft_default_target_modules.target_modules) {
    scenarios.push({ name: `${name}_default_targets`, goldenCase: dir, adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', init_lora_weights: false }) }] });
  }
  return scenarios;
}

const SCENARIOS = FAMILIES.flatMap(familyScenarios);

if (!python) console.warn(`Python PEFT interop tests (model families) skipped: ${ENABLE_HINT}`);

describe.skipIf(!python)(`Python PEFT interop, model families${python ? '' : ` (skipped: ${ENABLE_HINT})`}`, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'node-peft-interop-families-'));
  const built: Record<string, BuiltScenario> = {};
  let report: PythonReport;
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  beforeAll(async () => {
    for (const scenario of SCENARIOS) built[scenario.name] = await buildScenario(scenario, scratch);
    report = runPythonChecks(python as string, Object.values(built).map((b) => b.pythonCase), join(scratch, 'spec.json'));
  });

  const caseReport = (name: string): PythonCaseReport => {
    const r = report.cases[name];
    expect(r, name).toBeDefined();
    return r;
  };

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: PeftModel.from_pretrained loads node-peft's adapter with no missing or unexpected keys and gives our logits`, () => {
      const r = caseReport(scenario.name);
      expect(r.error).toBeUndefined();
      expect(built[scenario.name].effectOnLogits.default, 'the adapter changes the logits').toBeGreaterThan(1e-3);
      expect(r.load_results.default).toEqual({ missing_keys: [], unexpected_keys: [] });
      expect(r.keys?.default.in_file_not_in_peft_state_dict).toEqual([]);
      expect(r.keys?.default.in_peft_state_dict_not_in_file).toEqual([]);
      expect(r.logits_max_abs_diff?.default).toBeLessThanOrEqual(TOLERANCE);
      expect(r.logits_max_abs_diff?.__disabled__, 'logits inside disable_adapter()').toBeLessThanOrEqual(TOLERANCE);
      expect(r.warnings.filter((w) => /missing|unexpected/i.test(w))).toEqual([]);
    });
  }

  it('the default-target adapters name exactly PEFT\'s defaults for the model type', () => {
    for (const name of FAMILIES) {
      const defaults = notesOf(name).peft_default_target_modules.target_modules;
      if (!defaults) continue;
      const config = JSON.parse(readFileSync(join(built[`${name}_default_targets`].adapterRoot, 'adapter_config.json'), 'utf8')) as { target_modules: string[] };
      expect([...config.target_modules].sort(), name).toEqual(defaults);
    }
  });
});
