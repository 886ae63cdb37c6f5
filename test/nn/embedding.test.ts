// Embedding.
import { describe, expect, it } from 'vitest';
import { nn, torch } from '../../lib/index.js';

describe('Embedding', () => {
  it('has weight [numEmbeddings, embeddingDim] with the padding row zeroed (negative index counts from the end)', () => {
    const emb = new nn.Embedding(5, 3, { paddingIdx: -1 });
    expect(emb.paddingIdx).toBe(4);
    expect(emb.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([['weight', [5, 3]]]);
    const row = emb.weight.select(0, 4);
    expect([...row.toArray()]).toEqual([0, 0, 0]);
    row.dispose();
    emb.dispose();
  });

  it('looks up rows, and the padding row gets no gradient', () => {
    const emb = new nn.Embedding(4, 2, { paddingIdx: 0 });
    const ids = torch.tensor([[0, 2, 2]], { dtype: 'int64' });
    const out = emb.forward(ids);
    expect(out.shape).toEqual([1, 3, 2]);
    const loss = out.sum();
    loss.backward();
    const grad = emb.weight.grad;
    expect(grad?.toList()).toEqual([[0, 0], [0, 0], [2, 2], [0, 0]]);
    for (const t of [ids, out, loss, grad]) t?.dispose();
    emb.dispose();
  });

  it('names a bad paddingIdx', () => {
    expect(() => new nn.Embedding(3, 2, { paddingIdx: 3 })).toThrow(/Embedding: paddingIdx must be an integer within \[-3, 2\], got 3/);
    expect(() => new nn.Embedding(0.5, 2)).toThrow(/numEmbeddings must be a non-negative integer, got 0.5/);
  });
});
