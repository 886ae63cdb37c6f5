// The seed scenario end to end on real data, from pictures: the 8x8 digits written once as PNG files in an
// image folder, read through a ViT image processor; train a small ViT at 8x8, save it as a Hugging Face folder
// (with preprocessor_config.json), raise the image size to 16x16 (position embeddings interpolated, the
// processor's size with them), fine-tune with LoRA on q/v plus modules_to_save ['classifier',
// 'position_embeddings'], save the adapter, then run `node-peft predict --images` in a separate process (as a
// server would) and check it gives the very same logits.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TorchError } from '../errors.js';
import { fromPretrained, ViTForImageClassification } from '../models/index.js';
import { AdamW, getCosineScheduleWithWarmup } from '../optim/index.js';
import { getPeftModel, LoraConfig } from '../peft/index.js';
import { load, save } from '../serialization/index.js';
import { tensor } from '../tensor/creation.js';
import { manualSeed } from '../tensor/runtime.js';
import type { Tensor } from '../tensor/tensor.js';
import { DIGIT_CLASSES, DIGIT_SIDE, digitsSplit, writeDigitPngs } from '../train/digits.js';
import { evaluate, type EvaluateResult } from '../train/evaluate.js';
import { indexImageFolder, type ImageDataset } from '../train/image-data.js';
import { DecodedImageCache, ImageDataLoader } from '../train/image-loader.js';
import { readMetrics } from '../train/metrics.js';
import { chartsFromMetrics, writePlots } from '../train/plots.js';
import type { ProgressStream } from '../train/progress.js';
import { train } from '../train/trainer.js';
import { ImageProcessor } from '../vision/image-processor.js';

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
  num_channels: 3,
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

/** The digits as PNG files in train/ and test/ image folders (written on the first run, then reused). */
async function digitFolders(dir: string, seed: number, log: (line: string) => void): Promise<{ train: string; test: string }> {
  const folders = { train: join(dir, 'train'), test: join(dir, 'test') };
  const marker = join(dir, `.complete-seed-${seed}`);
  if (!existsSync(marker)) {
    rmSync(dir, { recursive: true, force: true });
    const split = digitsSplit({ seed });
    let written = 0;
    for (const [name, data] of [['train', split.train], ['test', split.test]] as const) {
      written += await writeDigitPngs(folders[name], data);
      data.pixel_values.dispose();
      data.labels.dispose();
    }
    writeFileSync(marker, `${written}\n`);
    log(`wrote the UCI handwritten digits as ${written} PNG files (8x8 gray) in ${dir}/{train,test}/<digit>/`);
  }
  return folders;
}

