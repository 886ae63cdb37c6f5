// Sequential, ModuleList, ModuleDict, ParameterDict.
import { describe, expect, it } from 'vitest';
import { nn, torch, type Tensor } from '../../lib/index.js';

describe('Sequential', () => {
  it('names members by position (or by record key) and chains their forwards', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(seq.length).toBe(3);
    expect(seq.get(-1)).toBe(seq.get(2));
    const x = torch.randn([4, 2]);
    const y = seq.forward<Tensor>(x);
    const expected = torch.scope(() => seq.get<nn.Linear>(2).forward(seq.get<nn.Linear>(0).forward(x).relu()));
    expect(y.equal(expected)).toBe(true);
    const named = new nn.Sequential({ fc: new nn.Linear(2, 2), act: new nn.Tanh() });
    expect(named.namedModules().map(([n]) => n)).toEqual(['', 'fc', 'act']);
    for (const t of [x, y, expected]) t.dispose();
    seq.dispose();
    named.dispose();
  });

  it('uses a replaced member in forward', () => {
    const seq = new nn.Sequential(new nn.Tanh());
    seq.replaceModule('0', new nn.ReLU());
    const x = torch.tensor([-1, 2], { dtype: 'float32' });
    const y = seq.forward<Tensor>(x);
    expect([...y.toArray()]).toEqual([0, 2]);
    expect(seq.append(new nn.Identity()).length).toBe(2);
    expect(() => seq.get(5)).toThrow(/Sequential: index 5 is out of range for length 2/);
    for (const t of [x, y]) t.dispose();
  });
});

describe('ModuleList', () => {
  it('indexes, appends, extends and iterates; has no forward', () => {
    const list = new nn.ModuleList([new nn.ReLU()]);
    list.append(new nn.Tanh()).extend([new nn.SiLU()]);
    expect([...list].map((m) => m.constructor.name)).toEqual(['ReLU', 'Tanh', 'SiLU']);
    expect(list.get(-1)).toBeInstanceOf(nn.SiLU);
    expect(list.namedModules().map(([n]) => n)).toEqual(['', '0', '1', '2']);
    expect(() => list.get(3)).toThrow(/ModuleList: index 3 is out of range for length 3/);
    expect(() => list.forward()).toThrow(/ModuleList has no forward\(\)/);
  });
});

describe('ModuleDict', () => {
  it('keeps insertion order; set on an existing key replaces in place', () => {
    const dict = new nn.ModuleDict({ a: new nn.ReLU(), b: new nn.Tanh() });
    dict.set('a', new nn.SiLU()).set('c', new nn.Identity());
    expect(dict.keys()).toEqual(['a', 'b', 'c']);
    expect(dict.get('a')).toBeInstanceOf(nn.SiLU);
    expect(dict.has('b')).toBe(true);
    expect(dict.size).toBe(3);
    expect(dict.entries().map(([k, m]) => [k, m.constructor.name])).toEqual([['a', 'SiLU'], ['b', 'Tanh'], ['c', 'Identity']]);
    expect(() => dict.get('z')).toThrow(/ModuleDict has no submodule 'z'/);
  });
});

describe('ParameterDict', () => {
  it('holds parameters under their keys (dotted names in the parent), set replaces in place', () => {
    const make = (v: number) => {
      const data = torch.full([2], v);
      const p = new nn.Parameter(data);
      data.dispose();
      return p;
    };
    const params = new nn.ParameterDict({ alpha: make(1), beta: make(2) });
    const holder = new nn.Sequential({ scales: params });
    expect(holder.namedParameters().map(([n]) => n)).toEqual(['scales.alpha', 'scales.beta']);
    const old = params.get('alpha');
    params.set('alpha', make(3));
    old.dispose();
    expect(params.keys()).toEqual(['alpha', 'beta']);
    expect(params.values().map((p) => p.toList())).toEqual([[3, 3], [2, 2]]);
    expect(params.size).toBe(2);
    const plain = torch.zeros([1]);
    expect(() => params.set('gamma', plain as nn.Parameter)).toThrow(/ParameterDict.set\('gamma'\): expected a Parameter/);
    plain.dispose();
    holder.dispose();
  });
});
