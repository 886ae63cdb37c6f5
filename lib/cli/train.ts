// node-peft train --config train.json: LoRA fine-tuning of a Hugging Face model folder on tensors from
// safetensors files; writes the adapter, metrics, plots and checkpoints to output_dir.
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import { causalLmLoss } from '../models/losses.js';
import { ViTForImageClassification } from '../models/index.js';
import { AdamW, getConstantScheduleWithWarmup, getCosineScheduleWithWarmup, getLinearScheduleWithWarmup } from '../optim/index.js';
import { getPeftModel, LoraConfig } from '../peft/index.js';
import { load } from '../serialization/index.js';
import { crossEntropy } from '../tensor/functional.js';
import { manualSeed } from '../tensor/runtime.js';
import type { Tensor } from '../tensor/tensor.js';
import { DataLoader, type BatchLoader } from '../train/data-loader.js';
import { resizeImages } from '../train/digits.js';
import { readMetrics } from '../train/metrics.js';
import { chartsFromMetrics, writePlots } from '../train/plots.js';
import { train } from '../train/trainer.js';
import type { LossFn } from '../train/types.js';
import { parseCommandArgs, requireString, UsageError } from './args.js';
import type { Command } from './command.js';
import { loadBaseModel, requireFile } from './load-model.js';
import { readTrainConfig, type TrainConfig } from './train-config.js';
import { isImageData, prepareImageTraining, type ImageTraining } from './train-images.js';

const USAGE = `usage: node-peft train --config train.json [--no-progress]
  Fine-tunes the model folder train.json names with LoRA on its data (safetensors files of named tensors:
  Hugging Face input names plus 'labels'; or images: a folder with one subfolder per class, or JSONL rows
  {"image", "label"}), and writes to output_dir: adapter/, metrics.jsonl, plots.html and checkpoint-<step>/
  folders (with images: preprocessor_config.json beside the adapter, and model/ when image_size or the labels
  changed the base model). The format is in docs/cli.md and docs/images.md.`;

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

interface TrainData {
  train: BatchLoader;
  eval: BatchLoader | null;
  images: ImageTraining | null;
  dispose(): void;
}

async function loadData(config: TrainConfig, base: Awaited<ReturnType<typeof loadBaseModel>>, progress: boolean, log: (line: string) => void): Promise<TrainData> {
  if (await isImageData(config.train_data)) {
    const images = await prepareImageTraining(config, base, progress, log);
    return { train: images.train, eval: images.eval, images, dispose: () => [images.train, images.eval].forEach((l) => l?.close()) };
  }
  requireFile('train', 'data.train', config.train_data);
  if (config.eval_data) requireFile('train', 'data.eval', config.eval_data);
  const trainData = resizePixels(await load(config.train_data), config.image_size);
  const evalData = config.eval_data ? resizePixels(await load(config.eval_data), config.image_size) : null;
  return {
    train: new DataLoader(trainData, { batchSize: config.batch_size, seed: config.seed }),
    eval: evalData ? new DataLoader(evalData, { batchSize: config.batch_size, shuffle: false }) : null,
    images: null,
    dispose: () => {
      for (const t of [...Object.values(trainData), ...Object.values(evalData ?? {})]) t.dispose();
    },
  };
}

export async function runTrain(config: TrainConfig, progress: boolean, log: (line: string) => void): Promise<{ adapterDir: string; modelDir: string | null; step: number; evalAccuracy: number | null }> {
  const base = await loadBaseModel('train', config.model);
  if (config.image_size !== null) {
    if (!(base instanceof ViTForImageClassification)) throw new UsageError(`train: image_size applies to ViT models only, not ${base.architecture}`);
    base.resizeImageSize(config.image_size);
  }
  const data = await loadData(config, base, progress, log);
  // The base as trained: with a new image size or new label names it differs from config.model, so it is saved too.
  const modelDir = data.images && (config.image_size !== null || data.images.labelsCreated) ? join(config.output_dir, 'model') : null;
  if (modelDir) {
    await base.savePretrained(modelDir);
    await data.images?.processor.savePretrained(modelDir);
  }
  manualSeed(config.seed);
  const peft = getPeftModel(base, new LoraConfig(config.lora));
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: config.learning_rate, weightDecay: config.weight_decay });
  try {
    const scheduler = scheduleFor(config, optimizer);
    const [trainable, all] = peft.getNbTrainableParameters();
    log(`training ${trainable.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} parameters for ${config.steps} steps`);
    const metricsPath = join(config.output_dir, 'metrics.jsonl');
    const result = train({
      model: peft, optimizer, scheduler, loss: autoLoss, steps: config.steps,
      data: data.train, evalData: data.eval,
      evalEvery: config.eval_every ?? config.steps, gradientAccumulationSteps: config.gradient_accumulation_steps,
      maxGradNorm: config.max_grad_norm, seed: config.seed, logEvery: config.log_every, metrics: metricsPath,
      outputDir: config.output_dir, checkpointEvery: config.checkpoint_every ?? config.steps, resume: config.resume, progress,
    });
    if (result.resumedFrom) log(`resumed from ${result.resumedFrom}`);
    const adapterDir = join(config.output_dir, 'adapter');
    await peft.savePretrained(adapterDir);
    await data.images?.processor.savePretrained(adapterDir);
    writePlots(join(config.output_dir, 'plots.html'), `node-peft train: ${config.model}`, chartsFromMetrics(readMetrics(metricsPath)));
    return { adapterDir, modelDir, step: result.step, evalAccuracy: result.eval ? result.eval.accuracy : null };
  } finally {
    optimizer.dispose();
    data.dispose();
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
    if (result.modelDir) io.out(`base model as trained (new image size or labels) saved to ${result.modelDir}; load the adapter on it`);
    return 0;
  },
};
