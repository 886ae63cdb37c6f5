// The training loop: it learns, accumulates gradients, clips, steps the scheduler, and keeps memory flat.
import { describe, expect, test } from 'vitest';
import { torch } from '../../lib/index.js';
import { AdamW, getLinearScheduleWithWarmup, SGD } from '../../lib/optim/index.js';
import { DataLoader } from '../../lib/train/data-loader.js';
import { evaluate } from '../../lib/train/evaluate.js';
import { readMetrics } from '../../lib/train/metrics.js';
import { train } from '../../lib/train/trainer.js';
import { TinyClassifier, tinyData } from './helpers.js';

function setup(seed = 0) {
  const data = tinyData(96, 1);
  torch.manualSeed(seed);
  const model = new TinyClassifier();
  const optimizer = new AdamW(model.namedParameters(), { lr: 0.02 });
  return { data, model, optimizer, dispose: () => [model.dispose(), optimizer.dispose(), data.x.dispose(), data.labels.dispose()] };
}

describe('train', () => {
  test('lowers the loss and raises accuracy on a learnable task', () => {
    const { data, model, optimizer, dispose } = setup();
    const loader = new DataLoader(data, { batchSize: 16, seed: 3 });
    const before = evaluate(model, loader);
    const result = train({ model, optimizer, data: loader, steps: 120, progress: false, evalData: loader });
    expect(result.step).toBe(120);
    expect(result.losses).toHaveLength(120);
    expect(result.eval?.loss).toBeLessThan(before.loss * 0.5);
    expect(result.eval?.accuracy).toBeGreaterThan(0.9);
    dispose();
  });

  test('gradient accumulation over two half batches equals one full batch', () => {
    const runs = [
      { batchSize: 16, gradientAccumulationSteps: 1 },
      { batchSize: 8, gradientAccumulationSteps: 2 },
    ].map(({ batchSize, gradientAccumulationSteps }) => {
      const { data, model, dispose } = setup();
      const optimizer = new SGD(model.namedParameters(), { lr: 0.1 });
      const loader = new DataLoader(data, { batchSize, shuffle: false });
      train({ model, optimizer, data: loader, steps: 3, gradientAccumulationSteps, progress: false });
      const weights = Array.from(model.getParameter('fc2.weight').toArray(), Number);
      dispose();
      return weights;
    });
    runs[1].forEach((w, i) => expect(w).toBeCloseTo(runs[0][i], 5));
  });

  test('clips the gradient norm and steps the scheduler once per optimizer step', () => {
    const { data, model, optimizer, dispose } = setup();
    const scheduler = getLinearScheduleWithWarmup(optimizer, { numWarmupSteps: 2, numTrainingSteps: 10 });
    const loader = new DataLoader(data, { batchSize: 16 });
    const lines: string[] = [];
    const metricsPath = `${process.env.TMPDIR ?? '/tmp'}/node-peft-trainer-${process.pid}.jsonl`;
    train({ model, optimizer, scheduler, data: loader, steps: 4, maxGradNorm: 1e-3, logEvery: 1, metrics: metricsPath, progress: { write: (t) => lines.push(t) } });
    expect(scheduler.getLastLr()[0]).toBeCloseTo(0.02 * (6 / 8), 8);
    const records = readMetrics(metricsPath);
    expect(records.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(records.map((r) => r.lr)).toEqual([0, 0.01, 0.02, expect.closeTo(0.02 * (7 / 8), 8)]);
    expect(records.every((r) => (r.grad_norm as number) > 1e-3)).toBe(true);
    expect(lines.at(-1)).toMatch(/^train 4\/4 \| loss [\d.]+ \| lr .* samples\/s/);
    dispose();
  });

  test('refuses a model with nothing to train', () => {
    const { data, model, optimizer, dispose } = setup();
    model.requiresGrad_(false);
    expect(() => train({ model, optimizer, data: new DataLoader(data, { batchSize: 4 }), steps: 1, progress: false })).toThrow(/no trainable parameters/);
    dispose();
  });

  test('1,000 steps keep the live tensor count constant and RSS flat', () => {
    const { data, model, optimizer, dispose } = setup();
    const loader = new DataLoader(data, { batchSize: 8 });
    train({ model, optimizer, data: loader, steps: 50, progress: false });
    const tensorsBefore = torch.liveTensors();
    const rssBefore = process.memoryUsage().rss;
    train({ model, optimizer, data: loader, steps: 1000, progress: false });
    expect(torch.liveTensors()).toBe(tensorsBefore);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(20 * 1024 * 1024);
    dispose();
  });
});
