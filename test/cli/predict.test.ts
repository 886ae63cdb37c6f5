// predict on the golden fixtures written by Python PEFT: the logits file matches Python's to 1e-4.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { loadSync } from '../../lib/serialization/index.js';
import { captureIO } from './io.js';

const GOLDEN = join('test', 'fixtures', 'peft-golden');
const outDir = mkdtempSync(join(tmpdir(), 'node-peft-predict-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

async function predict(caseName: string, expectedKey: string, ...extra: string[]): Promise<number> {
  const dir = join(GOLDEN, caseName);
  const out = join(outDir, `${caseName}-${expectedKey}.safetensors`);
  const io = captureIO();
  const code = await main(['predict', '--model', join(dir, 'base'), '--inputs', join(dir, 'inputs.safetensors'), '--out', out, ...extra], io);
  expect(io.stderr).toEqual([]);
  expect(code).toBe(0);
  const got = loadSync(out).logits;
  const expected = loadSync(join(dir, 'expected.safetensors'))[expectedKey];
  expect(got.shape).toEqual(expected.shape);
  return got.sub(expected).abs().max().item();
}

describe('predict', () => {
  test('case 01 (ViT + LoRA q/v + classifier): logits_peft within 1e-4', async () => {
    const dir = join(GOLDEN, '01_vit_lora_classifier');
    expect(await predict('01_vit_lora_classifier', 'logits_peft', '--adapter', join(dir, 'adapter'))).toBeLessThanOrEqual(1e-4);
  });

  test('case 01 without an adapter: logits_base within 1e-4', async () => {
    expect(await predict('01_vit_lora_classifier', 'logits_base')).toBeLessThanOrEqual(1e-4);
  });

  test('case 10: two named adapters and --adapter-names give the mixed batch', async () => {
    const dir = join(GOLDEN, '10_llama_mixed_batch_base_row', 'adapter');
    const diff = await predict('10_llama_mixed_batch_base_row', 'logits_mixed',
      '--adapter', `first=${join(dir, 'first')}`, '--adapter', `second=${join(dir, 'second')}`, '--adapter-names', 'first,__base__,second,first');
    expect(diff).toBeLessThanOrEqual(1e-4);
  });

  test('--adapter-names must give one name per row', async () => {
    const dir = join(GOLDEN, '10_llama_mixed_batch_base_row');
    const io = captureIO();
    const code = await main(['predict', '--model', join(dir, 'base'), '--inputs', join(dir, 'inputs.safetensors'), '--out', join(outDir, 'x.safetensors'),
      '--adapter', `first=${join(dir, 'adapter', 'first')}`, '--adapter-names', 'first,first'], io);
    expect(code).toBe(2);
    expect(io.stderr[0]).toBe('node-peft: predict: --adapter-names gives 2 names for a batch of 4 rows');
  });
});
