// The seed scenario end to end on real data: train a small ViT on the 8x8 digits, save it as a Hugging Face
// folder, raise the image size to 16x16 (position embeddings interpolated), fine-tune with LoRA on q/v plus
// modules_to_save ['classifier', 'position_embeddings'], save the adapter, then load base + adapter in a
// separate process (our own `predict` command, as a server would) and check it gives the very same logits.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TorchError } from '../errors.js';
import { fromPretrained, ViTForImageClassification } from '../models/index.js';
import { AdamW, getCosineScheduleWithWarmup } from '../optim/index.js';
import { getPeftModel, LoraConfig } from '../peft/index.js';
import { load, save } from '../serialization/index.js';
import { manualSeed } from '../tensor/runtime.js';
import type { Tensor } from '../tensor/tensor.js';
import { DataLoader } from '../train/data-loader.js';
import { DIGIT_CLASSES, DIGIT_SIDE, digitsSplit, resizeImages, type DigitImages } from '../train/digits.js';
import { evaluate, type EvaluateResult } from '../train/evaluate.js';
import { readMetrics } from '../train/metrics.js';
import { chartsFromMetrics, writePlots } from '../train/plots.js';
import type { ProgressStream } from '../train/progress.js';
import { train } from '../train/trainer.js';

export interface DemoOptions {
  outDir: string;
  pretrainSteps: number;
  finetuneSteps: number;
  batchSize: number;
  newSide: number;
  seed: number;
  progress: boolean | ProgressStream;
  log: (line: string) => void;
}

export interface DemoResult {
  accuracyBase: number;
  accuracyResizedBefore: number;
  accuracyAfter: number;
  accuracyServing: number;
  servingMaxAbsDiff: number;
  adapterDir: string;
  plotsPath: string;
  seconds: number;
}

const VIT_CONFIG = {
  architectures: ['ViTForImageClassification'],
  model_type: 'vit',
  hidden_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 128,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  image_size: DIGIT_SIDE,
  patch_size: 2,
  num_channels: 1,
  qkv_bias: true,
  id2label: Object.fromEntries(Array.from({ length: DIGIT_CLASSES }, (_, i) => [String(i), String(i)])),
  label2id: Object.fromEntries(Array.from({ length: DIGIT_CLASSES }, (_, i) => [String(i), i])),
};

/** The bin script of this package (the child process runs the built CLI, as a user or server would). */
function binPath(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, folder = dirname(folder)) {
    const candidate = join(folder, 'bin', 'node-peft.js');
    if (existsSync(candidate)) return candidate;
  }
  throw new TorchError('demo: bin/node-peft.js not found next to the node-peft package');
}

function runChild(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, output }));
  });
}

function disposeImages(data: DigitImages): void {
  data.pixel_values.dispose();
  data.labels.dispose();
}

