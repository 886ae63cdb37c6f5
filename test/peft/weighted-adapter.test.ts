// add_weighted_adapter against golden case 14 (PEFT 0.21 computed 'linear' and 'cat' from the same sources).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { models, PeftModel, safetensors, type Tensor } from '../../lib/index.js';
import { FIXTURES } from './golden.js';

const CASE = join(FIXTURES, 'peft-golden', '14_llama_add_weighted_adapter');

async function sources(): Promise<PeftModel> {
  const peft = await PeftModel.fromPretrained(await models.fromPretrained(join(CASE, 'base')), join(CASE, 'adapter', 'left'), { adapterName: 'left', warn: () => undefined });
  await peft.loadAdapter(join(CASE, 'adapter', 'right'), 'right');
  return peft;
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return a.sub(b).abs().max().item();
}

describe('addWeightedAdapter', () => {
  for (const combination of ['linear', 'cat'] as const) {
    it(`'${combination}' computes PEFT's tensors and logits`, async () => {
      const peft = await sources();
      const name = `combo_${combination}`;
      peft.addWeightedAdapter(['left', 'right'], [0.7, 0.3], name, combination);
      expect(peft.peftConfig.get(name)!.r).toBe(combination === 'cat' ? 8 : 4);
      const theirs = await safetensors.load(join(CASE, 'adapter', name, 'adapter_model.safetensors'));
      const ours = peft.getPeftModelStateDict(name);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const [key, value] of Object.entries(theirs)) expect(maxDiff(ours[key], value), key).toBeLessThan(1e-6);
      peft.setAdapter(name);
      const { input_ids } = await safetensors.load(join(CASE, 'inputs.safetensors'));
      const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
      const logits = (peft.forward({ input_ids }) as { logits: Tensor }).logits;
      expect(maxDiff(logits, expected[`logits_peft.${name}`])).toBeLessThanOrEqual(1e-4);
    });
  }

  it("'svd' at full rank reproduces Σ wᵢΔWᵢ on every layer", async () => {
    const peft = await sources();
    peft.addWeightedAdapter(['left', 'right'], [0.7, 0.3], 'combo_svd', 'svd', { svdRank: 8 });
    for (const [name, layer] of peft.loraLayers()) {
      const expected = ['left', 'right']
        .filter((a) => layer.hasAdapter(a))
        .map((a) => layer.deltaWeight(a).mul(a === 'left' ? 0.7 : 0.3))
        .reduce((x, y) => x.add(y));
      expect(maxDiff(layer.deltaWeight('combo_svd'), expected), name).toBeLessThan(1e-5);
    }
  });

  it('leaves an existing adapter name alone and refuses unequal ranks for linear', async () => {
    const peft = await sources();
    const before = peft.getPeftModelStateDict('left')['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'].clone();
    peft.addWeightedAdapter(['right'], [1], 'left', 'linear');
    expect(peft.getPeftModelStateDict('left')['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'].equal(before)).toBe(true);
    await peft.loadAdapter(join(CASE, 'adapter', 'combo_cat'), 'wide');
    expect(() => peft.addWeightedAdapter(['left', 'wide'], [0.5, 0.5], 'bad', 'linear')).toThrow(/same r value/);
  });
});
