// W1-train-lora: batch 4 x 128 next-token cross-entropy, AdamW (lr 1e-4) on the LoRA parameters, base frozen.
import type { ModelOutput } from '../../models/base.js';
import { AdamW } from '../../optim/adamw.js';
import { randint } from '../../tensor/creation.js';
import { crossEntropy } from '../../tensor/functional.js';
import { manualSeed } from '../../tensor/runtime.js';
import { scope } from '../../tensor/scope.js';
import { loraTrainFlops } from '../flops.js';
import { LLAMA, LORA, llamaWithLora } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { peakRssMb, timed } from '../timing.js';

export const TRAIN_BATCH = 4;

export function trainWorkload(ctx: WorkloadContext): BenchFields {
  manualSeed(0);
  const peft = llamaWithLora();
  peft.train();
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 1e-4 });
  const ids = randint(0, LLAMA.vocab, [TRAIN_BATCH, LLAMA.seq + 1]);
  const inputs = ids.slice(1, 0, LLAMA.seq).contiguous();
  const targets = ids.slice(1, 1).reshape(-1);
  const step = (): void =>
    scope(() => {
      const { logits } = peft.forward({ input_ids: inputs }) as ModelOutput;
      const loss = crossEntropy(logits.reshape(-1, LLAMA.vocab), targets);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
    });
  try {
    const t = timed(step, ctx.steps, ctx.warmup);
    const tokens = TRAIN_BATCH * LLAMA.seq;
    const flops = loraTrainFlops(LLAMA, { r: LORA.r, targetsPerLayer: LORA.targets.length }, TRAIN_BATCH);
    return {
      workload: 'W1-train-lora', ms_per_step: t.median, min: t.min, max: t.max, tokens_per_s: (tokens / t.median) * 1000,
      peak_rss_mb: peakRssMb(), model_gflop: flops / 1e9, gflops: flops / t.median / 1e6,
    };
  } finally {
    for (const t of [ids, inputs, targets]) t.dispose();
  }
}
