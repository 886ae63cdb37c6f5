// W5-vit-seed: the ViT resized from 224 to 384, LoRA on q/v with the classifier and the bare position-embedding
// parameter trained (modules_to_save); batch 8, AdamW.
import type { ModelOutput } from '../../models/base.js';
import { AdamW } from '../../optim/adamw.js';
import { randint, randn } from '../../tensor/creation.js';
import { crossEntropy } from '../../tensor/functional.js';
import { manualSeed } from '../../tensor/runtime.js';
import { scope } from '../../tensor/scope.js';
import { VIT, vitSeedModel } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { peakRssMb, timed } from '../timing.js';

export const VIT_BATCH = 8;

export function vitWorkload(ctx: WorkloadContext): BenchFields {
  manualSeed(0);
  const peft = vitSeedModel();
  peft.train();
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 1e-4 });
  const pixels = randn([VIT_BATCH, 3, VIT.tunedAt, VIT.tunedAt]);
  const labels = randint(0, VIT.labels, [VIT_BATCH]);
  try {
    const t = timed(() => scope(() => {
      const { logits } = peft.forward({ pixel_values: pixels }) as ModelOutput;
      const loss = crossEntropy(logits, labels);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
    }), ctx.steps, ctx.warmup);
    return { workload: 'W5-vit-seed', ms_per_step: t.median, min: t.min, max: t.max, peak_rss_mb: peakRssMb() };
  } finally {
    pixels.dispose();
    labels.dispose();
  }
}
