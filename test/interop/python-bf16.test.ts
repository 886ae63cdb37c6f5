// An adapter node-peft trains on a bfloat16 base loads in real PEFT (base loaded with dtype=torch.bfloat16) with no
// missing or unexpected keys, the same dtypes (LoRA float32, modules_to_save copies bf16) and node-peft's logits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, safetensors, torch } from '../../lib/index.js';
import { FIXTURES } from '../peft/golden.js';
import { ENABLE_HINT, interopPython } from './python.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'interop', 'check_bf16_adapter.py');
const BASE = join(FIXTURES, 'peft-golden/07_llama_two_named_adapters/base');
const INPUTS = join(FIXTURES, 'bf16/lora/inputs.safetensors');
const python = interopPython();

interface Bf16Report {
  missing_keys: string[];
  unexpected_keys: string[];
  base_dtype: string;
  adapter_param_dtypes: Record<string, string>;
  file_dtypes: Record<string, string>;
  logits_max_abs_diff: number;
}

describe.skipIf(!python)(`Python PEFT loads a bf16-base adapter${python ? '' : ` (skipped: ${ENABLE_HINT})`}`, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'node-peft-bf16-interop-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('with no missing or unexpected keys, the same dtypes and our logits', async () => {
    torch.manualSeed(7);
    const quiet = { warn: (): void => undefined };
    const config = new LoraConfig({ task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, target_modules: 'all-linear', modules_to_save: ['lm_head'], init_lora_weights: false }, quiet);
    const peft = getPeftModel(await models.fromPretrained(BASE, { dtype: 'bfloat16' }), config, 'default', quiet);
    torch.noGrad(() => {
      for (const [, p] of peft.namedParameters()) if (p.requiresGrad) torch.scope(() => p.add_(torch.randn(p.shape).mul(0.05).to(p.dtype)));
    });
    peft.eval();
    const inputs = await safetensors.load(INPUTS);
    const logits = torch.noGrad(() => peft.forward(inputs).logits.to('float32'));
    const adapterDir = join(scratch, 'adapter');
    await peft.savePretrained(adapterDir);
    const ours = join(scratch, 'ours.safetensors');
    await safetensors.save(ours, { logits });
    const ourDtypes = Object.fromEntries(peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n, p]) => [n.replace(/^base_model\.model\./, ''), p.dtype]));
    peft.dispose();

    const report = JSON.parse(execFileSync(python as string, [SCRIPT, BASE, adapterDir, INPUTS, ours], { encoding: 'utf8' })) as Bf16Report;
    expect(report.missing_keys).toEqual([]);
    expect(report.unexpected_keys).toEqual([]);
    expect(report.base_dtype).toBe('bfloat16');
    expect(report.adapter_param_dtypes).toEqual(ourDtypes);
    expect(Object.values(report.adapter_param_dtypes).filter((d) => d === 'float32').length).toBe(28); // A and B on 7 linears x 2 layers
    for (const [key, dtype] of Object.entries(report.file_dtypes)) expect(dtype, key).toBe(key.includes('lm_head') ? 'bfloat16' : 'float32');
    // same tolerance as test/peft/bf16.test.ts: bit-identical on ATen's bf16 GEMM, 2 bf16 steps when widened
    expect(report.logits_max_abs_diff).toBeLessThanOrEqual(0.125);
  }, 600_000);
});
