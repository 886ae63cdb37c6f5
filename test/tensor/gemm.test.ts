// fp32 GEMM routing: frozen Linear weights through oneDNN (packed once, cached per weight and version) give MKL's
// results within fp32 rounding, forward and backward; in-place weight changes are seen; the cache does not grow.
import { afterAll, describe, expect, it } from 'vitest';
import { LoraLinear, models, nn, optim, torch, type Tensor } from '../../lib/index.js';
import { loraLinear } from '../../lib/tensor/lora.js';

const { F } = torch;
// Products of at least GEMM_MIN_ROWS rows are routed; these tests use 48 or more.
const ROWS = 48;
const TOL = 1e-4;
const hasOnednn = torch.measureGemm(16, 16, 16, 1).onednn !== null;

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return a.sub(b).abs().max().item();
}

/** max |a - b| / max |a|: gradients summed over many rows are larger than outputs, so is their rounding. */
function relativeDiff(a: Tensor, b: Tensor): number {
  return maxDiff(a, b) / a.abs().max().item();
}

function gradOf(t: Tensor): Tensor {
  const g = t.grad;
  if (g === null) throw new Error('no gradient');
  return g;
}

/** fn's results on MKL, then on oneDNN. */
function onBoth<T>(fn: () => T): [T, T] {
  torch.setGemmPath('mkl');
  const mkl = fn();
  torch.setGemmPath('onednn');
  return [mkl, fn()];
}

function frozenWeight(out: number, inF: number): Tensor {
  return torch.randn([out, inF]).mul(0.1);
}

afterAll(() => torch.setGemmPath('mkl'));

