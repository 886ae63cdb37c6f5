// W1b-train-lora-bf16: W1 with the frozen base held in bfloat16 (as PEFT users load it with dtype=bfloat16), the LoRA
// parameters, their gradients and AdamW state in float32. Besides the timing, the loss after 50 steps from seed 0
// next to W1's (float32) from the same seed: the done-when asks for them within 2%.
import type { ModelOutput } from '../../models/base.js';
import { AdamW } from '../../optim/adamw.js';
import type { PeftModel } from '../../peft/peft-model.js';
import { noGrad } from '../../tensor/autograd.js';
import { randint } from '../../tensor/creation.js';
import { crossEntropy } from '../../tensor/functional.js';
import { bf16Gemm, manualSeed } from '../../tensor/runtime.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { buildLlama, LLAMA, llamaWithLora } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { median, peakRssMb, timed } from '../timing.js';
import { TRAIN_BATCH } from './train.js';

export const LOSS_STEPS = 50;

interface TrainRun {
  peft: PeftModel;
  step: () => number;
  loss: () => number;
  dispose: () => void;
}

/** W1's model (seed 0), its base in `dtype`, AdamW (lr 1e-4) on the float32 LoRA parameters, W1's batch. */
function trainRun(dtype: 'float32' | 'bfloat16'): TrainRun {
  manualSeed(0);
  const base = buildLlama();
  if (dtype !== 'float32') base.to(dtype);
  const peft = llamaWithLora(base);
  peft.train();
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 1e-4 });
  const ids = randint(0, LLAMA.vocab, [TRAIN_BATCH, LLAMA.seq + 1]);
  const inputs = ids.slice(1, 0, LLAMA.seq).contiguous();
  const targets = ids.slice(1, 1).reshape(-1);
  const lossOf = (): Tensor => {
    const { logits } = peft.forward({ input_ids: inputs }) as ModelOutput;
    return crossEntropy(logits.reshape(-1, LLAMA.vocab).to('float32'), targets); // the loss in float32, as autocast's users do
  };
  return {
    peft,
    step: () => scope(() => {
      const loss = lossOf();
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      return loss.item();
    }),
    loss: () => noGrad(() => scope(() => lossOf().item())),
    dispose: () => {
      for (const t of [ids, inputs, targets]) t.dispose();
      peft.dispose();
    },
  };
}

/** The loss after `steps` steps from seed 0, and the median ms of those steps. */
function lossAfterSteps(dtype: 'float32' | 'bfloat16', steps: number): { loss: number; msPerStep: number } {
  const run = trainRun(dtype);
  try {
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      run.step();
      times.push(performance.now() - start);
    }
    return { loss: run.loss(), msPerStep: steps > 0 ? median(times) : 0 };
  } finally {
    run.dispose();
  }
}

/** lossSteps: LOSS_STEPS in the bench (the tests use fewer). */
export function trainBf16Workload(ctx: WorkloadContext, lossSteps = LOSS_STEPS): BenchFields {
  const run = trainRun('bfloat16');
  let timing;
  try {
    timing = timed(() => void run.step(), ctx.steps, ctx.warmup);
  } finally {
    run.dispose();
  }
  const peak = peakRssMb(); // before the loss runs below, which hold a float32 model too
  const bf16 = lossAfterSteps('bfloat16', lossSteps);
  const fp32 = lossAfterSteps('float32', lossSteps);
  const tokens = TRAIN_BATCH * LLAMA.seq;
  return {
    workload: 'W1b-train-lora-bf16', ms_per_step: timing.median, min: timing.min, max: timing.max,
    tokens_per_s: (tokens / timing.median) * 1000, peak_rss_mb: peak,
    loss_after_50: bf16.loss, loss_fp32_after_50: fp32.loss, loss_rel_diff: Math.abs(bf16.loss - fp32.loss) / Math.abs(fp32.loss),
    ms_per_step_50: bf16.msPerStep, fp32_ms_per_step_50: fp32.msPerStep, loss_steps: lossSteps, bf16_gemm: bf16Gemm(),
  };
}
