// Optimizer behaviour beyond the reference curves: groups, validation, frozen parameters, state export/import.
import { describe, expect, it } from 'vitest';
import { nn, optim, torch, type Tensor } from '../../lib/index.js';
import { runs, setUp } from './training-run.js';

function parameter(values: number[]): nn.Parameter {
  const data = torch.tensor(values, { dtype: 'float32' });
  const p = new nn.Parameter(data);
  data.dispose();
  return p;
}

function setGrad(p: nn.Parameter, values: number[]): void {
  const g = torch.tensor(values, { dtype: 'float32' });
  p.grad = g;
  g.dispose();
}

describe('parameter groups', () => {
  it('accepts plain parameters, named pairs or groups, filling group options from the defaults', () => {
    const [a, b] = [parameter([1]), parameter([2])];
    expect(new optim.SGD([a, b]).paramGroups[0].paramNames).toBeNull();
    expect(new optim.SGD([['x', a], ['y', b]] as [string, nn.Parameter][]).paramGroups[0].paramNames).toEqual(['x', 'y']);
    const grouped = new optim.AdamW([{ params: [a] }, { params: [b], lr: 0.5, weightDecay: 0 }], { lr: 0.1 });
    expect(grouped.paramGroups.map((g) => [g.lr, g.weightDecay, g.betas])).toEqual([[0.1, 0.01, [0.9, 0.999]], [0.5, 0, [0.9, 0.999]]]);
    a.dispose();
    b.dispose();
  });

  it('steps each group with its own lr and weight decay', () => {
    const [a, b] = [parameter([1, 1]), parameter([1, 1])];
    const sgd = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5, weightDecay: 1 }], { lr: 0.1 });
    setGrad(a, [1, 2]);
    setGrad(b, [1, 2]);
    sgd.step();
    expect([...a.toArray()].map((v) => +Number(v).toFixed(6))).toEqual([0.9, 0.8]);
    expect([...b.toArray()].map((v) => +Number(v).toFixed(6))).toEqual([0, -0.5]); // 1 - 0.5 * (g + 1 * p)
    a.dispose();
    b.dispose();
  });

  it('rejects bad input with the argument, the expectation and the value', () => {
    const p = parameter([1]);
    expect(() => new optim.AdamW([])).toThrow(/AdamW: got an empty parameter list/);
    expect(() => new optim.AdamW([p], { lr: -1 })).toThrow(/invalid learning rate lr=-1 \(expected a number >= 0\)/);
    expect(() => new optim.AdamW([p], { betas: [0.9, 1] })).toThrow(/invalid betas \[0.9,1\] \(expected two numbers in \[0, 1\)\)/);
    expect(() => new optim.AdamW([p], { eps: -1 })).toThrow(/invalid eps=-1/);
    expect(() => new optim.SGD([p], { weightDecay: -0.1 })).toThrow(/invalid weightDecay=-0.1/);
    expect(() => new optim.SGD([p], { nesterov: true })).toThrow(/nesterov momentum requires a momentum > 0 and zero dampening/);
    expect(() => new optim.SGD([{ params: [p] }, { params: [p] }])).toThrow(/some parameters appear in more than one parameter group/);
    expect(() => new optim.SGD([torch.zeros([1])] as unknown as nn.Parameter[])).toThrow(/expected Parameters or \[name, Parameter\] pairs/);
    p.dispose();
  });
});

describe('stepping', () => {
  it('skips parameters without a gradient and gives them no state', () => {
    const [trained, frozen] = [parameter([1, 2]), parameter([3, 4])];
    const adamw = new optim.AdamW([trained, frozen], { lr: 0.1 });
    setGrad(trained, [1, -1]);
    adamw.step();
    expect([...frozen.toArray()]).toEqual([3, 4]);
    expect(Object.keys(adamw.stateOf(frozen))).toEqual([]);
    expect(adamw.stateOf(trained).step.item()).toBe(1);
    // A parameter that gets its first gradient later starts its own step count (and SGD buffer) then.
    setGrad(frozen, [1, 1]);
    adamw.step();
    expect([adamw.stateOf(trained).step.item(), adamw.stateOf(frozen).step.item()]).toEqual([2, 1]);
    adamw.dispose();
    trained.dispose();
    frozen.dispose();
  });

  it('SGD takes a late parameter\'s first gradient as its momentum buffer, as PyTorch does', () => {
    const [early, late] = [parameter([0]), parameter([0])];
    const sgd = new optim.SGD([early, late], { lr: 1, momentum: 0.5, dampening: 0.5 });
    setGrad(early, [2]);
    sgd.step(); // early: buf = 2
    setGrad(early, [2]);
    setGrad(late, [2]);
    sgd.step(); // early: buf = 0.5*2 + 0.5*2 = 2; late: buf = 2 (first step: no dampening)
    expect([sgd.stateOf(early).momentum_buffer.item(), sgd.stateOf(late).momentum_buffer.item()]).toEqual([2, 2]);
    expect([early.item(), late.item()]).toEqual([-4, -2]);
    sgd.dispose();
    early.dispose();
    late.dispose();
  });

  it('zeroGrad drops every gradient', () => {
    const p = parameter([1]);
    setGrad(p, [1]);
    new optim.SGD([p]).zeroGrad();
    expect(p.grad).toBeNull();
    p.dispose();
  });
});

