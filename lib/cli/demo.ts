// node-peft demo: the seed scenario end to end (see demo-run.ts), with its options and summary.
import { integerOption, optionalString, parseCommandArgs } from './args.js';
import type { Command } from './command.js';

const USAGE = `usage: node-peft demo [--out DIR] [--pretrain-steps N] [--finetune-steps N] [--batch-size N] [--size N] [--seed N] [--no-progress]
  Writes the UCI handwritten digits as 8x8 PNG files (once), trains a small ViT on them through a ViT image
  processor, raises the image size of model and processor to --size (default 16), fine-tunes it with LoRA
  (+ classifier and position embeddings), saves the adapter, and checks that a separate process running
  'predict --images' on the test PNGs gives exactly the trainer's logits. Output in --out (default out/demo).`;

export const demoCommand: Command = {
  name: 'demo',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, {
      out: { type: 'string' },
      'pretrain-steps': { type: 'string' },
      'finetune-steps': { type: 'string' },
      'batch-size': { type: 'string' },
      size: { type: 'string' },
      seed: { type: 'string' },
      'no-progress': { type: 'boolean' },
    });
    const size = integerOption('demo', values, 'size', 16, 4);
    if (size % 2 !== 0) throw new (await import('./args.js')).UsageError(`demo: --size: expected an even number (the patch size is 2), got ${size}`);
    const { runDemo } = await import('./demo-run.js');
    // The demo's model is tiny: one intra-op thread runs it fastest, and several threads on a busy machine
    // spin against each other (measured: 30 ms vs 4.7 s a step on a loaded 2-core machine).
    if (!process.env.NODE_PEFT_THREADS?.trim()) (await import('../tensor/runtime.js')).setNumThreads(1);
    const result = await runDemo({
      outDir: optionalString(values, 'out') ?? 'out/demo',
      pretrainSteps: integerOption('demo', values, 'pretrain-steps', 1200),
      finetuneSteps: integerOption('demo', values, 'finetune-steps', 400),
      batchSize: integerOption('demo', values, 'batch-size', 64),
      newSide: size,
      seed: integerOption('demo', values, 'seed', 0, 0),
      progress: values['no-progress'] ? false : true,
      log: io.out,
    });
    io.out('');
    io.out(`accuracy at 8x8 (pre-trained):          ${(result.accuracyBase * 100).toFixed(2)}%`);
    io.out(`accuracy at ${size}x${size} before fine-tuning:   ${(result.accuracyResizedBefore * 100).toFixed(2)}%`);
    io.out(`accuracy at ${size}x${size} after LoRA:           ${(result.accuracyAfter * 100).toFixed(2)}%`);
    io.out(`accuracy in the serving process:        ${(result.accuracyServing * 100).toFixed(2)}% (logits identical: max diff ${result.servingMaxAbsDiff})`);
    io.out(`adapter: ${result.adapterDir}`);
    io.out(`plots:   ${result.plotsPath}`);
    io.out(`done in ${result.seconds.toFixed(1)} s`);
    return 0;
  },
};
