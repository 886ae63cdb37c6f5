// LoRA layers: forward math, multiple adapters, merge/unmerge/safe merge, disable, mixed batches, DoRA, init.
import { describe, expect, it } from 'vitest';
import { LoraConv2d, LoraEmbedding, LoraLinear, models, nn, PeftError, torch, withAdapterNames, type Tensor } from '../../lib/index.js';

const { F } = torch;

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return a.sub(b).abs().max().item();
}

function linearLayer(options: { fanInFanOut?: boolean } = {}): LoraLinear {
  torch.manualSeed(1);
  const base = options.fanInFanOut ? new models.Conv1D(6, 5) : new nn.Linear(5, 6);
  const layer = new LoraLinear(base, options);
  layer.updateLayer('a', { r: 2, loraAlpha: 4, initLoraWeights: false });
  layer.updateLayer('b', { r: 3, loraAlpha: 3, initLoraWeights: false });
  layer.setAdapter(['a']);
  return layer.eval();
}

/** x·(W + ΔW)ᵀ + b for the base weight in [out, in] layout. */
function reference(layer: LoraLinear, x: Tensor, adapters: string[]): Tensor {
  const w = layer.baseLayer.param('weight');
  let weight = layer.fanInFanOut ? w.mT() : w;
  for (const name of adapters) {
    const delta = layer.deltaWeight(name);
    weight = weight.add(layer.fanInFanOut ? delta.mT() : delta);
  }
  return F.linear(x, weight, layer.baseLayer.paramOrNull('bias'));
}