function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const { outDir, log } = options;
  const paths = {
    base8: join(outDir, 'base-8px'),
    base16: join(outDir, `base-${options.newSide}px`),
    adapter: join(outDir, 'adapter'),
    pretrainMetrics: join(outDir, 'pretrain-metrics.jsonl'),
    finetuneMetrics: join(outDir, 'finetune-metrics.jsonl'),
    testInputs: join(outDir, `test-${options.newSide}px.safetensors`),
    servingLogits: join(outDir, 'serving-logits.safetensors'),
    plots: join(outDir, 'plots.html'),
  };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const { train: train8, test: test8 } = digitsSplit({ seed: options.seed });
  log(`data: UCI handwritten digits, ${train8.labels.shape[0]} training and ${test8.labels.shape[0]} test images of ${DIGIT_SIDE}x${DIGIT_SIDE}`);

  // 1. A small ViT trained from scratch at the native 8x8.
  manualSeed(options.seed);
  const model = new ViTForImageClassification(VIT_CONFIG);
  log(`step 1: train a ViT (hidden 64, 4 layers, 4 heads, patch 2) at ${DIGIT_SIDE}x${DIGIT_SIDE} for ${options.pretrainSteps} steps`);
  const pretrainOptimizer = new AdamW(model.namedParameters(), { lr: 2e-3, weightDecay: 0.05 });
  const pretrainScheduler = getCosineScheduleWithWarmup(pretrainOptimizer, { numWarmupSteps: Math.ceil(options.pretrainSteps / 20), numTrainingSteps: options.pretrainSteps });
  const train8Loader = new DataLoader({ ...train8 }, { batchSize: options.batchSize, seed: options.seed });
  const test8Loader = new DataLoader({ ...test8 }, { batchSize: 512, shuffle: false });
  const pretrained = train({
    model, optimizer: pretrainOptimizer, scheduler: pretrainScheduler, data: train8Loader, steps: options.pretrainSteps,
    maxGradNorm: 1, evalData: test8Loader, evalEvery: Math.max(1, Math.floor(options.pretrainSteps / 5)), metrics: paths.pretrainMetrics,
    progress: options.progress, progressLabel: 'pretrain 8px', logEvery: 5,
  });
  pretrainOptimizer.dispose();
  const accuracyBase = (pretrained.eval as EvaluateResult).accuracy;
  await model.savePretrained(paths.base8);
  model.dispose();
  log(`  test accuracy at ${DIGIT_SIDE}x${DIGIT_SIDE}: ${percent(accuracyBase)}; saved ${paths.base8}`);

  // 2. The same model at a new image size: position embeddings interpolated to the larger patch grid.
  const side = options.newSide;
  const resized = await fromPretrained<ViTForImageClassification>(paths.base8);
  resized.resizeImageSize(side);
  await resized.savePretrained(paths.base16);
  const upsample = (d: DigitImages): DigitImages => ({ pixel_values: resizeImages(d.pixel_values, side), labels: d.labels });
  const train16 = upsample(train8);
  const test16 = upsample(test8);
  const testAll = new DataLoader({ ...test16 }, { batchSize: test16.labels.shape[0], shuffle: false });
  const before = evaluate(resized, testAll);
  log(`step 2: images upsampled to ${side}x${side} (bilinear), position embeddings interpolated (${1 + (DIGIT_SIDE / 2) ** 2} -> ${1 + (side / 2) ** 2} positions)`);
  log(`  test accuracy at ${side}x${side} before fine-tuning: ${percent(before.accuracy)}; saved ${paths.base16}`);

  // 3. LoRA on the attention query/value projections; classifier and position embeddings trained in full.
  const config = new LoraConfig({ r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'] });
  const peft = getPeftModel(resized, config);
  const [trainable, all] = peft.getNbTrainableParameters();
  log(`step 3: LoRA fine-tuning at ${side}x${side} for ${options.finetuneSteps} steps: ${trainable.toLocaleString('en-US')} trainable of ${all.toLocaleString('en-US')} parameters`);
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 3e-3, weightDecay: 0 });
  const scheduler = getCosineScheduleWithWarmup(optimizer, { numWarmupSteps: Math.ceil(options.finetuneSteps / 20), numTrainingSteps: options.finetuneSteps });
  train({
    model: peft, optimizer, scheduler, data: new DataLoader({ ...train16 }, { batchSize: options.batchSize, seed: options.seed + 1 }), steps: options.finetuneSteps,
    maxGradNorm: 1, evalData: testAll, evalEvery: Math.max(1, Math.floor(options.finetuneSteps / 5)), metrics: paths.finetuneMetrics,
    progress: options.progress, progressLabel: `LoRA ${side}px`, logEvery: 5,
  });
  optimizer.dispose();
  const after = evaluate(peft, testAll, { keepLogits: true });
  await peft.savePretrained(paths.adapter);
  log(`  test accuracy at ${side}x${side} after fine-tuning: ${percent(after.accuracy)}; adapter saved to ${paths.adapter}`);

  // 4. A separate process loads base + adapter, as a server would, and predicts the test set.
  await save(paths.testInputs, { pixel_values: test16.pixel_values });
  const child = await runChild([binPath(), 'predict', '--model', paths.base16, '--adapter', paths.adapter, '--inputs', paths.testInputs, '--out', paths.servingLogits]);
  if (child.code !== 0) throw new TorchError(`demo: the serving process failed (exit ${child.code}): ${child.output.trim().split('\n')[0]}`);
  const served = (await load(paths.servingLogits)).logits;
  const trainerLogits = after.logits as Tensor;
  const servingMaxAbsDiff = served.sub(trainerLogits).abs().max().item();
  const accuracyServing = served.argmax(-1).eq(test16.labels).float().mean().item();
  log(`step 4: a separate process (node-peft predict) loaded ${paths.base16} + ${paths.adapter}`);
  log(`  serving accuracy: ${percent(accuracyServing)}; max |logit difference| to the trainer's: ${servingMaxAbsDiff}`);
  served.dispose();
  trainerLogits.dispose();

  const charts = [
    ...chartsFromMetrics(readMetrics(paths.pretrainMetrics), ['loss', 'accuracy']).map((c) => ({ ...c, title: `pre-training at ${DIGIT_SIDE}x${DIGIT_SIDE}: ${c.title}` })),
    ...chartsFromMetrics(readMetrics(paths.finetuneMetrics), ['loss', 'accuracy']).map((c) => ({ ...c, title: `LoRA fine-tuning at ${side}x${side}: ${c.title}` })),
  ];
  writePlots(paths.plots, 'node-peft demo: a ViT on handwritten digits, fine-tuned at a new image size', charts, [
    `test accuracy at ${DIGIT_SIDE}x${DIGIT_SIDE}: ${percent(accuracyBase)}`,
    `at ${side}x${side} before LoRA: ${percent(before.accuracy)}; after: ${percent(after.accuracy)}; in the serving process: ${percent(accuracyServing)}`,
  ]);
  peft.dispose();
  for (const d of [train8, test8]) disposeImages(d);
  train16.pixel_values.dispose();
  test16.pixel_values.dispose();
  if (servingMaxAbsDiff !== 0) throw new TorchError(`demo: the serving process's logits differ from the trainer's by up to ${servingMaxAbsDiff}`);
  return {
    accuracyBase, accuracyResizedBefore: before.accuracy, accuracyAfter: after.accuracy, accuracyServing, servingMaxAbsDiff,
    adapterDir: paths.adapter, plotsPath: paths.plots, seconds: (performance.now() - started) / 1000,
  };
}
