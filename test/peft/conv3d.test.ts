// LoRA and DoRA on nn.Conv3d against PEFT 0.21 (scripts/fixtures/peft_more_layers.py, conv3d_case): the same custom
// model in both languages; PEFT's adapters give PEFT's outputs and ΔW; merging both layers keeps the outputs (PEFT
// itself cannot merge the 1×1×1 Conv3d) and gives PEFT's merged kernel; unmerging restores the base; saving again
// gives PEFT's keys and shapes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, nn, PeftModel, safetensors, torch, type LoraConv2d, type Tensor } from '../../lib/index.js';
import { Conv3dNet } from './custom-models.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const CASE = join(FIXTURES, 'peft-variants', 'conv3d');
const TOLERANCE = 1e-4;
const quiet = { warn: (): void => undefined };
const scratch = mkdtempSync(join(tmpdir(), 'peft-conv3d-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function base(): Promise<Conv3dNet> {
  const net = new Conv3dNet();
  net.loadStateDict(await safetensors.load(join(CASE, 'base.safetensors')), { strict: true });
  net.eval();
  return net;
}

describe('nn.Conv3d', () => {
  it('matches PyTorch\'s Conv3d (kernel 3, stride (1, 2, 2), padding 1; and 1×1×1)', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    expect(maxAbsDiff((await base()).forward({ x }), expected.logits_base)).toBeLessThanOrEqual(1e-5);
  });

  it('padding "same" keeps the spatial size, an odd total pads after; bad arguments are named', () => {
    const conv = new nn.Conv3d(1, 2, [2, 3, 1], { padding: 'same' });
    expect(conv.forward(torch.randn([1, 1, 5, 4, 3])).shape).toEqual([1, 2, 5, 4, 3]);
    expect(() => new nn.Conv3d(1, 2, [3, 3] as unknown as number)).toThrow(/Conv3d: kernelSize must be an integer >= 1 or a triple/);
    expect(() => new nn.Conv3d(3, 2, 1, { groups: 2 })).toThrow(/divisible by groups/);
    expect(() => new nn.Conv3d(1, 2, 3, { stride: 2, padding: 'same' })).toThrow(/strided/);
  });
});

describe('LoRA on nn.Conv3d', () => {
  for (const name of ['lora', 'dora']) {
    it(`${name}: PEFT's adapter gives PEFT's outputs and ΔW; merge keeps them, unmerge restores; saving gives PEFT's keys`, async () => {
      const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
      const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
      const peft = await PeftModel.fromPretrained(await base(), join(CASE, name), quiet);
      const conv = peft.model.getSubmodule('conv') as LoraConv2d;
      const original = conv.baseLayer.param('weight').clone();
      expect(maxAbsDiff(conv.deltaWeight('default'), expected[`conv_delta.${name}`])).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected[`logits.${name}`])).toBeLessThanOrEqual(TOLERANCE);
      peft.mergeAdapter();
      expect(maxAbsDiff(conv.baseLayer.param('weight'), expected[`conv_weight_merged.${name}`])).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected[`logits.${name}`])).toBeLessThanOrEqual(TOLERANCE);
      peft.unmergeAdapter();
      expect(maxAbsDiff(conv.baseLayer.param('weight'), original)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected[`logits.${name}`])).toBeLessThanOrEqual(TOLERANCE);
      await peft.savePretrained(join(scratch, name));
      const ours = safetensors.loadSync(join(scratch, name, 'adapter_model.safetensors'));
      const theirs = safetensors.loadSync(join(CASE, name, 'adapter_model.safetensors'));
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const key of Object.keys(theirs)) expect(maxAbsDiff(ours[key], theirs[key]), key).toBe(0);
    });
  }

  it('a new adapter: lora_A is a Conv3d with the base kernel/stride/padding, lora_B 1×1×1; ΔW starts at 0 and trains', async () => {
    const peft = getPeftModel(await base(), new LoraConfig({ r: 2, target_modules: ['conv', 'conv2'] }), 'default', quiet);
    const layer = peft.model.getSubmodule('conv') as LoraConv2d;
    const A = layer.getSubmodule('lora_A.default') as nn.Conv3d;
    const B = layer.getSubmodule('lora_B.default') as nn.Conv3d;
    expect([A.weight.shape, A.stride, A.padding]).toEqual([[2, 2, 3, 3, 3], [1, 2, 2], [1, 1, 1]]);
    expect(B.weight.shape).toEqual([4, 2, 1, 1, 1]);
    expect(layer.deltaWeight('default').abs().max().item()).toBe(0);
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    peft.train();
    (peft.forward({ x }) as Tensor).pow(2).sum().backward();
    expect(B.weight.grad?.abs().max().item()).toBeGreaterThan(0);
  });
});
