// init_lora_weights "pissa_niter_N" (PiSSA through torch.svd_lowrank, randomized) against PEFT 0.21
// (scripts/fixtures/peft_more_layers.py, pissa_niter_case): from the same seed (set after loading the base model:
// from_pretrained's own draws differ between the two) node-peft draws the same random
// matrix as Python and gives PEFT's factors A and B, residual base weights and logits; a trained adapter reloaded
// after the same seed gives PEFT's logits (the init re-runs on load and rewrites the base, as PEFT); the
// conversion to plain LoRA on save matches PEFT's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, PeftModel, safetensors, torch, type LoraLinear, type Tensor } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const TOLERANCE = 1e-4;
const CASE = join(FIXTURES, 'peft-variants', 'init_pissa_niter_4');
const BASE = join(FIXTURES, 'peft-golden', '07_llama_two_named_adapters', 'base');
const manifest = JSON.parse(readFileSync(join(CASE, 'manifest.json'), 'utf8')) as { seed: number; reload_seed: number; init: string };
const quiet = { warn: (): void => undefined };
const scratch = mkdtempSync(join(tmpdir(), 'peft-pissa-niter-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const logits = (m: { forward(i: never): unknown }, inputs: Record<string, Tensor>): Tensor => (m.forward({ ...inputs } as never) as { logits: Tensor }).logits;

describe(`init_lora_weights "${manifest.init}"`, () => {
  it('getPeftModel after PEFT\'s seed: PEFT\'s lora_A, lora_B, residual base weights and initial logits', async () => {
    const inputs = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const config = new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], init_lora_weights: manifest.init }, quiet);
    const base = await models.fromPretrained(BASE);
    torch.manualSeed(manifest.seed);
    const peft = getPeftModel(base, config, 'default', quiet);
    for (const [path, short] of [['model.layers.0.self_attn.q_proj', 'q_proj0'], ['model.layers.1.self_attn.v_proj', 'v_proj1']]) {
      const layer = peft.model.getSubmodule(path) as LoraLinear;
      expect(maxAbsDiff(layer.getSubmodule('lora_A.default').param('weight'), expected[`${short}.lora_A`]), short).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(layer.getSubmodule('lora_B.default').param('weight'), expected[`${short}.lora_B`]), short).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(layer.baseLayer.param('weight'), expected[`${short}.base_weight`]), short).toBeLessThanOrEqual(1e-5);
    }
    expect(maxAbsDiff(logits(peft, inputs), expected.logits_initial)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('PEFT\'s trained adapter loaded after the same seed as PEFT\'s reload: PEFT\'s logits', async () => {
    const inputs = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const base = await models.fromPretrained(BASE);
    torch.manualSeed(manifest.reload_seed);
    const peft = await PeftModel.fromPretrained(base, join(CASE, 'trained'), quiet);
    expect(maxAbsDiff(logits(peft, inputs), expected.logits_trained_reloaded_seed8)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('savePretrained({ initialAdapterDir }) converts to PEFT\'s plain LoRA adapter: config, keys, logits on the original base', async () => {
    const inputs = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    // the trained adapter on the residual base PEFT trained it on (the seed of the initial adapter)
    const base = await models.fromPretrained(BASE);
    torch.manualSeed(manifest.seed);
    const trained = await PeftModel.fromPretrained(base, join(CASE, 'trained'), quiet);
    expect(maxAbsDiff(logits(trained, inputs), expected.logits_trained)).toBeLessThanOrEqual(TOLERANCE);
    const out = join(scratch, 'converted');
    await trained.savePretrained(out, { initialAdapterDir: join(CASE, 'initial') });
    const ours = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    const theirs = JSON.parse(readFileSync(join(CASE, 'converted', 'adapter_config.json'), 'utf8'));
    expect([ours.r, ours.lora_alpha, ours.init_lora_weights]).toEqual([theirs.r, theirs.lora_alpha, theirs.init_lora_weights]);
    const mine = safetensors.loadSync(join(out, 'adapter_model.safetensors'));
    const peftFile = safetensors.loadSync(join(CASE, 'converted', 'adapter_model.safetensors'));
    expect(Object.keys(mine).sort()).toEqual(Object.keys(peftFile).sort());
    for (const key of Object.keys(peftFile)) expect(maxAbsDiff(mine[key], peftFile[key]), key).toBeLessThanOrEqual(1e-5);
    const plain = await PeftModel.fromPretrained(await models.fromPretrained(BASE), out, quiet);
    expect(maxAbsDiff(logits(plain, inputs), expected.logits_converted_on_original_base)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('values that are not "pissa_niter_<integer>" are refused by name', async () => {
    const base = await models.fromPretrained(BASE);
    expect(() => getPeftModel(base, new LoraConfig({ target_modules: ['q_proj'], init_lora_weights: 'pissa_niter_x' }, quiet), 'default', quiet))
      .toThrow(/init_lora_weights = "pissa_niter_x": node-peft implements .*"pissa_niter_<N>"/);
  });
});
