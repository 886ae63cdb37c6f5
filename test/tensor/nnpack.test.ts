// NNPACK is one of ATen's conv2d paths; where the CPU lacks it, ATen prints "Could not initialize NNPACK!" on
// every convolution (once per ViT request in a server). It is turned off at load where unavailable.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { nnpack } from '../../lib/tensor/runtime.js';
import { FIXTURES } from '../peft/golden.js';

test('NNPACK is used exactly where it initialises', () => {
  expect(nnpack.isEnabled()).toBe(nnpack.isAvailable());
});

test('ViT forwards (convolutions) in a fresh process print nothing on stderr', async () => {
  const script = `
    const { models, torch } = await import(${JSON.stringify(join(process.cwd(), 'dist', 'lib', 'index.js'))});
    const vit = await models.fromPretrained(${JSON.stringify(join(FIXTURES, 'peft-golden', '01_vit_lora_classifier', 'base'))});
    for (let k = 0; k < 3; k++) torch.noGrad(() => vit.forward({ pixel_values: torch.randn([2, 3, 32, 32]) }).logits.dispose());
    console.log('ok');`;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  expect(stdout.trim()).toBe('ok');
  expect(stderr).toBe('');
});