describe.runIf(hasOnednn)('oneDNN and MKL agree within fp32 rounding', () => {
  it('forward: with and without bias, 2-D and 3-D input, non-contiguous input', () => {
    torch.manualSeed(0);
    const w = frozenWeight(96, 64);
    const b = torch.randn([96]);
    const inputs = [torch.randn([ROWS, 64]), torch.randn([3, 20, 64]), torch.randn([64, ROWS]).mT()];
    for (const x of inputs) {
      for (const bias of [b, null]) {
        const before = torch.gemmCacheStats();
        const [mkl, onednn] = onBoth(() => F.linear(x, w, bias));
        expect(maxDiff(mkl, onednn)).toBeLessThan(TOL);
        const after = torch.gemmCacheStats();
        expect(after.hits + after.packs).toBeGreaterThan(before.hits + before.packs); // oneDNN really ran
      }
    }
  });

  it('backward: dx through the packed Wᵀ, db from the gradient, the frozen weight gets none', () => {
    torch.manualSeed(1);
    const w = frozenWeight(80, 72);
    const xData = torch.randn([2, 30, 72]);
    const g = torch.randn([2, 30, 80]);
    const grads = onBoth(() => {
      const x = xData.clone().requiresGrad_();
      const bias = torch.zeros([80]).requiresGrad_();
      F.linear(x, w, bias).mul(g).sum().backward();
      return { dx: x.grad as Tensor, db: bias.grad as Tensor };
    });
    expect(maxDiff(grads[0].dx, grads[1].dx)).toBeLessThan(TOL);
    expect(maxDiff(grads[0].db, grads[1].db)).toBeLessThan(TOL);
    expect(w.grad).toBeNull();
  });

  it('a trainable weight under autograd stays on at::linear (nothing packed) and gets its gradient', () => {
    torch.setGemmPath('onednn');
    const w = frozenWeight(40, 32).requiresGrad_();
    const before = torch.gemmCacheStats();
    F.linear(torch.randn([ROWS, 32]), w).sum().backward();
    const after = torch.gemmCacheStats();
    expect([after.packs, after.hits]).toEqual([before.packs, before.hits]);
    expect(w.grad?.shape).toEqual([40, 32]);
  });

  it('a bias of another dtype is refused the same way on both paths', () => {
    const [x, w, bias] = [torch.randn([ROWS, 16]), frozenWeight(8, 16), torch.randn([8], { dtype: 'float64' })];
    const messages = onBoth(() => {
      try {
        F.linear(x, w, bias);
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(messages[0]).not.toBe('no error');
    expect(messages[1]).toBe(messages[0]);
  });

  it('a trainable weight evaluated under noGrad goes through oneDNN, packed again after each update', () => {
    const w = frozenWeight(40, 32).requiresGrad_();
    const x = torch.randn([ROWS, 32]);
    const [mkl, onednn] = onBoth(() => torch.noGrad(() => F.linear(x, w)));
    expect(maxDiff(mkl, onednn)).toBeLessThan(TOL);
    const before = torch.gemmCacheStats();
    torch.noGrad(() => w.sub_(0.5)); // an optimizer step
    const updated = torch.noGrad(() => F.linear(x, w));
    expect(torch.gemmCacheStats().packs).toBe(before.packs + 1);
    expect(maxDiff(updated, onednn.sub(torch.noGrad(() => F.linear(x, torch.full([40, 32], 0.5)))))).toBeLessThan(TOL);
  });

  for (const fanInFanOut of [false, true]) {
    it(`a LoRA layer on a frozen base: output and gradients of x, A and B (fan_in_fan_out=${fanInFanOut})`, () => {
      torch.manualSeed(2);
      const base = fanInFanOut ? new models.Conv1D(56, 40) : new nn.Linear(40, 56);
      base.param('weight').requiresGrad = false;
      const layer = new LoraLinear(base, { fanInFanOut });
      layer.updateLayer('a', { r: 4, loraAlpha: 8, initLoraWeights: false });
      layer.setAdapter(['a']);
      const [A, B] = layer.adapterParameters('a').map(([, p]) => p);
      const xData = torch.randn([ROWS, 40]);
      const g = torch.randn([ROWS, 56]);
      const before = torch.gemmCacheStats();
      const results = onBoth(() => {
        A.grad = null;
        B.grad = null;
        const x = xData.clone().requiresGrad_();
        const y = layer.forward(x);
        y.mul(g).sum().backward();
        return [y.detach(), gradOf(x), gradOf(A).clone(), gradOf(B).clone()];
      });
      for (let i = 0; i < 4; i++) expect(relativeDiff(results[0][i], results[1][i])).toBeLessThan(1e-5);
      const after = torch.gemmCacheStats();
      expect(after.packs + after.hits).toBe(before.packs + before.hits + 2); // W forward, Wᵀ backward, on oneDNN
    });
  }

  it('loraLinear with several adapters and eval (no autograd) matches too', () => {
    torch.manualSeed(3);
    const w = frozenWeight(48, 24);
    const terms = [0, 1].map((i) => ({ A: torch.randn([4, 24]), B: torch.randn([48, 4]).mul(0.1), scale: 1 + i }));
    const x = torch.randn([ROWS, 24]);
    const [mkl, onednn] = onBoth(() => torch.noGrad(() => loraLinear(x, w, null, terms, false)));
    expect(maxDiff(mkl, onednn)).toBeLessThan(TOL);
  });
});

describe.runIf(hasOnednn)('the packed-weight cache', () => {
  it('sees in-place changes of the weight (its version counter)', () => {
    torch.setGemmPath('onednn');
    const w = frozenWeight(32, 32);
    const x = torch.randn([ROWS, 32]);
    const first = F.linear(x, w);
    torch.noGrad(() => w.mul_(2));
    expect(maxDiff(F.linear(x, w), first.mul(2))).toBeLessThan(TOL);
    const other = frozenWeight(32, 32);
    torch.noGrad(() => w.copy_(other));
    torch.setGemmPath('mkl');
    const expected = F.linear(x, other);
    torch.setGemmPath('onednn');
    expect(maxDiff(F.linear(x, w), expected)).toBeLessThan(TOL);
  });

  for (const Optimizer of [optim.AdamW, optim.SGD]) {
    it(`sees the weights a fused ${Optimizer.name} step wrote (fused kernels do not bump versions themselves)`, () => {
      const layer = new nn.Linear(32, 24);
      const opt = new Optimizer(layer.parameters(), { lr: 0.5 });
      const x = torch.randn([ROWS, 32]);
      torch.setGemmPath('onednn');
      torch.noGrad(() => layer.forward(x)); // packs the weight as it is now
      layer.forward(x).sum().backward();
      opt.step();
      const afterStep = torch.noGrad(() => layer.forward(x));
      torch.setGemmPath('mkl');
      expect(maxDiff(afterStep, torch.noGrad(() => layer.forward(x)))).toBeLessThan(TOL);
    });
  }

  it('merge then unmerge of a LoRA adapter gives the merged, then the unmerged outputs', () => {
    torch.manualSeed(4);
    const base = new nn.Linear(32, 40);
    base.param('weight').requiresGrad = false;
    const layer = new LoraLinear(base);
    layer.updateLayer('a', { r: 2, loraAlpha: 4, initLoraWeights: false });
    layer.setAdapter(['a']);
    layer.eval();
    const x = torch.randn([ROWS, 32]);
    torch.setGemmPath('mkl');
    const [baseOnly, adapted] = [F.linear(x, base.param('weight'), base.paramOrNull('bias')), layer.forward(x)];
    expect(maxDiff(baseOnly, adapted)).toBeGreaterThan(0.01); // the adapter changes the output
    torch.setGemmPath('onednn');
    expect(maxDiff(layer.forward(x), adapted)).toBeLessThan(TOL);
    layer.merge();
    expect(maxDiff(base.forward(x), adapted)).toBeLessThan(TOL);
    expect(maxDiff(layer.forward(x), adapted)).toBeLessThan(TOL);
    layer.unmerge();
    expect(maxDiff(base.forward(x), baseOnly)).toBeLessThan(TOL);
    expect(maxDiff(layer.forward(x), adapted)).toBeLessThan(TOL);
  });

  it('reuses one packed copy per weight, and drops the copies of disposed weights', () => {
    torch.setGemmPath('onednn');
    const x = torch.randn([ROWS, 64]);
    const kept = frozenWeight(64, 64);
    F.linear(x, kept).dispose();
    const start = torch.gemmCacheStats();
    for (let i = 0; i < 50; i++) F.linear(x, kept).dispose();
    const reused = torch.gemmCacheStats();
    expect(reused.packs).toBe(start.packs);
    expect(reused.hits).toBe(start.hits + 50);
    for (let i = 0; i < 50; i++) {
      torch.scope(() => {
        const layer = new nn.Linear(64, 64);
        layer.param('weight').requiresGrad = false;
        layer.forward(x);
        layer.dispose();
      });
    }
    const after = torch.gemmCacheStats();
    expect(after.packs).toBe(reused.packs + 50);
    expect(after.packedWeights).toBeLessThanOrEqual(start.packedWeights + 1);
    expect(after.bytes).toBeLessThanOrEqual(start.bytes + 64 * 64 * 4);
    torch.clearGemmCache();
    expect(torch.gemmCacheStats()).toMatchObject({ packedWeights: 0, bytes: 0 });
    expect(maxDiff(F.linear(x, kept), F.linear(x, kept))).toBe(0); // packed again on demand
  });

  it('keeps products with fewer rows than the threshold on MKL (nothing packed)', () => {
    torch.setGemmPath('onednn');
    const w = frozenWeight(64, 64);
    const before = torch.gemmCacheStats();
    F.linear(torch.randn([1, 64]), w);
    F.linear(torch.randn([64]), w);
    const after = torch.gemmCacheStats();
    expect([after.packs, after.hits]).toEqual([before.packs, before.hits]);
  });
});
