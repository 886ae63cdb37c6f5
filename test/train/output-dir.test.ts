// A new run into the output folder of an earlier one: refused unless resume or overwriteOutputDir says what to do
// (the earlier run's newer checkpoints would otherwise prune the new ones, and a later resume continue the old run).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { torch, TorchError } from '../../lib/index.js';
import { AdamW } from '../../lib/optim/index.js';
import { listCheckpoints } from '../../lib/train/checkpoint.js';
import { DataLoader } from '../../lib/train/data-loader.js';
import { train } from '../../lib/train/trainer.js';
import { TinyClassifier, tinyData } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'node-peft-outdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(outputDir: string, steps: number, options: { resume?: boolean; overwriteOutputDir?: boolean } = {}) {
  const data = tinyData(32, 1);
  torch.manualSeed(7);
  const model = new TinyClassifier();
  const optimizer = new AdamW(model.namedParameters(), { lr: 0.01 });
  try {
    return train({
      model, optimizer, data: new DataLoader(data, { batchSize: 16, seed: 1 }), steps, outputDir, checkpointEvery: 2,
      metrics: join(outputDir, 'metrics.jsonl'), progress: false, ...options,
    });
  } finally {
    model.dispose();
    optimizer.dispose();
    data.x.dispose();
    data.labels.dispose();
  }
}

describe('output_dir of an earlier run', () => {
  test('a new run without resume is refused, naming the folder and the ways out', () => {
    const dir = join(root, 'refused');
    run(dir, 6);
    expect(() => run(dir, 4)).toThrow(TorchError);
    expect(() => run(dir, 4)).toThrow(/output folder .*refused is not empty \(checkpoint-4, checkpoint-6, metrics\.jsonl\).*resume: true.*overwriteOutputDir: true/);
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([4, 6]);
  });

  test('overwriteOutputDir: the earlier run\'s checkpoints go, the new run keeps its own', () => {
    const dir = join(root, 'overwritten');
    run(dir, 6);
    run(dir, 4, { overwriteOutputDir: true });
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([2, 4]);
  });

  test('resume continues there; an empty folder, or one holding only hidden files, is a fresh start', () => {
    const dir = join(root, 'resumed');
    run(dir, 4);
    expect(run(dir, 6, { resume: true }).resumedFrom).toBe(join(dir, 'checkpoint-4'));
    const empty = join(root, 'empty');
    run(empty, 2);
    rmSync(empty, { recursive: true });
    writeFileSync(join(root, 'marker'), '');
    expect(run(empty, 2).step).toBe(2);
    expect(readdirSync(empty).sort()).toEqual(['checkpoint-2', 'metrics.jsonl']);
  });
});
