// The case node-peft started from: a ViT resized to a new image size, its bare position_embeddings parameter
// trained and saved through modules_to_save (Python PEFT silently ignores such an entry).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, optim, PeftModel, safetensors, StateDictError, torch, type Tensor } from '../../lib/index.js';
import { FIXTURES } from './golden.js';

const CASE = join(FIXTURES, 'peft-golden', '02_vit_resized_posemb_param');
const scratch = mkdtempSync(join(tmpdir(), 'peft-seed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const config = (): LoraConfig =>
  new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'] });

function logitsOf(model: { forward(inputs: never): unknown }, pixels: Tensor): Tensor {
  return (model.forward({ pixel_values: pixels } as never) as { logits: Tensor }).logits;
}

describe('seed case: modules_to_save on a bare parameter of a resized ViT', () => {
  it('trains the copy, keeps the original, saves the copy under its own key, and reloads to identical logits', async () => {
    torch.manualSeed(0);
    const { pixel_values: pixels } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const base = await models.fromPretrained(join(CASE, 'base'));
    const originalValues = base.getParameter('vit.embeddings.position_embeddings').clone();
    const peft = getPeftModel(base, config());

    const copy = peft.model.getParameter('vit.embeddings.position_embeddings');
    expect(copy.requiresGrad).toBe(true);
    expect(copy.shape).toEqual([1, 37, 32]);
    const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(trainable).toContain('base_model.model.vit.embeddings.position_embeddings');
    expect(trainable).toContain('base_model.model.classifier.modules_to_save.default.weight');

    peft.train();
    const optimizer = new optim.AdamW(peft.trainableParameters() as never, { lr: 1e-2 });
    const labels = torch.tensor([1, 3]);
    for (let step = 0; step < 3; step++) {
      torch.scope(() => {
        const out = peft.forward({ pixel_values: pixels, labels }) as { loss: Tensor };
        out.loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
      });
    }
    peft.eval();

    const wrapper = peft.parameterWrappers.get('vit.embeddings.position_embeddings');
    expect(wrapper).toBeDefined();
    expect(wrapper!.original.equal(originalValues)).toBe(true);
    expect(wrapper!.copyOf('default').equal(originalValues)).toBe(false);
    // disabled: the owning module reads the original again
    const disabledLogits = peft.disableAdapter(() => {
      expect(peft.model.getParameter('vit.embeddings.position_embeddings')).toBe(wrapper!.original);
      return logitsOf(peft, pixels);
    });
    expect(peft.model.getParameter('vit.embeddings.position_embeddings')).toBe(wrapper!.copyOf('default'));

    const trained = logitsOf(peft, pixels);
    expect(trained.equal(disabledLogits)).toBe(false);
    await peft.savePretrained(scratch);
    const saved = await safetensors.load(join(scratch, 'adapter_model.safetensors'));
    expect(saved['base_model.model.vit.embeddings.position_embeddings'].equal(wrapper!.copyOf('default'))).toBe(true);
    expect(Object.keys(saved).some((k) => k.includes('modules_to_save') || k.includes('original_module'))).toBe(false);

    const fresh = await PeftModel.fromPretrained(await models.fromPretrained(join(CASE, 'base')), scratch, { warn: () => undefined });
    const reloaded = logitsOf(fresh, pixels);
    expect(reloaded.equal(trained)).toBe(true);

    // merge and unload keep the trained copy in the plain model
    const plain = fresh.mergeAndUnload();
    expect(plain.getParameter('vit.embeddings.position_embeddings').equal(wrapper!.copyOf('default'))).toBe(true);
    expect(logitsOf(plain as never, pixels).sub(trained).abs().max().item()).toBeLessThan(1e-5);
  });

  it('refuses an adapter whose copy has another shape, naming the parameter, both shapes and the likely cause', async () => {
    const base48 = getPeftModel(await models.fromPretrained(join(CASE, 'base')), config());
    await base48.savePretrained(join(scratch, 'at48'));
    const base32 = await models.fromPretrained(join(CASE, 'base_before_resize'));
    const attempt = PeftModel.fromPretrained(base32, join(scratch, 'at48'), { warn: () => undefined });
    await expect(attempt).rejects.toThrow(StateDictError);
    await expect(
      PeftModel.fromPretrained(await models.fromPretrained(join(CASE, 'base_before_resize')), join(scratch, 'at48'), { warn: () => undefined }),
    ).rejects.toThrow(/vit\.embeddings\.position_embeddings.*\[1, 37, 32\].*\[1, 17, 32\].*not resized/);
  });

  it('names a modules_to_save entry that matches neither a module nor a parameter', async () => {
    const model = await models.fromPretrained(join(CASE, 'base'));
    const bad = new LoraConfig({ target_modules: ['q_proj'], modules_to_save: ['classifier', 'pos_embeddings'] });
    expect(() => getPeftModel(model, bad)).toThrow(/'pos_embeddings' matches no module and no parameter/);
  });

  it("loads PEFT's own case-02 adapter (no tensor for the parameter) with the base model's values", async () => {
    const warnings: string[] = [];
    const peft = await PeftModel.fromPretrained(await models.fromPretrained(join(CASE, 'base')), join(CASE, 'adapter'), { warn: (m) => warnings.push(m) });
    expect(warnings.some((w) => w.includes('position_embeddings') && w.includes('no tensor'))).toBe(true);
    const wrapper = peft.parameterWrappers.get('vit.embeddings.position_embeddings')!;
    expect(wrapper.copyOf('default').equal(wrapper.original)).toBe(true);
    expect(wrapper.copyOf('default').requiresGrad).toBe(false);
  });
});
