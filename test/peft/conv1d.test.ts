// LoRA and DoRA on nn.Conv1d layers against PEFT 0.21 (scripts/fixtures/peft_variants.py, conv1d_case): the same
// custom model in both languages, PEFT's adapters give PEFT's outputs unmerged and merged, and saving again gives
// PEFT's keys.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nn, PeftModel, safetensors, type Tensor } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const CASE = join(FIXTURES, 'peft-variants', 'conv1d');
const scratch = mkdtempSync(join(tmpdir(), 'peft-conv1d-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The Python ConvNet: conv (3→6, k=3, padding 1), relu, conv2 (6→4, 1×1), flatten, head (32→5). */
class ConvNet extends nn.Module {
  constructor() {
    super();
    this.registerModule('conv', new nn.Conv1d(3, 6, 3, { padding: 1 }));
    this.registerModule('conv2', new nn.Conv1d(6, 4, 1));
    this.registerModule('head', new nn.Linear(32, 5));
  }

  forward(inputs: { x: Tensor }): Tensor {
    const h = this.child<nn.Conv1d>('conv2').forward(this.child<nn.Conv1d>('conv').forward(inputs.x).relu());
    return this.child<nn.Linear>('head').forward(h.flatten(1));
  }
}

async function base(): Promise<ConvNet> {
  const net = new ConvNet();
  net.loadStateDict(await safetensors.load(join(CASE, 'base.safetensors')), { strict: true });
  net.eval();
  return net;
}

describe('LoRA on nn.Conv1d', () => {
  it('the base model matches PyTorch\'s Conv1d', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    expect(maxAbsDiff((await base()).forward({ x }), expected.logits_base)).toBeLessThanOrEqual(1e-5);
  });

  for (const name of ['lora', 'dora']) {
    it(`${name}: PEFT's adapter gives PEFT's outputs, unmerged and merged; saving again gives PEFT's keys`, async () => {
      const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
      const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
      const peft = await PeftModel.fromPretrained(await base(), join(CASE, name), { warn: () => undefined });
      expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected[`logits.${name}`])).toBeLessThanOrEqual(1e-4);
      peft.mergeAdapter();
      expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected[`logits.${name}_merged`])).toBeLessThanOrEqual(1e-4);
      peft.unmergeAdapter();
      await peft.savePretrained(join(scratch, name));
      const ours = safetensors.loadSync(join(scratch, name, 'adapter_model.safetensors'));
      const theirs = safetensors.loadSync(join(CASE, name, 'adapter_model.safetensors'));
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const key of Object.keys(theirs)) expect(ours[key].shape, key).toEqual(theirs[key].shape);
    });
  }
});