function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** The labels of a data set in example order, as a tensor (for the serving process's accuracy). */
function labelsTensor(data: ImageDataset): Tensor {
  return tensor(BigInt64Array.from(data.examples, (e) => BigInt(e.label)));
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const { outDir, log } = options;
  const paths = {
    images: join(outDir, 'images'),
    base8: join(outDir, 'base-8px'),
    base16: join(outDir, `base-${options.newSide}px`),
    adapter: join(outDir, 'adapter'),
    pretrainMetrics: join(outDir, 'pretrain-metrics.jsonl'),
    finetuneMetrics: join(outDir, 'finetune-metrics.jsonl'),
    servingLogits: join(outDir, 'serving-logits.safetensors'),
    // the test PNGs as the processor makes them: what Python gets to check the adapter (test/interop)
    testInputs: join(outDir, `test-${options.newSide}px.safetensors`),
    plots: join(outDir, 'plots.html'),
  };
  mkdirSync(outDir, { recursive: true });
  for (const entry of readdirSync(outDir)) if (entry !== 'images') rmSync(join(outDir, entry), { recursive: true, force: true });

  const folders = await digitFolders(paths.images, options.seed, log);
  const trainSet = await indexImageFolder(folders.train);
  const testSet = await indexImageFolder(folders.test);
  log(`data: ${trainSet.examples.length} training and ${testSet.examples.length} test PNGs of ${DIGIT_SIDE}x${DIGIT_SIDE} from ${paths.images}`);
  const processor = new ImageProcessor({ image_processor_type: 'ViTImageProcessor', size: { height: DIGIT_SIDE, width: DIGIT_SIDE }, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
  const loaders: ImageDataLoader[] = [];
  const cache = new DecodedImageCache();
  const loader = (data: ImageDataset, batchSize: number, seed: number | null): ImageDataLoader => {
    const made = new ImageDataLoader(data.examples, processor, seed === null ? { batchSize, shuffle: false, cache } : { batchSize, seed, cache });
    loaders.push(made);
    return made;
  };

  // 1. A small ViT trained from scratch at the native 8x8.
  manualSeed(options.seed);
  const model = new ViTForImageClassification(VIT_CONFIG);
  log(`step 1: train a ViT (hidden 64, 4 layers, 4 heads, patch 2) at ${DIGIT_SIDE}x${DIGIT_SIDE} for ${options.pretrainSteps} steps`);
  const pretrainOptimizer = new AdamW(model.namedParameters(), { lr: 2e-3, weightDecay: 0.05 });
  const pretrainScheduler = getCosineScheduleWithWarmup(pretrainOptimizer, { numWarmupSteps: Math.ceil(options.pretrainSteps / 20), numTrainingSteps: options.pretrainSteps });
  const pretrained = train({
    model, optimizer: pretrainOptimizer, scheduler: pretrainScheduler, data: loader(trainSet, options.batchSize, options.seed), steps: options.pretrainSteps,
    maxGradNorm: 1, evalData: loader(testSet, 512, null), evalEvery: Math.max(1, Math.floor(options.pretrainSteps / 5)), metrics: paths.pretrainMetrics,
    progress: options.progress, progressLabel: 'pretrain 8px', logEvery: 5,
  });
  pretrainOptimizer.dispose();
  const accuracyBase = (pretrained.eval as EvaluateResult).accuracy;
  await model.savePretrained(paths.base8);
  await processor.savePretrained(paths.base8);
  model.dispose();
  log(`  test accuracy at ${DIGIT_SIDE}x${DIGIT_SIDE}: ${percent(accuracyBase)}; saved ${paths.base8}`);

  // 2. The same model at a new image size: position embeddings interpolated to the larger patch grid, and the
  //    image processor's size with them (the images are upsampled from the PNGs, bilinear as PIL does).
  const side = options.newSide;
  const resized = await fromPretrained<ViTForImageClassification>(paths.base8);
  resized.resizeImageSize(side, { processor });
  await resized.savePretrained(paths.base16);
  await processor.savePretrained(paths.base16);
  const testAll = loader(testSet, testSet.examples.length, null);
  const before = evaluate(resized, testAll);
  log(`step 2: image processor and model at ${side}x${side}: position embeddings interpolated (${1 + (DIGIT_SIDE / 2) ** 2} -> ${1 + (side / 2) ** 2} positions)`);
  log(`  test accuracy at ${side}x${side} before fine-tuning: ${percent(before.accuracy)}; saved ${paths.base16} (with preprocessor_config.json)`);

  // 3. LoRA on the attention query/value projections; classifier and position embeddings trained in full.
  const config = new LoraConfig({ r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'] });
  const peft = getPeftModel(resized, config);
  const [trainable, all] = peft.getNbTrainableParameters();
  log(`step 3: LoRA fine-tuning at ${side}x${side} for ${options.finetuneSteps} steps: ${trainable.toLocaleString('en-US')} trainable of ${all.toLocaleString('en-US')} parameters`);
  const optimizer = new AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 3e-3, weightDecay: 0 });
  const scheduler = getCosineScheduleWithWarmup(optimizer, { numWarmupSteps: Math.ceil(options.finetuneSteps / 20), numTrainingSteps: options.finetuneSteps });
  train({
    model: peft, optimizer, scheduler, data: loader(trainSet, options.batchSize, options.seed + 1), steps: options.finetuneSteps,
    maxGradNorm: 1, evalData: testAll, evalEvery: Math.max(1, Math.floor(options.finetuneSteps / 5)), metrics: paths.finetuneMetrics,
    progress: options.progress, progressLabel: `LoRA ${side}px`, logEvery: 5,
  });
  optimizer.dispose();
  const after = evaluate(peft, testAll, { keepLogits: true });
  await peft.savePretrained(paths.adapter);
  await processor.savePretrained(paths.adapter);
  for (const l of loaders) l.close();
  log(`  test accuracy at ${side}x${side} after fine-tuning: ${percent(after.accuracy)}; adapter saved to ${paths.adapter}`);

  // 4. A separate process loads base + adapter, as a server would, and predicts the test PNGs.
  const files = testSet.examples.map((e) => e.path);
  const child = await runChild([binPath(), 'predict', '--model', paths.base16, '--adapter', paths.adapter, '--out', paths.servingLogits, '--top-k', '1', '--images', ...files]);
  if (child.code !== 0) throw new TorchError(`demo: the serving process failed (exit ${child.code}): ${child.output.trim().split('\n')[0]}`);
  const { pixel_values: testPixels } = await processor.preprocess(files);
  await save(paths.testInputs, { pixel_values: testPixels });
  testPixels.dispose();
  const served = (await load(paths.servingLogits)).logits;
  const trainerLogits = after.logits as Tensor;
  const labels = labelsTensor(testSet);
  const servingMaxAbsDiff = served.sub(trainerLogits).abs().max().item();
  const accuracyServing = served.argmax(-1).eq(labels).float().mean().item();
  log(`step 4: a separate process (node-peft predict --images, ${files.length} PNGs) loaded ${paths.base16} + ${paths.adapter}`);
  log(`  serving accuracy: ${percent(accuracyServing)}; max |logit difference| to the trainer's: ${servingMaxAbsDiff}`);
  for (const t of [served, trainerLogits, labels]) t.dispose();

  const charts = [
    ...chartsFromMetrics(readMetrics(paths.pretrainMetrics), ['loss', 'accuracy']).map((c) => ({ ...c, title: `pre-training at ${DIGIT_SIDE}x${DIGIT_SIDE}: ${c.title}` })),
    ...chartsFromMetrics(readMetrics(paths.finetuneMetrics), ['loss', 'accuracy']).map((c) => ({ ...c, title: `LoRA fine-tuning at ${side}x${side}: ${c.title}` })),
  ];
  writePlots(paths.plots, 'node-peft demo: a ViT on handwritten digits, fine-tuned at a new image size', charts, [
    `test accuracy at ${DIGIT_SIDE}x${DIGIT_SIDE}: ${percent(accuracyBase)}`,
    `at ${side}x${side} before LoRA: ${percent(before.accuracy)}; after: ${percent(after.accuracy)}; in the serving process: ${percent(accuracyServing)}`,
  ]);
  peft.dispose();
  if (servingMaxAbsDiff !== 0) throw new TorchError(`demo: the serving process's logits differ from the trainer's by up to ${servingMaxAbsDiff}`);
  return {
    accuracyBase, accuracyResizedBefore: before.accuracy, accuracyAfter: after.accuracy, accuracyServing, servingMaxAbsDiff,
    adapterDir: paths.adapter, plotsPath: paths.plots, seconds: (performance.now() - started) / 1000,
  };
}
