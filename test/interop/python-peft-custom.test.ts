// Interop with real Python PEFT for LoRA on Conv3d, target_parameters and init_lora_weights "pissa_niter_N":
// node-peft makes and saves the adapters, scripts/interop/check_custom_adapters.py loads them into PEFT (the same
// custom models, scripts/fixtures/custom_models.py, or the tiny Llama) with no missing or unexpected keys and gets
// node-peft's outputs (≤ 1e-4). PiSSA re-runs its randomized init on load: Python seeds as node-peft did.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, safetensors, torch, type nn, type PeftModel, type Tensor } from '../../lib/index.js';
import { Conv3dNet, TinyMoE } from '../peft/custom-models.js';
import { FIXTURES } from '../peft/golden.js';
import { ENABLE_HINT, interopPython } from './python.js';

const TOLERANCE = 1e-4;
const VARIANTS = join(FIXTURES, 'peft-variants');
const LLAMA = join(FIXTURES, 'peft-golden', '07_llama_two_named_adapters', 'base');
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'interop', 'check_custom_adapters.py');
const TARGETS = ['experts.gate_up_proj', 'experts.down_proj', 'experts_t.gate_up_proj', 'experts_t.down_proj', 'head.weight'];
const quiet = { warn: (): void => undefined };
const python = interopPython();

interface CaseReport {
  error?: string;
  warnings: string[];
  load_results: Record<string, { missing_keys: string[]; unexpected_keys: string[] }>;
  keys: Record<string, { in_file_not_in_peft_state_dict: string[]; in_peft_state_dict_not_in_file: string[] }>;
  max_abs_diff: Record<string, number | string>;
}

/** Moves every trainable tensor away from its initial value, as training would. */
function perturb(peft: PeftModel, seed: number): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const [, p] of peft.namedParameters()) if (p.requiresGrad) torch.scope(() => p.add_(torch.randn(p.shape).mul(0.3)));
  });
}

async function customBase<M extends nn.Module>(make: () => M, file: string): Promise<M> {
  const net = make();
  net.loadStateDict(await safetensors.load(file), { strict: true });
  return net.eval();
}

if (!python) console.warn(`Python PEFT interop tests (Conv3d, target_parameters, pissa_niter) skipped: ${ENABLE_HINT}`);

