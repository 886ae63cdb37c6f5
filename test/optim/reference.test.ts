// 50 training steps against PyTorch (test/fixtures/nn/optim.json from scripts/fixtures/nn_reference.py): AdamW
// and SGD losses, clipped gradient norms, scheduled lrs and final optimizer state agree within 1e-5.
import { describe, expect, it } from 'vitest';
import { torch } from '../../lib/index.js';
import { maxAbsDiff } from '../nn/tiny-models.js';
import { runs, setUp } from './training-run.js';

describe.each(runs.map((run) => [run.name, run] as const))('%s', (_, run) => {
  it('reproduces PyTorch losses, clipped norms and lrs over 50 steps within 1e-5', () => {
    const { optimizer, model, trainStep, dispose } = setUp(run);
    const losses: number[] = [];
    const norms: number[] = [];
    const lrs: number[][] = [];
    const before = torch.liveTensors();
    for (let i = 0; i < run.losses.length; i++) {
      const [loss, norm, stepLrs] = trainStep();
      losses.push(loss);
      if (norm !== null) norms.push(norm);
      lrs.push(stepLrs);
    }
    const worst = Math.max(...losses.map((l, i) => Math.abs(l - run.losses[i])));
    expect(worst).toBeLessThan(1e-5);
    expect(losses.at(-1)).toBeLessThan(losses[0] * 0.5);
    expect(norms.length).toBe(run.grad_norms.length);
    norms.forEach((n, i) => expect(Math.abs(n - run.grad_norms[i])).toBeLessThan(1e-4 * Math.max(1, run.grad_norms[i])));
    lrs.forEach((l, i) => l.forEach((lr, g) => expect(lr).toBeCloseTo(run.lrs[i][g], 12)));
    // Optimizer state of the first parameter, as torch's optimizer.state_dict()['state'][0].
    const first = optimizer.stateOf(model.parameters()[0]);
    expect(Object.keys(first).sort()).toEqual(Object.keys(run.final_state_param0).sort());
    for (const [key, expected] of Object.entries(run.final_state_param0)) {
      const values = Array.isArray(expected) ? expected : [expected];
      expect(maxAbsDiff(first[key], values)).toBeLessThan(key === 'step' ? 0 + 1e-9 : 1e-4);
    }
    // Steps leave nothing behind but the optimizer's state.
    expect(torch.liveTensors() - before).toBe(Object.keys(optimizer.stateDict().tensors).length);
    dispose();
  });
});
