#!/usr/bin/env node
// Soak: many training steps and serving requests in one process; resident memory must stop growing after warm-up
// (< 5%) and the live-tensor count must come back to its value after warm-up.
//   npm run soak                          5,000 training steps, 5,000 serving requests
//   npm run soak -- --steps 500 --requests 500 --warmup 100
// Runs the built package (dist/). Prints one JSON report; exits 1 when a limit is passed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  steps: { type: 'string', default: '5000' }, requests: { type: 'string', default: '5000' }, warmup: { type: 'string', default: '1000' },
} });
const steps = Number(values.steps);
const requests = Number(values.requests);
const warmup = Math.min(Number(values.warmup), steps, requests);
const lib = await import(join(root, 'dist', 'lib', 'index.js'));
const { serve } = await import(join(root, 'dist', 'lib', 'serve', 'index.js'));
const { getPeftModel, LoraConfig, models, optim, torch, train } = lib;
const golden = join(root, 'test', 'fixtures', 'peft-golden');
torch.setNumThreads(1);

const MiB = 2 ** 20;
function sample() {
  globalThis.gc?.();
  return { rssMiB: process.memoryUsage().rss / MiB, liveTensors: torch.liveTensors() };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/**
 * RSS after warm-up vs at the end, each the median of a tenth of the samples (one every `every` steps): a single
 * reading moves by several percent with the allocator's free lists on a busy machine.
 */
function growth(samples, end) {
  const window = Math.max(1, Math.floor(samples.length / 10));
  const first = median(samples.slice(0, window).map((s) => s.rssMiB));
  const last = median(samples.slice(-window).map((s) => s.rssMiB));
  return { rssAfterWarmupMiB: +first.toFixed(1), rssEndMiB: +last.toFixed(1), rssGrowthPercent: +((100 * (last - first)) / first).toFixed(2),
    rssMaxMiB: +Math.max(...samples.map((s) => s.rssMiB)).toFixed(1), samples: samples.length,
    liveTensorsAfterWarmup: samples[0].liveTensors, liveTensorsEnd: end.liveTensors };
}

/** LoRA training of the golden ViT (q/v + classifier) on random 32x32 images. */
async function soakTraining() {
  const base = await models.fromPretrained(join(golden, '01_vit_lora_classifier', 'base'));
  torch.manualSeed(0);
  const peft = getPeftModel(base, new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier'] }), 'default', { warn: () => {} });
  const data = { pixel_values: torch.randn([64, 3, 32, 32]), labels: torch.randint(0, 5, [64]) };
  const optimizer = new optim.AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 1e-3 });
  const samples = [];
  const every = Math.max(1, Math.floor((steps - warmup) / 50));
  const started = performance.now();
  train.train({
    model: peft, optimizer, data: new train.DataLoader(data, { batchSize: 8, seed: 1 }), steps, progress: false, logEvery: steps,
    onStep: (step) => { if (step >= warmup && (step - warmup) % every === 0) samples.push(sample()); },
  });
  const end = sample();
  const seconds = (performance.now() - started) / 1000;
  optimizer.dispose();
  peft.dispose();
  for (const t of Object.values(data)) t.dispose();
  return { steps, warmupSteps: warmup, seconds: +seconds.toFixed(1), ...growth(samples, end) };
}

/** Requests to a server with two adapters: predict on each adapter and the base, and generate, 4 at a time. */
async function soakServing() {
  const dir = join(golden, '10_llama_mixed_batch_base_row');
  const server = await serve({ model: join(dir, 'base'), adapters: [['first', join(dir, 'adapter', 'first')], ['second', join(dir, 'adapter', 'second')]] });
  const bodies = [
    ['/v1/predict', { adapter: 'first', inputs: { input_ids: [[1, 2, 3, 4], [5, 6, 7, 8]] } }],
    ['/v1/predict', { adapter: 'second', inputs: { input_ids: [[9, 10, 11]] } }],
    ['/v1/predict', { adapter: null, inputs: { input_ids: [[3, 4, 5]], attention_mask: [[1, 1, 1]] } }],
    ['/v1/generate', { adapter: 'first', input_ids: [1, 2, 3], max_new_tokens: 4, temperature: 0 }],
  ];
  let next = 0;
  let failures = 0;
  const samples = [];
  const every = Math.max(1, Math.floor((requests - warmup) / 50));
  let limit = warmup;
  async function worker() {
    while (next < limit) {
      const k = next++;
      const [path, body] = bodies[k % bodies.length];
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await response.arrayBuffer();
      if (response.status !== 200) failures += 1;
      if (k >= warmup && (k - warmup) % every === 0) samples.push(sample());
    }
  }
  const started = performance.now();
  await Promise.all([worker(), worker(), worker(), worker()]);
  samples.push(sample()); // idle after warm-up: the baseline of the live-tensor count
  limit = requests;
  await Promise.all([worker(), worker(), worker(), worker()]);
  const end = sample();
  const seconds = (performance.now() - started) / 1000;
  await server.close();
  return { requests, warmupRequests: warmup, failures, seconds: +seconds.toFixed(1), ...growth(samples, end) };
}

const report = { training: await soakTraining(), serving: await soakServing(), gcExposed: typeof globalThis.gc === 'function' };
console.log(JSON.stringify(report, null, 2));
const ok = [report.training, report.serving].every((r) => r.rssGrowthPercent < 5 && r.liveTensorsEnd === r.liveTensorsAfterWarmup) && report.serving.failures === 0;
if (!ok) console.error('soak: a limit was passed (RSS growth >= 5%, live tensors not back at their warm-up count, or failed requests)');
process.exit(ok ? 0 : 1);
