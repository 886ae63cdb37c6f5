// node-peft train --config train.json: LoRA fine-tuning of a Hugging Face model folder on safetensors tensors, JSONL
// text or images; writes the adapter, metrics, plots and checkpoints to output_dir. Under a launcher (--nproc,
// torchrun) each process is one data-parallel rank.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import { causalLmLoss } from '../models/losses.js';
import { ViTForImageClassification } from '../models/index.js';
import { AdamW, getConstantScheduleWithWarmup, getCosineScheduleWithWarmup, getLinearScheduleWithWarmup } from '../optim/index.js';
import { getPeftModel, LoraConfig } from '../peft/index.js';
import type { ProcessGroup } from '../tensor/distributed.js';
import { BYTES_PER_ELEMENT } from '../tensor/dtype.js';
import { crossEntropy } from '../tensor/functional.js';
import { manualSeed } from '../tensor/runtime.js';
import type { Tensor } from '../tensor/tensor.js';
import { prepareOutputDir } from '../train/checkpoint.js';
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
import { TrainDataLoader } from './train-data.js';
import { isImageData, prepareImageTraining, type ImageTraining } from './train-images.js';

const USAGE = `usage: node-peft train --config train.json [--no-progress] [--nproc N]
  Fine-tunes the model folder train.json names with LoRA on its data: safetensors files of named tensors
  (Hugging Face input names plus 'labels'); JSONL rows {"text"}, {"prompt","completion"} or {"messages"},
  tokenized with the model's tokenizer, loss masked as TRL's SFTTrainer does; or images: a folder with one
  subfolder per class, or JSONL rows {"image", "label"}. Writes to output_dir: adapter/, metrics.jsonl,
  plots.html and checkpoint-<step>/ folders (with images: preprocessor_config.json beside the adapter, and model/
  when image_size or the labels changed the base model). The format is in docs/cli.md, docs/text.md, docs/images.md.
  --nproc N: data-parallel over N local ranks (batch_size per rank; see docs/distributed.md). Under torchrun or
  with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set, this process is one rank of such a run.`;

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

async function loadData(config: TrainConfig, base: Awaited<ReturnType<typeof loadBaseModel>>, group: ProcessGroup | null, progress: boolean,
  log: (line: string) => void): Promise<TrainData> {
  if (await isImageData(config.train_data)) {
    if (group) throw new UsageError('train: data-parallel training (--nproc) takes tensor or JSONL text data; image folders train in one process');
    const images = await prepareImageTraining(config, base, progress, log);
    return { train: images.train, eval: images.eval, images, dispose: () => [images.train, images.eval].forEach((l) => l?.close()) };
  }
  requireFile('train', 'data.train', config.train_data);
  if (config.eval_data) requireFile('train', 'data.eval', config.eval_data);
  const tensors = new TrainDataLoader(config.text);
  const trainData = resizePixels(await tensors.load(config.train_data), config.image_size);
  const evalData = config.eval_data ? resizePixels(await tensors.load(config.eval_data), config.image_size) : null;
  return {
    train: new DataLoader(trainData, { batchSize: config.batch_size, seed: config.seed, rank: group?.rank, worldSize: group?.worldSize }),
    eval: evalData ? new DataLoader(evalData, { batchSize: config.batch_size, shuffle: false }) : null,
    images: null,
    dispose: () => {
      for (const t of [...Object.values(trainData), ...Object.values(evalData ?? {})]) t.dispose();
    },
  };
}

/** This process's data-parallel group when a launcher (node-peft train --nproc, torchrun) started it as a rank. */
async function joinProcessGroup(): Promise<ProcessGroup | null> {
  const worldSize = process.env.WORLD_SIZE;
  if (worldSize === undefined || worldSize === '' || worldSize === '1') return null;
  const { ProcessGroup } = await import('../tensor/distributed.js');
  return ProcessGroup.fromEnv();
}