describe.skipIf(!python)(`Python PEFT loads node-peft's Conv3d, target_parameters and pissa_niter adapters${python ? '' : ` (skipped: ${ENABLE_HINT})`}`, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'node-peft-interop-custom-'));
  const cases: Record<string, unknown>[] = [];
  let report: Record<string, CaseReport>;
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function conv3dCase(name: string, useDora: boolean): Promise<void> {
    const dir = join(scratch, name);
    const baseFile = join(VARIANTS, 'conv3d', 'base.safetensors');
    const { x } = await safetensors.load(join(VARIANTS, 'conv3d', 'inputs.safetensors'));
    torch.manualSeed(3);
    const peft = getPeftModel(await customBase(() => new Conv3dNet(), baseFile), new LoraConfig({ r: 2, lora_alpha: 4, target_modules: ['conv', 'conv2'], use_dora: useDora }), 'default', quiet);
    perturb(peft, 4);
    peft.eval();
    await peft.savePretrained(join(dir, 'adapter'));
    await safetensors.save(join(dir, 'ours.safetensors'), { default: torch.noGrad(() => peft.forward({ x }) as Tensor) });
    cases.push({ name, model: 'Conv3dNet', base: baseFile, inputs: join(VARIANTS, 'conv3d', 'inputs.safetensors'),
      adapters: [{ name: 'default', dir: join(dir, 'adapter') }], runs: { default: ['default'] }, ours: join(dir, 'ours.safetensors') });
  }

  async function targetParametersCase(): Promise<void> {
    const dir = join(scratch, 'target_parameters');
    const baseFile = join(VARIANTS, 'target_parameters', 'base.safetensors');
    const { x } = await safetensors.load(join(VARIANTS, 'target_parameters', 'inputs.safetensors'));
    torch.manualSeed(5);
    const peft = getPeftModel(await customBase(() => new TinyMoE(), baseFile), new LoraConfig({ r: 2, lora_alpha: 4, target_modules: [], target_parameters: TARGETS }), 'default', quiet);
    peft.addAdapter('second', new LoraConfig({ r: 3, lora_alpha: 3, use_rslora: true, target_modules: [], target_parameters: TARGETS }));
    for (const name of ['default', 'second']) {
      peft.setAdapter(name);
      perturb(peft, name === 'default' ? 6 : 7);
    }
    peft.eval();
    await peft.savePretrained(dir, { selectedAdapters: ['default', 'second'] });
    const outputs: Record<string, Tensor> = {};
    peft.setAdapter('default');
    outputs.default = torch.noGrad(() => peft.forward({ x }) as Tensor);
    peft.setAdapter(['default', 'second']);
    outputs.both = torch.noGrad(() => peft.forward({ x }) as Tensor);
    await safetensors.save(join(scratch, 'target_parameters_ours.safetensors'), outputs);
    cases.push({ name: 'target_parameters', model: 'TinyMoE', base: baseFile, inputs: join(VARIANTS, 'target_parameters', 'inputs.safetensors'),
      adapters: [{ name: 'default', dir }, { name: 'second', dir: join(dir, 'second') }],
      runs: { default: ['default'], both: ['default', 'second'] }, ours: join(scratch, 'target_parameters_ours.safetensors') });
  }

  async function pissaNiterCase(): Promise<void> {
    const dir = join(scratch, 'pissa_niter');
    const inputsFile = join(VARIANTS, 'init_pissa_niter_4', 'inputs.safetensors');
    const inputs = await safetensors.load(inputsFile);
    const base = await models.fromPretrained(LLAMA);
    torch.manualSeed(21);
    const peft = getPeftModel(base, new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], init_lora_weights: 'pissa_niter_2' }, quiet), 'default', quiet);
    await peft.savePretrained(join(dir, 'initial'));
    perturb(peft, 22);
    peft.eval();
    await peft.savePretrained(join(dir, 'trained'));
    await peft.savePretrained(join(dir, 'converted'), { initialAdapterDir: join(dir, 'initial') });
    const logits = torch.noGrad(() => (peft.forward({ ...inputs } as never) as { logits: Tensor }).logits);
    await safetensors.save(join(dir, 'ours.safetensors'), { default: logits });
    const common = { model: 'hf', base: LLAMA, inputs: inputsFile, runs: { default: ['default'] }, ours: join(dir, 'ours.safetensors') };
    cases.push({ ...common, name: 'pissa_niter_trained', adapters: [{ name: 'default', dir: join(dir, 'trained') }], seed: 21 });
    cases.push({ ...common, name: 'pissa_niter_converted', adapters: [{ name: 'default', dir: join(dir, 'converted') }] });
  }

  beforeAll(async () => {
    await conv3dCase('conv3d_lora', false);
    await conv3dCase('conv3d_dora', true);
    await targetParametersCase();
    await pissaNiterCase();
    const spec = join(scratch, 'spec.json');
    writeFileSync(spec, JSON.stringify({ cases }, null, 1));
    const stdout = execFileSync(python as string, [SCRIPT, spec], { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    report = (JSON.parse(stdout) as { cases: Record<string, CaseReport> }).cases;
    if (process.env.NODE_PEFT_INTEROP_REPORT) writeFileSync(process.env.NODE_PEFT_INTEROP_REPORT, stdout);
  }, 600_000);

  for (const name of ['conv3d_lora', 'conv3d_dora', 'target_parameters', 'pissa_niter_trained', 'pissa_niter_converted']) {
    it(`${name}: PeftModel.from_pretrained loads node-peft's adapters with no missing or unexpected keys and gives node-peft's outputs`, () => {
      const r = report[name];
      expect(r.error).toBeUndefined();
      const spec = cases.find((c) => c.name === name) as { adapters: unknown[]; runs: Record<string, unknown> };
      expect(Object.keys(r.load_results)).toHaveLength(spec.adapters.length);
      expect(Object.keys(r.max_abs_diff).sort()).toEqual(Object.keys(spec.runs).sort());
      for (const [adapter, result] of Object.entries(r.load_results)) expect(result, adapter).toEqual({ missing_keys: [], unexpected_keys: [] });
      for (const [adapter, keys] of Object.entries(r.keys)) {
        expect(keys.in_file_not_in_peft_state_dict, adapter).toEqual([]);
        expect(keys.in_peft_state_dict_not_in_file, adapter).toEqual([]);
      }
      for (const [label, diff] of Object.entries(r.max_abs_diff)) expect(diff, label).toBeLessThanOrEqual(TOLERANCE);
      expect(r.warnings.filter((w) => /missing|unexpected/i.test(w))).toEqual([]);
    });
  }
});
