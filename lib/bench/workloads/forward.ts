// W2-forward: batch 1 x 128 inference; the base model, then with the LoRA adapter unmerged, then merged.
import type { ModelOutput } from '../../models/base.js';
import { noGrad } from '../../tensor/autograd.js';
import { randint } from '../../tensor/creation.js';
import { manualSeed } from '../../tensor/runtime.js';
import { scope } from '../../tensor/scope.js';
import type { Module } from '../../nn/module.js';
import { buildLlama, LLAMA, llamaWithLora } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { timed } from '../timing.js';

type Forward = Module & { forward(inputs: Record<string, unknown>): unknown };

export function forwardWorkload(ctx: WorkloadContext): BenchFields {
  manualSeed(0);
  const base = buildLlama();
  base.eval();
  const ids = randint(0, LLAMA.vocab, [1, LLAMA.seq]);
  const run = (model: Forward) => () => scope(() => void (model.forward({ input_ids: ids }) as ModelOutput).logits);
  try {
    return noGrad(() => {
      const baseMs = timed(run(base), ctx.steps, ctx.warmup).median;
      const peft = llamaWithLora(base);
      peft.eval();
      const loraMs = timed(run(peft), ctx.steps, ctx.warmup).median;
      peft.mergeAdapter();
      const mergedMs = timed(run(peft), ctx.steps, ctx.warmup).median;
      return { workload: 'W2-forward', base_ms: baseMs, lora_ms: loraMs, merged_ms: mergedMs, lora_overhead: loraMs / baseMs };
    });
  } finally {
    ids.dispose();
  }
}