export async function runTrain(config: TrainConfig, progress: boolean, log: (line: string) => void): Promise<{ adapterDir: string; modelDir: string | null; step: number; evalAccuracy: number | null }> {
  const group = await joinProcessGroup();
  const isMain = group === null || group.rank === 0;
  try {
    if (isMain) {
      prepareOutputDir(config.output_dir, { resume: config.resume, overwrite: config.overwrite_output_dir });
      if (config.overwrite_output_dir && !config.resume) {
        for (const name of ['adapter', 'metrics.jsonl', 'plots.html']) rmSync(join(config.output_dir, name), { recursive: true, force: true });
      }
    }
    group?.barrier(); // the other ranks start once rank 0 accepted the output folder
    const base = await loadBaseModel('train', config.model, config.dtype);
    if (config.image_size !== null) {
      if (!(base instanceof ViTForImageClassification)) throw new UsageError(`train: image_size applies to ViT models only, not ${base.architecture}`);
      base.resizeImageSize(config.image_size);
    }
    const data = await loadData(config, base, group, progress, log);
    // The base as trained: with a new image size or new label names it differs from config.model, so it is saved too.
    const modelDir = data.images && (config.image_size !== null || data.images.labelsCreated) ? join(config.output_dir, 'model') : null;
    if (modelDir) {
      await base.savePretrained(modelDir);
      await data.images?.processor.savePretrained(modelDir);
    }
    manualSeed(config.seed);
    const peft = getPeftModel(base, new LoraConfig(config.lora));
    const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad);
    const optimizer = new AdamW(trainable, { lr: config.learning_rate, weightDecay: config.weight_decay });
    try {
      const scheduler = scheduleFor(config, optimizer);
      if (isMain) {
        const [count, all] = peft.getNbTrainableParameters();
        const gradientBytes = trainable.reduce((sum, [, p]) => sum + p.numel() * BYTES_PER_ELEMENT[p.dtype], 0);
        const ranks = group ? ` on ${group.worldSize} ranks (global batch ${config.batch_size * group.worldSize}; ` +
          `${(gradientBytes / 2 ** 20).toFixed(2)} MiB of gradients all-reduced per step)` : '';
        log(`training ${count.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} parameters for ${config.steps} steps${ranks}`);
      }
      const metricsPath = join(config.output_dir, 'metrics.jsonl');
      const result = train({
        model: peft, optimizer, scheduler, loss: autoLoss, steps: config.steps, data: data.train, evalData: data.eval,
        evalEvery: config.eval_every ?? config.steps, gradientAccumulationSteps: config.gradient_accumulation_steps,
        maxGradNorm: config.max_grad_norm, seed: config.seed, logEvery: config.log_every, metrics: metricsPath,
        outputDir: config.output_dir, checkpointEvery: config.checkpoint_every ?? config.steps, resume: config.resume,
        // checked above, before model/ was written beside the run
        overwriteOutputDir: true, progress, processGroup: group,
      });
      const adapterDir = join(config.output_dir, 'adapter');
      if (isMain) {
        if (result.resumedFrom) log(`resumed from ${result.resumedFrom}`);
        await peft.savePretrained(adapterDir);
        await data.images?.processor.savePretrained(adapterDir);
        writePlots(join(config.output_dir, 'plots.html'), `node-peft train: ${config.model}`, chartsFromMetrics(readMetrics(metricsPath)));
      }
      group?.barrier();
      return { adapterDir, modelDir, step: result.step, evalAccuracy: result.eval ? result.eval.accuracy : null };
    } finally {
      optimizer.dispose();
      data.dispose();
      peft.dispose();
    }
  } finally {
    group?.destroy();
  }
}

export const trainCommand: Command = {
  name: 'train',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCommandArgs('train', argv, { config: { type: 'string' }, 'no-progress': { type: 'boolean' }, nproc: { type: 'string' } });
    const nproc = values.nproc === undefined ? 1 : Number(values.nproc);
    if (!Number.isInteger(nproc) || nproc < 1) throw new UsageError(`train: --nproc must be a positive integer, got ${values.nproc}`);
    const config = readTrainConfig(requireString('train', values, 'config'));
    if (nproc > 1) {
      const { launch } = await import('./launch.js');
      const rankArgv = argv.filter((a, i) => a !== '--nproc' && argv[i - 1] !== '--nproc' && !a.startsWith('--nproc='));
      return launch({ nproc, argv: ['train', ...rankArgv], err: io.err });
    }
    const result = await runTrain(config, values['no-progress'] !== true, io.out);
    if (result.evalAccuracy !== null && !Number.isNaN(result.evalAccuracy)) io.out(`eval accuracy: ${(result.evalAccuracy * 100).toFixed(2)}%`);
    io.out(`adapter saved to ${result.adapterDir} after ${result.step} steps; metrics and plots in ${config.output_dir}`);
    if (result.modelDir) io.out(`base model as trained (new image size or labels) saved to ${result.modelDir}; load the adapter on it`);
    return 0;
  },
};
