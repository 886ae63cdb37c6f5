// W6-generate: greedy generation with LoRA and a KV cache through the public generate(): the W1 model (seed 0),
// 8 adapters (B ~ N(0, 0.02)), a 32-token prompt, 64 new tokens (no end token). Rows: batch 1 with one adapter,
// batch 8 where row i uses adapter i, and batch 1 with the base held in bfloat16 (LoRA in float32).
import { generate } from '../../models/text-generation.js';
import type { LlamaForCausalLM } from '../../models/llama.js';
import { getPeftModel, type PeftModel } from '../../peft/peft-model.js';
import { noGrad } from '../../tensor/autograd.js';
import { ones, randint } from '../../tensor/creation.js';
import { manualSeed } from '../../tensor/runtime.js';
import type { Tensor } from '../../tensor/tensor.js';
import { buildLlama, LLAMA, llamaLoraConfig, randomizeAdapter } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { performance } from 'node:perf_hooks';

export const GENERATE = { prompt: 32, newTokens: 64, adapters: 8, rounds: 3 };

/** The W1 decoder with adapters a0..a7 (B ~ N(0, 0.02)), a0 active; `dtype` holds the base in that dtype first. */
export function generateModel(dtype: 'float32' | 'bfloat16' = 'float32'): PeftModel<LlamaForCausalLM> {
  manualSeed(0);
  const base = buildLlama();
  if (dtype !== 'float32') base.to(dtype);
  const peft = getPeftModel(base, llamaLoraConfig(), 'a0');
  randomizeAdapter(peft, 'a0');
  for (let i = 1; i < GENERATE.adapters; i++) {
    peft.addAdapter(`a${i}`, llamaLoraConfig());
    randomizeAdapter(peft, `a${i}`);
  }
  peft.setAdapter('a0');
  peft.eval();
  return peft;
}

/** Seconds of the best of `rounds` generate() calls over the prompt ids. */
function bestSeconds(peft: PeftModel<LlamaForCausalLM>, ids: Tensor, adapterNames: string[] | null, rounds: number): number {
  const mask = ones(ids.shape, { dtype: 'int64' });
  const options = { maxNewTokens: GENERATE.newTokens, doSample: false, eosTokenId: null, padTokenId: 0, ...(adapterNames ? { adapterNames } : {}) };
  let best = Infinity;
  try {
    for (let round = 0; round < rounds; round++) {
      const start = performance.now();
      const out = noGrad(() => generate(peft, { input_ids: ids, attention_mask: mask }, options));
      best = Math.min(best, (performance.now() - start) / 1000);
      if (out.shape[1] !== GENERATE.prompt + GENERATE.newTokens) throw new Error(`generate: got ${out.shape[1] - GENERATE.prompt} new tokens, expected ${GENERATE.newTokens}`);
      out.dispose();
    }
  } finally {
    mask.dispose();
  }
  return best;
}

function row(workload: string, batch: number, seconds: number): BenchFields {
  return {
    workload, batch, new_tokens: GENERATE.newTokens, prompt: GENERATE.prompt, seconds,
    tokens_per_s: (batch * GENERATE.newTokens) / seconds, ms_per_token_step: (1000 * seconds) / GENERATE.newTokens,
  };
}

function prompts(batch: number): Tensor {
  return randint(0, LLAMA.vocab, [batch, GENERATE.prompt]);
}

/** reference_generate.py's cases and timing: a warm-up run, then the best of 3 rounds (--steps does not apply). */
export function generateWorkload(_ctx: WorkloadContext): BenchFields[] {
  const rounds = GENERATE.rounds;
  const peft = generateModel();
  const [one, eight] = [prompts(1), prompts(GENERATE.adapters)];
  const names = Array.from({ length: GENERATE.adapters }, (_, i) => `a${i}`);
  try {
    bestSeconds(peft, one, null, 1); // warm-up, as reference_generate.py
    const rows = [row('W6-generate-b1', 1, bestSeconds(peft, one, null, rounds)), row('W6-generate-b8-mixed', 8, bestSeconds(peft, eight, names, rounds))];
    peft.dispose();
    const bf16 = generateModel('bfloat16');
    bestSeconds(bf16, one, null, 1);
    rows.push({ ...row('W6-generate-b1-bf16', 1, bestSeconds(bf16, one, null, rounds)), dtype: 'bfloat16' });
    return rows;
  } finally {
    one.dispose();
    eight.dispose();
  }
}
