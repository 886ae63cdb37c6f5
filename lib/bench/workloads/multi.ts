// W3-multi-adapter-batch: 8 adapters loaded at once; one batch of 8 x 128 where row i uses adapter i.
import type { ModelOutput } from '../../models/base.js';
import { noGrad } from '../../tensor/autograd.js';
import { randint } from '../../tensor/creation.js';
import { manualSeed } from '../../tensor/runtime.js';
import { scope } from '../../tensor/scope.js';
import { buildLlama, LLAMA, llamaLoraConfig, llamaWithLora, randomizeAdapter } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { timed } from '../timing.js';

export const ADAPTERS = 8;

export function multiWorkload(ctx: WorkloadContext): BenchFields {
  manualSeed(0);
  const base = buildLlama();
  base.eval();
  const ids = randint(0, LLAMA.vocab, [ADAPTERS, LLAMA.seq]);
  try {
    return noGrad(() => {
      const baseMs = timed(() => scope(() => void (base.forward({ input_ids: ids }) as ModelOutput).logits), ctx.steps, ctx.warmup).median;
      const names = Array.from({ length: ADAPTERS }, (_, i) => `adapter${i}`);
      const peft = llamaWithLora(base, names[0]);
      randomizeAdapter(peft, names[0], 0.02, 0.02);
      for (const name of names.slice(1)) {
        peft.addAdapter(name, llamaLoraConfig());
        randomizeAdapter(peft, name, 0.02, 0.02);
      }
      peft.eval();
      const ms = timed(() => scope(() => void (peft.forward({ input_ids: ids, adapter_names: names }) as ModelOutput).logits), ctx.steps, ctx.warmup).median;
      return {
        workload: 'W3-multi-adapter-batch', ms, tokens_per_s: ((ADAPTERS * LLAMA.seq) / ms) * 1000, base_ms: baseMs,
        overhead_vs_base: ms / baseMs,
      };
    });
  } finally {
    ids.dispose();
  }
}
