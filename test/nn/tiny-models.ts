// The tiny models of scripts/fixtures/nn_models.py, built in the same order (so seeded init matches).
import { readFileSync } from 'node:fs';
import { nn, torch, type Tensor } from '../../lib/index.js';

const { F } = torch;

export class Block extends nn.Module {
  constructor(d: number, h: number) {
    super();
    this.registerModule('mlp', new nn.Sequential(new nn.Linear(d, h), new nn.GELU('tanh'), new nn.Dropout(0.1), new nn.Linear(h, d)));
    this.registerModule('act', new nn.SiLU());
  }

  forward(x: Tensor): Tensor {
    return x.add(this.child<nn.SiLU>('act').forward(this.child<nn.Sequential>('mlp').forward<Tensor>(x)));
  }
}

export class TinyMLP extends nn.Module {
  constructor() {
    super();
    this.registerModule('embed', new nn.Embedding(12, 8, { paddingIdx: 0 }));
    this.registerModule('norm_in', new nn.LayerNorm(8));
    this.registerModule('blocks', new nn.ModuleList([new Block(8, 16), new Block(8, 16)]));
    const gain = torch.linspace(0.5, 1.5, 8);
    this.registerModule('scales', new nn.ParameterDict({ gain: new nn.Parameter(gain) }));
    gain.dispose();
    this.registerModule('norm_out', new nn.RMSNorm(8, { eps: 1e-6 }));
    this.registerModule('heads', new nn.ModuleDict({ cls: new nn.Linear(8, 3), aux: new nn.Linear(8, 2, { bias: false }) }));
    this.registerBuffer('pos', torch.scope(() => torch.arange(6, undefined, 1, { dtype: 'float32' }).div(6)));
    this.registerBuffer('cache', torch.zeros([2]), false);
  }

  /** [cls logits (B, 3), aux (B, 2)] from token ids (B, 6). */
  forward(ids: Tensor): [Tensor, Tensor] {
    return torch.scope(() => {
      let x = this.child<nn.Embedding>('embed').forward(ids).add(this.buffer('pos').unsqueeze(1)); // (B, T, 8)
      x = this.child<nn.LayerNorm>('norm_in').forward(x);
      for (const block of this.child<nn.ModuleList>('blocks')) x = (block as Block).forward(x);
      x = this.child<nn.RMSNorm>('norm_out').forward(x).mul(this.child<nn.ParameterDict>('scales').get('gain'));
      const pooled = x.mean(1); // (B, 8)
      const heads = this.child<nn.ModuleDict>('heads');
      return [heads.get<nn.Linear>('cls').forward(pooled), heads.get<nn.Linear>('aux').forward(pooled)];
    });
  }
}

export function mlpLoss([cls, aux]: [Tensor, Tensor], labels: Tensor): Tensor {
  return torch.scope(() => F.crossEntropy(cls, labels).add(aux.pow(2).mean().mul(0.1)));
}

export class TinyConvNet extends nn.Module {
  constructor() {
    super();
    this.registerModule('features', new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(8, 8, 3, { stride: 2, groups: 2 }),
      new nn.Tanh(),
      new nn.Conv2d(8, 4, [2, 3], { padding: 'same', dilation: [1, 2] }),
      new nn.Sigmoid(),
    ));
    this.registerModule('identity', new nn.Identity());
    this.registerModule('classifier', new nn.Linear(64, 5));
  }

  /** Logits (B, 5) from images (B, 3, 9, 9). */
  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      const features = this.child<nn.Sequential>('features').forward<Tensor>(x); // (B, 4, 4, 4)
      return this.child<nn.Linear>('classifier').forward(this.child<nn.Identity>('identity').forward(features.flatten(1)));
    });
  }
}

export const convLoss = (logits: Tensor, labels: Tensor): Tensor => F.crossEntropy(logits, labels);

// ---- fixtures written by scripts/fixtures/nn_reference.py ----------------------------------------------

export interface TensorFixture {
  shape: number[];
  values: number[];
  dtype?: string;
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/nn/${name}`, import.meta.url), 'utf8')) as T;
}

export function fromFixture(t: TensorFixture): Tensor {
  const dtype = t.dtype === 'int64' ? 'int64' : 'float32';
  const data = dtype === 'int64' ? BigInt64Array.from(t.values.map(BigInt)) : Float32Array.from(t.values);
  return torch.tensor(data, { dtype, shape: t.shape });
}

/** Largest absolute difference between a tensor and fixture values. */
export function maxAbsDiff(actual: Tensor, expected: number[]): number {
  const values = actual.toArray() as Float32Array;
  if (values.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - expected[i]));
  return worst;
}
