// Whole tiny models against PyTorch (test/fixtures/nn/models.json from scripts/fixtures/nn_reference.py):
// module and parameter names, shapes, seeded init and outputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nn, torch, type Tensor } from '../../lib/index.js';
import { fromFixture, maxAbsDiff, readFixture, type TensorFixture, TinyConvNet, TinyMLP } from './tiny-models.js';

interface ModelFixture {
  modules: [string, string][];
  parameters: [string, number[]][];
  buffers: [string, number[]][];
  state_dict: Record<string, TensorFixture>;
  num_parameters: number;
  input: TensorFixture;
  eval_outputs: TensorFixture[];
  train_outputs_seed7: TensorFixture[];
}

const fixtures = readFixture<Record<'mlp' | 'conv', ModelFixture>>('models.json');
const outputsOf = (out: Tensor | Tensor[]): Tensor[] => (Array.isArray(out) ? out : [out]);

describe.each([
  ['mlp', () => new TinyMLP()],
  ['conv', () => new TinyConvNet()],
] as const)('%s against PyTorch', (name, make) => {
  const fixture = fixtures[name];
  let model: nn.Module & { forward(x: Tensor): Tensor | Tensor[] };
  let input: Tensor;

  beforeAll(() => {
    torch.manualSeed(0);
    model = make();
    input = fromFixture(fixture.input);
  });
  afterAll(() => {
    model.dispose();
    input.dispose();
  });

  it('names every module as PyTorch does, list and dict members included', () => {
    expect(model.namedModules().map(([path, m]) => [path, m.constructor.name])).toEqual(fixture.modules);
  });

  it('names and shapes parameters and buffers as PyTorch does', () => {
    expect(model.namedParameters().map(([path, p]) => [path, [...p.shape]])).toEqual(fixture.parameters);
    expect(model.namedBuffers().map(([path, b]) => [path, [...b.shape]])).toEqual(fixture.buffers);
    expect(model.numParameters()).toBe(fixture.num_parameters);
  });

  it('state dict has the same keys in the same order (non-persistent buffers left out)', () => {
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(fixture.state_dict));
  });

  it('seeded init equals PyTorch bit for bit', () => {
    for (const [key, t] of Object.entries(model.stateDict())) {
      expect([key, maxAbsDiff(t, fixture.state_dict[key].values)]).toEqual([key, 0]);
    }
  });

  it('eval outputs equal PyTorch within 1e-6', () => {
    model.eval();
    const outputs = torch.noGrad(() => outputsOf(model.forward(input)));
    outputs.forEach((out, i) => {
      expect([...out.shape]).toEqual(fixture.eval_outputs[i].shape);
      expect(maxAbsDiff(out, fixture.eval_outputs[i].values)).toBeLessThan(1e-6);
      out.dispose();
    });
  });

  it('train-mode outputs (dropout drawn after manualSeed(7)) equal PyTorch within 1e-6', () => {
    model.train();
    torch.manualSeed(7);
    const outputs = torch.noGrad(() => outputsOf(model.forward(input)));
    outputs.forEach((out, i) => {
      expect(maxAbsDiff(out, fixture.train_outputs_seed7[i].values)).toBeLessThan(1e-6);
      out.dispose();
    });
  });
});