describe('LoraLinear', () => {
  for (const fanInFanOut of [false, true]) {
    it(`adds scaling·B(A(x)) of each active adapter (fan_in_fan_out=${fanInFanOut})`, () => {
      const layer = linearLayer({ fanInFanOut });
      const x = torch.randn([3, 4, 5]);
      expect(maxDiff(layer.forward(x), reference(layer, x, ['a']))).toBeLessThan(1e-5);
      layer.setAdapter(['a', 'b']);
      expect(maxDiff(layer.forward(x), reference(layer, x, ['a', 'b']))).toBeLessThan(1e-5);
      expect(layer.setting('a').scaling).toBe(2);
    });
  }

  it('merge folds ΔW into the base weight and unmerge restores it', () => {
    const layer = linearLayer({ fanInFanOut: true });
    const x = torch.randn([2, 5]);
    const before = layer.baseLayer.param('weight').clone();
    const unmerged = layer.forward(x);
    layer.merge();
    expect(layer.merged).toBe(true);
    expect(maxDiff(layer.forward(x), unmerged)).toBeLessThan(1e-5);
    layer.unmerge();
    expect(maxDiff(layer.baseLayer.param('weight'), before)).toBeLessThan(1e-6);
  });

  it('safe merge refuses non-finite results and leaves the weight untouched', () => {
    const layer = linearLayer();
    torch.noGrad(() => layer.adapterParameters('a')[1][1].fill_(Number.NaN));
    const before = layer.baseLayer.param('weight').clone();
    expect(() => layer.merge({ safeMerge: true })).toThrow(/NaNs detected in the merged weights. The adapter a seems to be broken/);
    expect(layer.baseLayer.param('weight').equal(before)).toBe(true);
  });

  it('disabled adapters give the base output (unmerging first)', () => {
    const layer = linearLayer();
    const x = torch.randn([2, 5]);
    layer.merge();
    layer.enableAdapters(false);
    expect(maxDiff(layer.forward(x), reference(layer, x, []))).toBeLessThan(1e-6);
    expect(layer.merged).toBe(false);
  });

  it('routes each row of a mixed batch to its adapter (__base__: none)', () => {
    const layer = linearLayer();
    const x = torch.randn([3, 2, 5]);
    const y = withAdapterNames(['b', '__base__', 'a'], () => layer.forward(x));
    expect(maxDiff(y.select(0, 0), reference(layer, x.select(0, 0), ['b']))).toBeLessThan(1e-5);
    expect(maxDiff(y.select(0, 1), reference(layer, x.select(0, 1), []))).toBeLessThan(1e-5);
    expect(maxDiff(y.select(0, 2), reference(layer, x.select(0, 2), ['a']))).toBeLessThan(1e-5);
  });

  it('freezes inactive adapters and deletes one cleanly', () => {
    const layer = linearLayer();
    expect(layer.adapterParameters('a').every(([, p]) => p.requiresGrad)).toBe(true);
    expect(layer.adapterParameters('b').every(([, p]) => !p.requiresGrad)).toBe(true);
    layer.deleteAdapter('b');
    expect(layer.adapterNames()).toEqual(['a']);
    expect(layer.namedParameters().map(([n]) => n).sort()).toEqual(['base_layer.bias', 'base_layer.weight', 'lora_A.a.weight', 'lora_B.a.weight']);
  });

  it('DoRA: magnitude starts at the row norms (output unchanged when B = 0) and merge matches the unmerged output', () => {
    torch.manualSeed(2);
    const layer = new LoraLinear(new nn.Linear(5, 4));
    layer.updateLayer('d', { r: 2, loraAlpha: 2, useDora: true });
    layer.setAdapter(['d']);
    layer.eval();
    const x = torch.randn([3, 5]);
    expect(maxDiff(layer.forward(x), reference(layer, x, []))).toBeLessThan(1e-5);
    torch.noGrad(() => layer.adapterParameters('d')[1][1].normal_(0, 0.3));
    torch.noGrad(() => layer.adapterParameters('d')[2][1].mul_(1.5));
    const unmerged = layer.forward(x);
    const before = layer.baseLayer.param('weight').clone();
    layer.merge();
    expect(maxDiff(layer.forward(x), unmerged)).toBeLessThan(1e-5);
    layer.unmerge();
    expect(maxDiff(layer.baseLayer.param('weight'), before)).toBeLessThan(1e-5);
  });

  it('init: true and gaussian give ΔW = 0; gaussian draws A with std 1/r', () => {
    torch.manualSeed(3);
    const layer = new LoraLinear(new nn.Linear(400, 300));
    layer.updateLayer('t', { r: 8, loraAlpha: 8 });
    layer.updateLayer('g', { r: 8, loraAlpha: 8, initLoraWeights: 'gaussian' });
    expect(layer.deltaWeight('t').abs().max().item()).toBe(0);
    expect(layer.deltaWeight('g').abs().max().item()).toBe(0);
    expect(layer.adapterParameters('t')[0][1].abs().max().item()).toBeLessThanOrEqual(0.05);
    expect(Math.abs(layer.adapterParameters('g')[0][1].std().item() - 1 / 8)).toBeLessThan(0.01);
    expect(() => layer.updateLayer('bad', { r: 0, loraAlpha: 8 })).toThrow(PeftError);
  });
});

describe('LoraEmbedding and LoraConv2d', () => {
  it('embedding: base(ids) + emb(ids, Aᵀ)·Bᵀ·scaling, equal to the merged table', () => {
    torch.manualSeed(4);
    const layer = new LoraEmbedding(new nn.Embedding(10, 6));
    layer.updateLayer('e', { r: 3, loraAlpha: 6, initLoraWeights: false });
    layer.setAdapter(['e']);
    const ids = torch.tensor([[1, 4, 9], [0, 0, 2]]);
    const merged = layer.baseLayer.param('weight').add(layer.deltaWeight('e'));
    expect(maxDiff(layer.forward(ids), F.embedding(ids, merged))).toBeLessThan(1e-5);
    expect(layer.namedParameters().map(([n]) => n).sort()).toEqual(['base_layer.weight', 'lora_embedding_A.e', 'lora_embedding_B.e']);
    layer.merge();
    expect(maxDiff(layer.forward(ids), F.embedding(ids, merged))).toBeLessThan(1e-5);
  });

  it('conv2d: base(x) + B(A(x))·scaling with the base stride and padding, equal to the merged kernel', () => {
    torch.manualSeed(5);
    const layer = new LoraConv2d(new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }));
    layer.updateLayer('c', { r: 2, loraAlpha: 4, initLoraWeights: false });
    layer.setAdapter(['c']);
    const x = torch.randn([2, 3, 8, 8]);
    const base = layer.baseLayer;
    const kernel = base.param('weight').add(layer.deltaWeight('c'));
    const expected = F.conv2d(x, kernel, base.paramOrNull('bias'), { stride: 2, padding: 1 });
    expect(maxDiff(layer.forward(x), expected)).toBeLessThan(1e-5);
    layer.merge();
    expect(maxDiff(layer.forward(x), expected)).toBeLessThan(1e-5);
  });
});

