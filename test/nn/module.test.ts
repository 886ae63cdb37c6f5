// Module: registration rules, lookup by dotted path, replacement seen by forward, state dicts, modes, conversion.
import { describe, expect, it } from 'vitest';
import { nn, StateDictError, torch, TorchError, type Tensor } from '../../lib/index.js';

class Tower extends nn.Module {
  constructor() {
    super();
    this.registerModule('layers', new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 2)]));
    this.registerModule('norm', new nn.LayerNorm(2));
    this.registerBuffer('steps', torch.zeros([1], { dtype: 'int64' }));
    this.registerBuffer('scratch', torch.zeros([3]), false);
  }

  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      const layers = this.child<nn.ModuleList>('layers');
      return this.child<nn.LayerNorm>('norm').forward(layers.get<nn.Linear>(1).forward(layers.get<nn.Linear>(0).forward(x).relu()));
    });
  }
}

const ones = (shape: number[]): Tensor => torch.ones(shape);
const same = (a: Tensor, b: Tensor): boolean => a.equal(b);

describe('registration', () => {
  it('rejects empty, dotted and duplicate names, naming the kind', () => {
    const m = new Tower();
    expect(() => m.registerModule('', new nn.ReLU())).toThrow(/module name must be a non-empty string without '\.', got ""/);
    expect(() => m.registerBuffer('a.b', null)).toThrow(/buffer name must be a non-empty string without '\.', got "a\.b"/);
    expect(() => m.registerParameter('norm', null)).toThrow(/attribute 'norm' already exists on Tower/);
    const plain = torch.zeros([1]);
    expect(() => m.registerParameter('w', plain as nn.Parameter)).toThrow(/expected a Parameter or null, got a plain Tensor/);
    plain.dispose();
    m.dispose();
  });

  it('lists children, buffers (persistent or all) and modules with dotted paths', () => {
    const m = new Tower();
    expect(m.children().map((c) => c.constructor.name)).toEqual(['ModuleList', 'LayerNorm']);
    expect(m.namedModules().map(([name]) => name)).toEqual(['', 'layers', 'layers.0', 'layers.1', 'norm']);
    expect(m.namedBuffers().map(([name]) => name)).toEqual(['steps', 'scratch']);
    expect(m.namedBuffers({ persistentOnly: true }).map(([name]) => name)).toEqual(['steps']);
    expect(m.namedParameters({ prefix: 'model' }).map(([name]) => name)).toEqual([
      'model.layers.0.weight', 'model.layers.0.bias', 'model.layers.1.weight', 'model.layers.1.bias', 'model.norm.weight', 'model.norm.bias',
    ]);
    expect(m.namedParameters({ recurse: false })).toEqual([]);
    m.dispose();
  });
});

describe('lookup and replacement', () => {
  it('finds submodules, parameters and buffers by dotted path, list indices included', () => {
    const m = new Tower();
    expect(m.getSubmodule('layers.1')).toBe(m.child<nn.ModuleList>('layers').get(1));
    expect(m.getSubmodule('')).toBe(m);
    expect(m.getParameter('layers.0.weight')).toBe(m.child<nn.ModuleList>('layers').get<nn.Linear>(0).weight);
    expect(m.getBuffer('steps').dtype).toBe('int64');
    expect(() => m.getSubmodule('layers.5')).toThrow(/has no submodule '5' \(looking up 'layers\.5'\)/);
    expect(() => m.getParameter('norm.gamma')).toThrow(/LayerNorm has no parameter 'gamma' \(looking up 'norm\.gamma'\)/);
    m.dispose();
  });

  it('replaceModule swaps a child in place, and forward uses the new one', () => {
    const m = new Tower();
    const x = ones([1, 4]);
    const before = m.forward(x);
    const old = m.replaceModule('layers.1', new nn.Linear(4, 2, { bias: false }));
    expect(old).toBeInstanceOf(nn.Linear);
    expect(m.namedModules().map(([name]) => name)).toEqual(['', 'layers', 'layers.0', 'layers.1', 'norm']);
    expect(m.namedParameters().map(([name]) => name)).not.toContain('layers.1.bias');
    const after = m.forward(x);
    expect(same(before, after)).toBe(false);
    expect(() => m.replaceModule('layers.9', new nn.ReLU())).toThrow(/replaceModule: no submodule 'layers\.9'/);
    for (const t of [x, before, after]) t.dispose();
    old.dispose();
    m.dispose();
  });

  it('replaceParameter swaps a tensor, and forward uses the new one', () => {
    const linear = new nn.Linear(3, 2);
    const zero = torch.zeros([2, 3]);
    const old = linear.replaceParameter('weight', new nn.Parameter(zero));
    const x = ones([1, 3]);
    const y = linear.forward(x);
    const bias = linear.bias as nn.Parameter;
    expect(same(y, bias.unsqueeze(0))).toBe(true);
    expect(linear.weight).not.toBe(old);
    expect(() => linear.replaceParameter('scale', old)).toThrow(/replaceParameter: no parameter 'scale'/);
    for (const t of [zero, x, y, old]) t.dispose();
    linear.dispose();
  });
});

