// The logits processors against transformers' (fixed logits through each, and chained in generate's order), and
// the seeded draw.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { models, safetensors, torch } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';

const { applyRepetitionPenalty, applyTopK, applyTopP, chooseTokens, drawIndex, processLogits, resolveSampling, seededRandom } = models.sampling;
let golden: Record<string, torch.Tensor>;

beforeAll(async () => {
  golden = await safetensors.load(join(FIXTURES, 'generation/processors.safetensors'));
});

/** Same -inf positions and finite values within 1e-5. */
function expectScores(actual: torch.Tensor, expected: torch.Tensor): void {
  const a = Array.from(actual.toArray() as Float32Array);
  const e = Array.from(expected.toArray() as Float32Array);
  expect(a.map((v) => v === -Infinity)).toEqual(e.map((v) => v === -Infinity));
  const finite = (t: torch.Tensor): torch.Tensor => t.maskedFill(t.eq(-Infinity), 0);
  expect(maxAbsDiff(finite(actual), finite(expected))).toBeLessThan(1e-5);
}

describe('logits processors (transformers 5.17)', () => {
  it('repetition penalty divides positive and multiplies negative scores of seen ids, padding included', () => {
    expectScores(applyRepetitionPenalty(golden.logits, golden.input_ids, 1.3), golden['repetition_1.3']);
  });

  it('temperature divides the scores', () => {
    expectScores(processLogits(golden.logits, null, resolveSampling({ temperature: 0.7, topK: 0 })), golden['temperature_0.7']);
  });

  it.each([1, 5, 50])('top-k = %i keeps the k best', (k) => {
    expectScores(applyTopK(golden.logits, k), golden[`top_k_${k}`]);
  });

  it('top-k keeps every score tied with the k-th', () => {
    const k = golden.tie_k.item();
    const kept = applyTopK(golden.logits, k);
    expectScores(kept, golden.top_k_tie);
    expect(kept.select(0, 0).ne(-Infinity).sum().item()).toBe(k + 1);
  });

  it.each([0.3, 0.8, 0.95])('top-p = %f keeps the smallest set reaching p', (p) => {
    expectScores(applyTopP(golden.logits, p), golden[`top_p_${p}`]);
  });

  it("chains repetition penalty, temperature, top-k, top-p in generate's order", () => {
    const s = resolveSampling({ doSample: true, repetitionPenalty: 1.2, temperature: 0.8, topK: 10, topP: 0.9 });
    expectScores(processLogits(golden.logits, golden.input_ids, s), golden.chain);
  });

  it('greedy applies only the repetition penalty; sampling defaults to top-k 50 as transformers', () => {
    const greedy = resolveSampling({ repetitionPenalty: 1.3, temperature: 0.5, topK: 3, doSample: false });
    expectScores(processLogits(golden.logits, golden.input_ids, greedy), golden['repetition_1.3']);
    expect(resolveSampling({ doSample: true }).topK).toBe(50);
    expect(resolveSampling({ temperature: 0.7 }).doSample).toBe(true);
    expect(resolveSampling({ temperature: 0 }).doSample).toBe(false);
  });

  it('checks its options, naming the one that is wrong', () => {
    expect(() => resolveSampling({ temperature: -1 })).toThrow(/temperature must be a number >= 0, got -1/);
    expect(() => resolveSampling({ topP: 1.5 })).toThrow(/topP must be in \(0, 1\], got 1.5/);
    expect(() => resolveSampling({ topK: -2 })).toThrow(/topK must be a non-negative integer, got -2/);
    expect(() => resolveSampling({ repetitionPenalty: 0 })).toThrow(/repetitionPenalty must be a number > 0, got 0/);
    expect(() => resolveSampling({ seed: 1.5 })).toThrow(/seed must be an integer, got 1.5/);
  });
});

describe('drawing tokens', () => {
  it('a seed gives the same draws; draws follow the probabilities', () => {
    const s = resolveSampling({ doSample: true, topK: 0, seed: 3 });
    const scores = torch.tensor([[0, Math.log(3), -Infinity, 0]], { dtype: 'float32' });
    const draw = (seed: number): number[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 2000 }, () => chooseTokens(scores, s, random)[0]);
    };
    const first = draw(3);
    expect(draw(3)).toEqual(first);
    expect(draw(4)).not.toEqual(first);
    const counts = [0, 1, 2, 3].map((id) => first.filter((t) => t === id).length / first.length);
    expect(counts[2]).toBe(0); // -inf is never drawn
    expect(counts[1]).toBeCloseTo(0.6, 1);
    expect(counts[0]).toBeCloseTo(0.2, 1);
  });

  it('never returns a zero-weight index, even when rounding leaves some of the total', () => {
    expect(drawIndex([0, 0.5, 0.5, 0], () => 0.999999999)).toBe(2);
    expect(() => drawIndex([0, 0], () => 0.5)).toThrow(/every token has probability 0/);
  });

  it('greedy picks the argmax of each row', () => {
    const scores = torch.tensor([[0, 3, 1], [5, 1, 2]], { dtype: 'float32' });
    expect(chooseTokens(scores, resolveSampling({}), seededRandom(0))).toEqual([1, 0]);
  });
});
