// Schedules against transformers' get_*_schedule_with_warmup + torch LambdaLR (test/fixtures/nn/schedules.json).
import { describe, expect, it } from 'vitest';
import { optim } from '../../lib/index.js';
import { readFixture } from '../nn/tiny-models.js';

interface ScheduleCase {
  kind: 'constant' | 'constant_with_warmup' | 'linear' | 'cosine' | 'cosine_with_min_lr';
  num_warmup_steps?: number;
  num_training_steps?: number;
  num_cycles?: number;
  min_lr_rate?: number;
  base_lr: number;
  lrs: number[];
}

const { schedules } = readFixture<{ schedules: ScheduleCase[] }>('schedules.json');

/** A stand-in optimizer: schedulers only touch paramGroups[i].lr / initialLr. */
const groupsAt = (...lrs: number[]): optim.SchedulableOptimizer => ({ paramGroups: lrs.map((lr) => ({ lr })) });

function makeSchedule(c: ScheduleCase, optimizer: optim.SchedulableOptimizer): optim.LambdaLR {
  const numWarmupSteps = c.num_warmup_steps ?? 0;
  const numTrainingSteps = c.num_training_steps ?? 0;
  switch (c.kind) {
    case 'constant':
      return optim.getConstantSchedule(optimizer);
    case 'constant_with_warmup':
      return optim.getConstantScheduleWithWarmup(optimizer, { numWarmupSteps });
    case 'linear':
      return optim.getLinearScheduleWithWarmup(optimizer, { numWarmupSteps, numTrainingSteps });
    case 'cosine':
      return optim.getCosineScheduleWithWarmup(optimizer, { numWarmupSteps, numTrainingSteps, numCycles: c.num_cycles });
    case 'cosine_with_min_lr':
      return optim.getCosineScheduleWithWarmup(optimizer, { numWarmupSteps, numTrainingSteps, minLrRate: c.min_lr_rate });
  }
}

describe('schedules match transformers + torch LambdaLR', () => {
  it.each(schedules.map((c) => [JSON.stringify({ ...c, lrs: undefined, base_lr: undefined }), c] as const))('%s', (_, c) => {
    const optimizer = groupsAt(c.base_lr);
    const schedule = makeSchedule(c, optimizer);
    const lrs: number[] = [];
    for (let i = 0; i < c.lrs.length; i++) {
      lrs.push(optimizer.paramGroups[0].lr);
      schedule.step();
    }
    lrs.forEach((lr, i) => expect(Math.abs(lr - c.lrs[i])).toBeLessThan(1e-15));
  });
});

describe('LambdaLR', () => {
  it('scales each group from its own initial lr and records it as initialLr', () => {
    const optimizer = groupsAt(0.1, 0.02);
    const schedule = new optim.LambdaLR(optimizer, (step) => 1 / (step + 1));
    expect(optimizer.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.02]);
    schedule.step();
    expect(schedule.getLastLr()).toEqual([0.05, 0.01]);
    expect(schedule.lastEpoch).toBe(1);
  });

  it('takes one lambda per group', () => {
    const optimizer = groupsAt(1, 1);
    new optim.LambdaLR(optimizer, [() => 0.5, () => 2]);
    expect(optimizer.paramGroups.map((g) => g.lr)).toEqual([0.5, 2]);
    expect(() => new optim.LambdaLR(groupsAt(1, 1), [() => 1])).toThrow(/expected 2 lr lambdas \(one per param group\), got 1/);
  });

  it('resumes from its state dict at the same lr as an uninterrupted schedule', () => {
    const options = { numWarmupSteps: 2, numTrainingSteps: 10 };
    const straight = groupsAt(0.1);
    const reference = optim.getCosineScheduleWithWarmup(straight, options);
    for (let i = 0; i < 6; i++) reference.step();

    const interrupted = groupsAt(0.1);
    const first = optim.getCosineScheduleWithWarmup(interrupted, options);
    for (let i = 0; i < 4; i++) first.step();
    const saved = JSON.parse(JSON.stringify(first.stateDict()));
    const resumedGroups = groupsAt(999);
    const resumed = optim.getCosineScheduleWithWarmup(resumedGroups, options);
    resumed.loadStateDict(saved);
    resumed.step();
    resumed.step();
    expect(resumedGroups.paramGroups[0].lr).toBe(straight.paramGroups[0].lr);
    expect(resumed.lastEpoch).toBe(6);
  });

  it('refuses to resume at lastEpoch >= 0 without initialLr in the groups', () => {
    expect(() => new optim.LambdaLR(groupsAt(0.1), () => 1, 5)).toThrow(/param group 0 has no initialLr/);
  });

  it('rejects a malformed state', () => {
    const schedule = optim.getConstantSchedule(groupsAt(0.1));
    expect(() => schedule.loadStateDict({ last_epoch: 1.5, base_lrs: [0.1] })).toThrow(/expected \{ last_epoch, base_lrs\[1\] \}/);
  });

  it('checks warmup and training step counts', () => {
    expect(() => optim.getLinearScheduleWithWarmup(groupsAt(1), { numWarmupSteps: -1, numTrainingSteps: 10 })).toThrow(
      /linearWithWarmup: numWarmupSteps must be a non-negative integer, got -1/,
    );
    expect(() => optim.cosineWithWarmupLambda({ numWarmupSteps: 0, numTrainingSteps: 2.5 })).toThrow(/numTrainingSteps must be a non-negative integer, got 2.5/);
  });

  it('lambdas follow the published formulas at their corners', () => {
    const linear = optim.linearWithWarmupLambda({ numWarmupSteps: 4, numTrainingSteps: 8 });
    expect([0, 2, 4, 6, 8, 12].map(linear)).toEqual([0, 0.5, 1, 0.5, 0, 0]);
    const cosine = optim.cosineWithWarmupLambda({ numWarmupSteps: 0, numTrainingSteps: 10, minLrRate: 0.2 });
    expect(cosine(0)).toBe(1);
    expect(cosine(10)).toBeCloseTo(0.2, 15);
    expect(optim.constantWithWarmupLambda({ numWarmupSteps: 0 })(0)).toBe(1);
  });
});