describe('state export and import', () => {
  const adamwRun = runs.find((r) => r.name === 'mlp_adamw_groups_cosine_clip');
  const sgdRun = runs.find((r) => r.name === 'mlp_sgd_momentum');

  it.each([['AdamW', adamwRun], ['SGD', sgdRun]] as const)('%s resumed from exported state continues the same loss curve', (_, run) => {
    if (!run) throw new Error('fixture run missing');
    const total = 20;
    const straight = setUp(run);
    const expected = Array.from({ length: total }, () => straight.trainStep()[0]);
    straight.dispose();

    const first = setUp(run);
    for (let i = 0; i < total / 2; i++) first.trainStep();
    // What a checkpoint holds: model weights, optimizer tensors + JSON meta, scheduler JSON (all copied out).
    const weights = Object.fromEntries(Object.entries(first.model.stateDict()).map(([k, t]) => [k, t.clone()]));
    const state = first.optimizer.stateDict();
    const tensors = Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, t.clone()]));
    const meta = JSON.parse(JSON.stringify(state.meta)) as optim.OptimizerMeta;
    const schedule = first.schedule?.stateDict();
    first.dispose();

    const second = setUp(run);
    second.model.loadStateDict(weights);
    second.optimizer.loadStateDict({ tensors, meta });
    if (schedule) second.schedule?.loadStateDict(schedule);
    for (const t of [...Object.values(weights), ...Object.values(tensors)]) t.dispose();
    const resumed = Array.from({ length: total / 2 }, () => second.trainStep()[0]);
    second.dispose();
    expect(resumed).toEqual(expected.slice(total / 2));
  });

  it('exports PyTorch-style names: state.<index>.<field> tensors and snake_case group options', () => {
    const [a, b] = [parameter([1]), parameter([2])];
    const adamw = new optim.AdamW([['w', a], ['b', b]] as [string, nn.Parameter][], { lr: 0.1 });
    setGrad(b, [1]);
    adamw.step();
    const { tensors, meta } = adamw.stateDict();
    expect(Object.keys(tensors).sort()).toEqual(['state.1.exp_avg', 'state.1.exp_avg_sq', 'state.1.step']);
    expect(meta).toEqual({
      format: 'node-peft.optimizer.v1',
      optimizer: 'AdamW',
      param_groups: [{ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, amsgrad: false, params: [0, 1], param_names: ['w', 'b'] }],
    });
    adamw.dispose();
    a.dispose();
    b.dispose();
  });

  it('refuses state from another optimizer, group layout or parameter list', () => {
    const [a, b] = [parameter([1]), parameter([2])];
    const adamw = new optim.AdamW([['w', a], ['b', b]] as [string, nn.Parameter][]);
    const good = adamw.stateDict();
    const sgd = new optim.SGD([a, b]);
    expect(() => sgd.loadStateDict(good)).toThrow(/SGD.loadStateDict: the state is from "AdamW", not SGD/);
    const split = new optim.AdamW([{ params: [a] }, { params: [b] }]);
    expect(() => split.loadStateDict(good)).toThrow(/the state has 1 parameter groups, this optimizer has 2/);
    const renamed = new optim.AdamW([['w', a], ['c', b]] as [string, nn.Parameter][]);
    expect(() => renamed.loadStateDict(good)).toThrow(/group 0 parameter 1 is 'b' in the state but 'c' here/);
    const stray: Record<string, Tensor> = { 'state.7.exp_avg': torch.zeros([1]) };
    expect(() => adamw.loadStateDict({ tensors: stray, meta: good.meta })).toThrow(/unexpected state tensor 'state.7.exp_avg'/);
    stray['state.7.exp_avg'].dispose();
    a.dispose();
    b.dispose();
  });
});