describe('what the three layers share (LoraLayer)', () => {
  const makers: [string, () => LoraLinear | LoraEmbedding | LoraConv2d, () => Tensor][] = [
    ['linear', () => new LoraLinear(new nn.Linear(5, 4)), () => torch.randn([3, 2, 5])],
    ['embedding', () => new LoraEmbedding(new nn.Embedding(10, 6)), () => torch.tensor([[1, 4, 9], [0, 0, 2], [7, 3, 3]])],
    ['conv2d', () => new LoraConv2d(new nn.Conv2d(3, 4, 3, { padding: 1 })), () => torch.randn([3, 3, 5, 5])],
  ];

  for (const [kind, make, input] of makers) {
    it(`${kind}: an adapter added uninitialised, then reset, holds what a fresh adapter draws (same RNG order)`, () => {
      torch.manualSeed(6);
      const fresh = make();
      torch.manualSeed(7);
      fresh.updateLayer('x', { r: 2, loraAlpha: 2, initLoraWeights: false });
      const deferred = make();
      deferred.updateLayer('x', { r: 2, loraAlpha: 2, initLoraWeights: false }, { initialize: false });
      torch.manualSeed(7);
      deferred.resetLoraParameters('x');
      const expected = fresh.adapterParameters('x');
      deferred.adapterParameters('x').forEach(([name, p], i) => {
        expect(name).toBe(expected[i][0]);
        expect(p.equal(expected[i][1])).toBe(true);
      });
    });

    it(`${kind}: a mixed batch gives each row its adapter's output, and the base output to '__base__' rows`, () => {
      torch.manualSeed(8);
      const layer = make();
      layer.updateLayer('a', { r: 2, loraAlpha: 4, initLoraWeights: false });
      layer.updateLayer('b', { r: 3, loraAlpha: 3, initLoraWeights: false });
      layer.eval();
      const x = input();
      const y = withAdapterNames(['b', '__base__', 'b'], () => layer.forward(x));
      layer.setAdapter(['b']);
      const withB = layer.forward(x);
      layer.enableAdapters(false);
      const base = layer.forward(x);
      for (const [row, expected] of [[0, withB], [1, base], [2, withB]] as const) {
        expect(maxDiff(y.select(0, row), expected.select(0, row))).toBeLessThan(1e-5);
      }
    });

    it(`${kind}: DoRA merge matches the unmerged output, unmerge restores W, and deleting the adapter removes its tensors`, () => {
      torch.manualSeed(9);
      const layer = make();
      layer.updateLayer('d', { r: 2, loraAlpha: 2, useDora: true, initLoraWeights: false });
      layer.setAdapter(['d']);
      layer.eval();
      torch.noGrad(() => layer.adapterParameters('d')[2][1].mul_(1.3));
      const x = input();
      const unmerged = layer.forward(x);
      const before = layer.baseLayer.param('weight').clone();
      layer.merge();
      expect(maxDiff(layer.forward(x), unmerged)).toBeLessThan(1e-4);
      layer.unmerge();
      expect(maxDiff(layer.baseLayer.param('weight'), before)).toBeLessThan(1e-5);
      layer.deleteAdapter('d');
      expect(layer.namedParameters().map(([n]) => n).filter((n) => !n.startsWith('base_layer.'))).toEqual([]);
    });
  }
});
