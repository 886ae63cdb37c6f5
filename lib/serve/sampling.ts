// Choosing each sequence's next token from its logits row: greedy (argmax, done on the batch in torch) or
// sampled with temperature and top-p from a per-request seeded generator, so a seeded request draws the same
// tokens however it is batched. Kept in this one file so it can give way to lib/models' sampling helpers.

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus: sample among the most likely tokens whose probabilities sum to top_p (1 = all). */
  topP: number;
  /** Sample among the k most likely tokens only (0 = all). */
  topK?: number;
  /** Seeds this request's generator; null = a random seed. */
  seed: number | null;
}

/** A small, fast, seedable generator (mulberry32) of uniform numbers in [0, 1). */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = (Math.floor(seed) ^ Math.floor(seed / 2 ** 32)) >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export function randomFor(params: SamplingParams): SeededRandom {
  return new SeededRandom(params.seed ?? Math.floor(Math.random() * 2 ** 32));
}

/** A token drawn from softmax(logits / temperature), restricted to the top-p nucleus. */
export function sampleToken(logits: ArrayLike<number>, params: SamplingParams, random: SeededRandom): number {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp((logits[i] - max) / params.temperature);
    probs[i] = p;
    sum += p;
  }
  let candidates: number[];
  const topK = params.topK ?? 0;
  if (params.topP < 1 || (topK > 0 && topK < n)) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
    if (topK > 0 && topK < n) order.length = topK;
    const kept = order.reduce((s, i) => s + probs[i], 0);
    candidates = [];
    let mass = 0;
    for (const i of order) {
      candidates.push(i);
      mass += probs[i] / kept;
      if (mass >= params.topP) break;
    }
    sum = candidates.reduce((s, i) => s + probs[i], 0);
  } else {
    candidates = Array.from({ length: n }, (_, i) => i);
  }
  let u = random.next() * sum;
  for (const i of candidates) {
    u -= probs[i];
    if (u < 0) return i;
  }
  return candidates[candidates.length - 1];
}
