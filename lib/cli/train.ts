// node-peft train --config train.json: LoRA fine-tuning of a Hugging Face model folder on tensors from
// safetensors files; writes the adapter, metrics, plots and checkpoints to output_dir.
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import { causalLmLoss } from '../models/losses.js';
import { ViTForImageClassification } from '../models/index.js';
import { AdamW, getConstantScheduleWithWarmup, getCosineScheduleWithWarmup, getLinearScheduleWithWarmup } from '../optim/index.js';
import { getPeftModel, LoraConfig } from '../peft/index.js';
import { crossEntropy } from '../tensor/functional.js';
import { manualSeed } from '../tensor/runtime.js';
import type { Tensor } from '../tensor/tensor.js';
import { DataLoader } from '../train/data-loader.js';
import { resizeImages } from '../train/digits.js';
import { readMetrics } from '../train/metrics.js';
import { chartsFromMetrics, writePlots } from '../train/plots.js';
import { train } from '../train/trainer.js';
import type { LossFn } from '../train/types.js';
import { parseCommandArgs, requireString, UsageError } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, requireFile } from './load-model.js';
import { readTrainConfig, type TrainConfig } from './train-config.js';
import { TrainDataLoader } from './train-data.js';

const USAGE = `usage: node-peft train --config train.json [--no-progress]
  Fine-tunes the model folder train.json names with LoRA on its data (safetensors files of named tensors:
  Hugging Face input names plus 'labels'; or JSONL rows {"text"}, {"prompt","completion"} or {"messages"},
  tokenized with the model's tokenizer, loss masked as TRL's SFTTrainer does), and writes to output_dir: adapter/, metrics.jsonl, plots.html and
  checkpoint-<step>/ folders. The format is in docs/cli.md.`;

/** Cross entropy for classifiers (logits [B, C]); next-token cross entropy for causal LMs (logits [B, S, V]). */
export const autoLoss: LossFn = (logits, batch) => {
  const labels = batch.labels;
  if (!labels) throw new TorchError("train: the training data has no 'labels' tensor");
  return logits.ndim === 3 ? causalLmLoss(logits, labels) : crossEntropy(logits, labels);
};

function scheduleFor(config: TrainConfig, optimizer: AdamW) {
  const warmup = { numWarmupSteps: config.warmup_steps };
  if (config.lr_scheduler === 'linear') return getLinearScheduleWithWarmup(optimizer, { ...warmup, numTrainingSteps: config.steps });
  if (config.lr_scheduler === 'cosine') return getCosineScheduleWithWarmup(optimizer, { ...warmup, numTrainingSteps: config.steps });
  return getConstantScheduleWithWarmup(optimizer, warmup);
}

/** With image_size set, pixel_values of another size are resized to it (bilinear), as the demo does. */
function resizePixels(data: Record<string, Tensor>, imageSize: number | null): Record<string, Tensor> {
  const pixels = data.pixel_values;
  if (imageSize === null || !pixels || (pixels.shape[2] === imageSize && pixels.shape[3] === imageSize)) return data;
  data.pixel_values = resizeImages(pixels, imageSize);
  pixels.dispose();
  return data;
}

export async function runTrain(config: TrainConfig, progress: boolean, log: (line: string) => void): Promise<{ adapterDir: string; step: number; evalAccuracy: number | null }> {
  requireFile('train', 'data.train', config.train_data);
  if (config.eval_data) requireFile('train', 'data.eval', config.eval_data);
  const base = await loadBaseModel('train', config.model);
  if (config.image_size !== null) {
    if (!(base instanceof ViTForImageClassification)) throw new UsageError(`train: image_size applies to ViT models only, not ${base.architecture}`);
    base.resizeImageSize(config.image_size);
  }
  manualSeed(config.seed);
  const peft = getPeftModel(base, new LoraConfig(config.lora));
  const data = new TrainDataLoader(config.text);
  const trainData = resizePixels(await data.load(config.train_data), config.image_size);
  const evalData = config.eval_data ? resizePixels(await data.load(config.eval_data), config.image_size) : null;
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: config.learning_rate, weightDecay: config.weight_decay });
  try {
    const scheduler = scheduleFor(config, optimizer);
    const [trainable, all] = peft.getNbTrainableParameters();
    log(`training ${trainable.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} parameters for ${config.steps} steps`);
    const metricsPath = join(config.output_dir, 'metrics.jsonl');
    const result = train({
      model: peft, optimizer, scheduler, loss: autoLoss, steps: config.steps,
      data: new DataLoader(trainData, { batchSize: config.batch_size, seed: config.seed }),
      evalData: evalData ? new DataLoader(evalData, { batchSize: config.batch_size, shuffle: false }) : null,
      evalEvery: config.eval_every ?? config.steps, gradientAccumulationSteps: config.gradient_accumulation_steps,
      maxGradNorm: config.max_grad_norm, seed: config.seed, logEvery: config.log_every, metrics: metricsPath,
      outputDir: config.output_dir, checkpointEvery: config.checkpoint_every ?? config.steps, resume: config.resume, progress,
    });
    if (result.resumedFrom) log(`resumed from ${result.resumedFrom}`);
    const adapterDir = join(config.output_dir, 'adapter');
    await peft.savePretrained(adapterDir);
    writePlots(join(config.output_dir, 'plots.html'), `node-peft train: ${config.model}`, chartsFromMetrics(readMetrics(metricsPath)));
    return { adapterDir, step: result.step, evalAccuracy: result.eval ? result.eval.accuracy : null };
  } finally {
    optimizer.dispose();
    for (const t of [...Object.values(trainData), ...Object.values(evalData ?? {})]) t.dispose();
    peft.dispose();
  }
}

export const trainCommand: Command = {
  name: 'train',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCommandArgs('train', argv, { config: { type: 'string' }, 'no-progress': { type: 'boolean' }, nproc: { type: 'string' } });
    if (values.nproc !== undefined && values.nproc !== '1') throw new UsageError('train: --nproc > 1 (data-parallel training) is not available in this build');
    const config = readTrainConfig(requireString('train', values, 'config'));
    const result = await runTrain(config, values['no-progress'] !== true, io.out);
    if (result.evalAccuracy !== null && !Number.isNaN(result.evalAccuracy)) io.out(`eval accuracy: ${(result.evalAccuracy * 100).toFixed(2)}%`);
    io.out(`adapter saved to ${result.adapterDir} after ${result.step} steps; metrics and plots in ${config.output_dir}`);
    return 0;
  },
};
