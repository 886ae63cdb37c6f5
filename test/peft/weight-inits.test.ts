// init_lora_weights "pissa", "olora", "orthogonal" against PEFT 0.21 (scripts/fixtures/peft_variants.py): the same
// initial adapter from the same seed (B·A and the residual base; QR column signs may differ), PEFT's logits for the
// trained adapter loaded on the original base (the init re-runs and rewrites the base, as PEFT), and PEFT's
// conversion to plain LoRA on save.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, PeftModel, safetensors, torch, type LoraLinear, type Tensor } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const TOLERANCE = 1e-4;
const VARIANTS = join(FIXTURES, 'peft-variants');
const BASE = join(FIXTURES, 'peft-golden', '07_llama_two_named_adapters', 'base');
const scratch = mkdtempSync(join(tmpdir(), 'peft-inits-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const quiet = { warn: (): void => undefined };

const logits = (m: { forward(i: never): unknown }, inputs: Record<string, Tensor>): Tensor => (m.forward({ ...inputs } as never) as { logits: Tensor }).logits;

for (const init of ['pissa', 'olora', 'orthogonal'] as const) {
  describe(`init_lora_weights "${init}"`, () => {
    const dir = join(VARIANTS, `init_${init}`);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { seed: number; converted: boolean };

    it('getPeftModel with PEFT\'s seed: the same ΔW, residual base weight and initial logits', async () => {
      const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
      const expected = await safetensors.load(join(dir, 'expected.safetensors'));
      torch.manualSeed(manifest.seed);
      const peft = getPeftModel(await models.fromPretrained(BASE), new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], init_lora_weights: init }, quiet), 'default', quiet);
      const layer = peft.model.getSubmodule('model.layers.0.self_attn.q_proj') as LoraLinear;
      expect(maxAbsDiff(layer.deltaWeight('default'), expected['q_proj0.delta'])).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(layer.baseLayer.param('weight'), expected['q_proj0.base_weight'])).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(logits(peft, inputs), expected.logits_initial)).toBeLessThanOrEqual(TOLERANCE);
    });

    it('PEFT\'s trained adapter (config still naming the init) on the original base: PEFT\'s logits', async () => {
      const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
      const expected = await safetensors.load(join(dir, 'expected.safetensors'));
      const peft = await PeftModel.fromPretrained(await models.fromPretrained(BASE), join(dir, 'trained'), quiet);
      expect(maxAbsDiff(logits(peft, inputs), expected.logits_trained)).toBeLessThanOrEqual(TOLERANCE);
    });

    if (manifest.converted) {
      it('savePretrained({ initialAdapterDir }) converts to PEFT\'s plain LoRA adapter: keys, config, logits on the original base', async () => {
        const inputs = await safetensors.load(join(dir, 'inputs.safetensors'));
        const expected = await safetensors.load(join(dir, 'expected.safetensors'));
        const trained = await PeftModel.fromPretrained(await models.fromPretrained(BASE), join(dir, 'trained'), quiet);
        const out = join(scratch, init);
        await trained.savePretrained(out, { initialAdapterDir: join(dir, 'initial') });
        const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
        const theirs = JSON.parse(readFileSync(join(dir, 'converted', 'adapter_config.json'), 'utf8'));
        expect([config.r, config.lora_alpha, config.init_lora_weights]).toEqual([theirs.r, theirs.lora_alpha, theirs.init_lora_weights]);
        const ours = safetensors.loadSync(join(out, 'adapter_model.safetensors'));
        const peftFile = safetensors.loadSync(join(dir, 'converted', 'adapter_model.safetensors'));
        expect(Object.keys(ours).sort()).toEqual(Object.keys(peftFile).sort());
        for (const key of Object.keys(peftFile)) expect(ours[key].shape, key).toEqual(peftFile[key].shape);
        const plain = await PeftModel.fromPretrained(await models.fromPretrained(BASE), out, quiet);
        expect(maxAbsDiff(logits(plain, inputs), expected.logits_converted_on_original_base)).toBeLessThanOrEqual(TOLERANCE);
        expect(maxAbsDiff(logits(plain, inputs), expected.logits_trained)).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  });
}

describe('weight inits that rewrite the base', () => {
  it('are refused on a layer other adapters already use (the base would change under them)', async () => {
    const peft = getPeftModel(await models.fromPretrained(BASE), new LoraConfig({ r: 4, target_modules: ['q_proj'] }, quiet), 'default', quiet);
    expect(() => peft.addAdapter('p', new LoraConfig({ r: 4, target_modules: ['q_proj'], init_lora_weights: 'pissa' }, quiet))).toThrow(/changes the base weight.*default also use/);
  });
});
