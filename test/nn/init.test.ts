// torch.nn.init equivalents: same values as PyTorch after the same seed (test/fixtures/nn/init.json).
import { describe, expect, it } from 'vitest';
import { nn, torch, type Tensor } from '../../lib/index.js';
import { maxAbsDiff, readFixture } from './tiny-models.js';

interface InitCase {
  fn: string;
  kwargs: Record<string, number | string>;
  shape: number[];
  values: number[];
}

const { inits } = readFixture<{ inits: InitCase[] }>('init.json');
const { init } = nn;

function apply(c: InitCase, t: Tensor): void {
  const k = c.kwargs;
  const kaiming = { a: k.a as number, mode: k.mode as nn.init.FanMode, nonlinearity: k.nonlinearity as nn.init.Nonlinearity };
  switch (c.fn) {
    case 'uniform_': init.uniform_(t, k.a as number, k.b as number); break;
    case 'normal_': init.normal_(t, k.mean as number, k.std as number); break;
    case 'kaiming_uniform_': init.kaimingUniform_(t, kaiming); break;
    case 'kaiming_normal_': init.kaimingNormal_(t, kaiming); break;
    case 'xavier_uniform_': init.xavierUniform_(t, k.gain as number); break;
    case 'xavier_normal_': init.xavierNormal_(t, k.gain as number); break;
    case 'trunc_normal_': init.truncNormal_(t, k.mean as number | undefined, k.std as number | undefined, k.a as number | undefined, k.b as number | undefined); break;
    default: throw new Error(`no case for ${c.fn}`);
  }
}

describe('init against PyTorch', () => {
  it.each(inits.map((c) => [`${c.fn} ${JSON.stringify(c.kwargs)}`, c] as const))('%s', (_, c) => {
    torch.manualSeed(0);
    const t = torch.empty(c.shape);
    apply(c, t);
    expect(maxAbsDiff(t, c.values)).toBeLessThan(1e-6);
    t.dispose();
  });
});

describe('init helpers', () => {
  it('computes fans as PyTorch (receptive field included) and refuses 1-D tensors', () => {
    const t = torch.empty([8, 4, 3, 3]);
    expect(init.fanInAndFanOut(t)).toEqual([36, 72]);
    const v = torch.empty([5]);
    expect(() => init.fanInAndFanOut(v)).toThrow(/fewer than 2 dimensions \(shape \[5\]\)/);
    for (const x of [t, v]) x.dispose();
  });

  it('gains as torch.nn.init.calculate_gain', () => {
    expect(init.calculateGain('relu')).toBe(Math.sqrt(2));
    expect(init.calculateGain('tanh')).toBe(5 / 3);
    expect(init.calculateGain('leaky_relu')).toBe(Math.sqrt(2 / (1 + 0.01 ** 2)));
    expect(init.calculateGain('linear')).toBe(1);
  });

  it('initialises parameters in place without recording autograd', () => {
    const data = torch.zeros([2, 2]);
    const p = new nn.Parameter(data);
    data.dispose();
    init.ones_(p);
    expect(p.isLeaf).toBe(true);
    expect(p.toList()).toEqual([[1, 1], [1, 1]]);
    init.zeros_(p);
    expect(init.constant_(p, 3).toList()).toEqual([[3, 3], [3, 3]]);
    p.dispose();
  });
});
