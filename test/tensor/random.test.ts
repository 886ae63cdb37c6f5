// Random numbers: manualSeed(s) reproduces Python's draws after torch.manual_seed(s); dropout's statistics.
import { describe, expect, test } from 'vitest';
import { torch, type Tensor } from '../../lib/index.js';
import { expectTensorMatches, loadOpsFixture } from './fixture.js';

const { random } = loadOpsFixture();

describe('manualSeed(s) then a draw equals Python torch after torch.manual_seed(s)', () => {
  const draws: Record<string, () => Tensor> = {
    randn_5: () => {
      torch.manualSeed(0);
      return torch.randn([5]);
    },
    randn_3x7: () => {
      torch.manualSeed(0);
      torch.randn([5]).dispose();
      return torch.randn([3, 7]);
    },
    rand_20: () => {
      torch.manualSeed(0);
      return torch.rand([20]);
    },
    randint_0_10_12: () => {
      torch.manualSeed(0);
      return torch.randint(0, 10, [12]);
    },
    normal_2_3_20: () => {
      torch.manualSeed(0);
      return torch.empty([20]).normal_(2, 3);
    },
    uniform_m1_1_8: () => {
      torch.manualSeed(0);
      return torch.empty([8]).uniform_(-1, 1);
    },
    randn_float64_6: () => {
      torch.manualSeed(0);
      return torch.randn([6], { dtype: 'float64' });
    },
    seed42_randn_4_then_rand_3: () => {
      torch.manualSeed(42);
      return torch.cat([torch.randn([4]), torch.rand([3])]);
    },
  };

  test('every recorded draw is checked', () => {
    expect(Object.keys(draws).sort()).toEqual(Object.keys(random).sort());
  });

  for (const [name, draw] of Object.entries(draws)) {
    test(name, () => {
      torch.scope(() => expectTensorMatches(draw(), random[name], name, 1e-6));
    });
  }

  test('reseeding repeats the sequence exactly', () => {
    torch.scope(() => {
      torch.manualSeed(123);
      const first = torch.randn([100]);
      torch.manualSeed(123);
      expect(torch.randn([100]).equal(first)).toBe(true);
      expect(torch.randn([100]).equal(first)).toBe(false);
    });
  });
});

describe('dropout', () => {
  test('p = 0 in training and any p in eval are the identity', () => {
    torch.scope(() => {
      const x = torch.randn([50]);
      expect(torch.F.dropout(x, 0, true).equal(x)).toBe(true);
      expect(torch.F.dropout(x, 0.7, false).equal(x)).toBe(true);
    });
  });

  test('p > 0 zeroes about p of the elements and scales the rest by 1 / (1 - p)', () => {
    torch.manualSeed(7);
    torch.scope(() => {
      const n = 200_000;
      const p = 0.3;
      const out = torch.F.dropout(torch.ones([n]), p, true);
      const zeroed = out.eq(0).sum().item() / n;
      // Binomial standard deviation is sqrt(p(1-p)/n) ~ 0.001; allow 5 of them.
      expect(Math.abs(zeroed - p)).toBeLessThan(0.005);
      const kept = out.maskedFill(out.eq(0), 1 / (1 - p));
      expect(kept.sub(1 / (1 - p)).abs().max().item()).toBeLessThan(1e-6);
      expect(Math.abs(out.mean().item() - 1)).toBeLessThan(0.01);
    });
  });

  test('p = 1 zeroes everything', () => {
    torch.scope(() => {
      expect(torch.F.dropout(torch.ones([10]), 1, true).abs().sum().item()).toBe(0);
    });
  });

  test('the gradient flows only through kept elements, scaled', () => {
    torch.manualSeed(3);
    torch.scope(() => {
      const x = torch.ones([1000], { requiresGrad: true });
      const out = torch.F.dropout(x, 0.5, true);
      out.sum().backward();
      expect((x.grad as Tensor).equal(out.detach())).toBe(true);
    });
  });

  test('p outside [0, 1] is refused', () => {
    torch.scope(() => {
      expect(() => torch.F.dropout(torch.ones([2]), 1.5)).toThrow(/p must be in \[0, 1\], got 1.5/);
    });
  });
});

describe('distributions', () => {
  test('randn, rand, normal_, uniform_ and randint have the requested moments and ranges', () => {
    torch.manualSeed(11);
    torch.scope(() => {
      const n = 100_000;
      const normal = torch.randn([n]);
      expect(Math.abs(normal.mean().item())).toBeLessThan(0.02);
      expect(Math.abs(normal.std().item() - 1)).toBeLessThan(0.02);
      const shifted = torch.empty([n]).normal_(5, 0.5);
      expect(Math.abs(shifted.mean().item() - 5)).toBeLessThan(0.01);
      expect(Math.abs(shifted.std().item() - 0.5)).toBeLessThan(0.01);
      const unit = torch.rand([n]);
      expect(unit.min().item()).toBeGreaterThanOrEqual(0);
      expect(unit.max().item()).toBeLessThan(1);
      const uniform = torch.empty([n]).uniform_(-2, 4);
      expect(uniform.min().item()).toBeGreaterThanOrEqual(-2);
      expect(uniform.max().item()).toBeLessThan(4);
      expect(Math.abs(uniform.mean().item() - 1)).toBeLessThan(0.03);
      const ints = torch.randint(3, 8, [n]);
      expect(ints.dtype).toBe('int64');
      expect([ints.min().item(), ints.max().item()]).toEqual([3, 7]);
    });
  });
});
