// Checkpoints: written whole, pruned, and a resumed run gives the same losses as an uninterrupted one.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { torch } from '../../lib/index.js';
import { AdamW, getCosineScheduleWithWarmup } from '../../lib/optim/index.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint, readTrainerState } from '../../lib/train/checkpoint.js';
import { DataLoader } from '../../lib/train/data-loader.js';
import { readMetrics } from '../../lib/train/metrics.js';
import { train } from '../../lib/train/trainer.js';
import { TinyClassifier, tinyData } from './helpers.js';

const folders: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'node-peft-ckpt-'));
  folders.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh run: same initial weights, data and schedule every time. */
function run(outputDir: string, steps: number, resume = false) {
  const data = tinyData(40, 1);
  torch.manualSeed(7);
  const model = new TinyClassifier();
  const optimizer = new AdamW(model.namedParameters(), { lr: 0.01 });
  const scheduler = getCosineScheduleWithWarmup(optimizer, { numWarmupSteps: 2, numTrainingSteps: 12 });
  // 40 rows in batches of 16: epochs of 3 batches, so the checkpoint at step 5 falls inside an epoch.
  const loader = new DataLoader(data, { batchSize: 16, seed: 11 });
  const result = train({
    model, optimizer, scheduler, data: loader, steps, outputDir, checkpointEvery: 5, resume, seed: 5,
    metrics: join(outputDir, 'metrics.jsonl'), logEvery: 1, progress: false, gradientAccumulationSteps: 1,
  });
  const weights = Array.from(model.getParameter('fc1.weight').toArray(), Number);
  model.dispose();
  optimizer.dispose();
  data.x.dispose();
  data.labels.dispose();
  return { result, weights };
}

describe('checkpoints', () => {
  test('resuming from step 5 gives exactly the losses and weights of an uninterrupted run', () => {
    const whole = run(tempDir(), 12);
    const dir = tempDir();
    run(dir, 5);
    expect(readTrainerState(latestCheckpoint(dir) as string)).toMatchObject({ step: 5, loader: { epoch: 1, batch: 2 } });
    const resumed = run(dir, 12, true);
    expect(resumed.result.resumedFrom).toBe(join(dir, 'checkpoint-5'));
    expect(resumed.result.losses.map((l) => l.step)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    expect(resumed.result.losses).toEqual(whole.result.losses.slice(5));
    expect(resumed.weights).toEqual(whole.weights);
    expect(readMetrics(join(dir, 'metrics.jsonl')).map((r) => r.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  test('keeps the newest two checkpoints and leaves no partial folders', () => {
    const dir = tempDir();
    run(dir, 12);
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([10, 12]);
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);
    expect(existsSync(join(dir, 'checkpoint-12', 'trainable.safetensors'))).toBe(true);
  });

  test('refuses a checkpoint whose parameters do not fit the model', () => {
    const dir = tempDir();
    run(dir, 5);
    const model = new TinyClassifier(4, 6, 3);
    const optimizer = new AdamW(model.namedParameters());
    expect(() => loadCheckpoint(join(dir, 'checkpoint-5'), { model, optimizer })).toThrow(/fc1.weight has shape \[8, 4\], the model's is \[6, 4\]/);
    expect(() => loadCheckpoint(dir, { model, optimizer })).toThrow(/is not a checkpoint/);
    model.dispose();
  });
});