describe('state dict', () => {
  it('holds parameters and persistent buffers; a shared module appears under each of its names (as PyTorch)', () => {
    const shared = new nn.Linear(2, 2);
    const seq = new nn.Sequential(shared, shared);
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(seq.namedParameters().map(([name]) => name)).toEqual(['0.weight', '0.bias']);
    expect(Object.keys(new Tower().stateDict())).toEqual([
      'steps', 'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'norm.weight', 'norm.bias',
    ]);
    seq.dispose();
  });

  it('loads values into the existing tensors', () => {
    const [source, target] = [new Tower(), new Tower()];
    const result = target.loadStateDict(source.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(same(target.getParameter('layers.0.weight'), source.getParameter('layers.0.weight'))).toBe(true);
    source.dispose();
    target.dispose();
  });

  it('strict: reports missing then unexpected keys, as PyTorch words it', () => {
    const m = new nn.Linear(2, 2);
    const extra = torch.zeros([1]);
    const weight = torch.zeros([2, 2]);
    expect(() => m.loadStateDict({ weight, extra })).toThrow(StateDictError);
    expect(() => m.loadStateDict({ weight, extra })).toThrow(
      'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias".\n\tUnexpected key(s) in state_dict: "extra".',
    );
    for (const t of [extra, weight]) t.dispose();
    m.dispose();
  });

  it('non-strict: loads what matches and returns the rest; size mismatches fail either way', () => {
    const m = new nn.Linear(2, 2);
    const weight = torch.ones([2, 2]);
    const extra = torch.zeros([1]);
    expect(m.loadStateDict({ weight, extra }, { strict: false })).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    expect(same(m.weight, weight)).toBe(true);
    const wrong = torch.zeros([3, 2]);
    expect(() => m.loadStateDict({ weight: wrong }, { strict: false })).toThrow(
      /size mismatch for weight: copying a param with shape \[3, 2\] from checkpoint, the shape in current model is \[2, 2\]\./,
    );
    for (const t of [weight, extra, wrong]) t.dispose();
    m.dispose();
  });
});

describe('modes, conversion and traversal', () => {
  it('train()/eval() set every module, and Dropout follows', () => {
    const seq = new nn.Sequential(new nn.Dropout(0.9), new nn.Sequential(new nn.Identity()));
    seq.eval();
    expect(seq.modules().map((m) => m.training)).toEqual([false, false, false, false]);
    const x = ones([100]);
    expect(seq.forward(x)).toBe(x);
    seq.train();
    expect(seq.modules().every((m) => m.training)).toBe(true);
    const y = seq.forward<Tensor>(x);
    expect(same(y, x)).toBe(false);
    x.dispose();
    y.dispose();
  });

  it('to(dtype) converts floating tensors only, keeps requires_grad and keeps shared parameters shared', () => {
    const shared = new nn.Linear(2, 2);
    const tower = new Tower();
    tower.registerModule('tied', shared);
    tower.registerModule('tied_again', shared);
    tower.getParameter('norm.bias').requiresGrad_(false);
    tower.to('float64');
    expect(tower.parameters().every((p) => p.dtype === 'float64')).toBe(true);
    expect(tower.getBuffer('steps').dtype).toBe('int64');
    expect(tower.getBuffer('scratch').dtype).toBe('float64');
    expect(tower.getParameter('norm.bias').requiresGrad).toBe(false);
    expect(tower.getParameter('norm.weight').requiresGrad).toBe(true);
    expect(tower.getParameter('tied.weight')).toBe(tower.getParameter('tied_again.weight'));
    const x = torch.ones([1, 4], { dtype: 'float64' });
    const y = tower.forward(x);
    expect(y.dtype).toBe('float64');
    for (const t of [x, y]) t.dispose();
    tower.dispose();
  });

  it('apply visits children before their parent, as PyTorch', () => {
    const m = new Tower();
    const order: string[] = [];
    m.apply((module) => order.push(module.constructor.name));
    expect(order).toEqual(['Linear', 'Linear', 'ModuleList', 'LayerNorm', 'Tower']);
    m.dispose();
  });

  it('counts parameters, all or trainable; requiresGrad_ freezes; zeroGrad drops gradients', () => {
    const m = new Tower();
    expect(m.numParameters()).toBe(4 * 4 + 4 + 4 * 2 + 2 + 2 + 2);
    m.child('layers').requiresGrad_(false);
    expect(m.numParameters({ trainableOnly: true })).toBe(4);
    const x = ones([2, 4]);
    const loss = torch.scope(() => m.forward(x).sum());
    loss.backward();
    const grad = m.getParameter('norm.weight').grad;
    expect(grad).not.toBeNull();
    grad?.dispose();
    expect(m.getParameter('layers.0.weight').grad).toBeNull();
    m.zeroGrad();
    expect(m.getParameter('norm.weight').grad).toBeNull();
    for (const t of [x, loss]) t.dispose();
    m.dispose();
  });

  it('errors are TorchErrors', () => {
    expect(() => new Tower().getSubmodule('nope')).toThrow(TorchError);
  });
});

describe('parametrize (torch.nn.utils.parametrize for the length of a forward)', () => {
  it('value() gives the stand-in while it stands, the parameter after; gradients flow into the stand-in', () => {
    const linear = new nn.Linear(2, 2, { bias: false });
    const delta = torch.ones([2, 2]).requiresGrad_(true);
    const standIn = linear.weight.add(delta);
    const release = linear.parametrize('weight', standIn);
    expect(same(linear.value('weight'), standIn)).toBe(true);
    linear.forward(ones([1, 2])).sum().backward();
    expect(release()).toBe(true);
    expect(delta.grad?.sum().item()).toBe(4);
    expect(linear.value('weight')).toBe(linear.weight);
  });

  it('param() / paramOrNull() while parametrized is an error naming the parameter; release reports an unread stand-in', () => {
    const linear = new nn.Linear(2, 2);
    const release = linear.parametrize('bias', torch.zeros([2]));
    expect(() => linear.paramOrNull('bias')).toThrow(/read its parameter 'bias' with param\(\) while a parametrization stands in/);
    expect(() => linear.parametrize('bias', torch.zeros([2]))).toThrow(/already parametrized/);
    expect(release()).toBe(false);
    expect(() => linear.parametrize('nope', torch.zeros([2]))).toThrow(/no parameter 'nope' to parametrize/);
  });
});
