// A small, generic fuzzer: a target is a function that takes bytes plus a seed corpus; mutants of the corpus are fed
// to it, and each call must return or throw an error the target calls a clean rejection (typed, naming the
// problem). Anything else — another error, a crash of the process, a leaked tensor, unbounded memory — is a
// finding, reported with the seed and the input (base64) to replay it. Add a target: write a FuzzTarget in
// test/fuzz/targets/ and list it in test/fuzz/targets/index.ts.
import { torch } from '../../lib/index.js';

export interface FuzzTarget {
  name: string;
  /** Valid and near-valid inputs to mutate. */
  corpus: () => Uint8Array[] | Promise<Uint8Array[]>;
  /** Parses one input; resolves or throws. */
  run: (input: Uint8Array) => unknown;
  /** True for an error that is a clean rejection (the right type, a message naming the problem). */
  isRejection: (error: unknown) => boolean;
  /** Extra mutators for this input kind (e.g. JSON-aware); the byte-level ones always apply. */
  mutators?: Mutator[];
  /** Cases relative to other targets: an expensive target runs count × weight cases (default 1). */
  weight?: number;
}

export type Mutator = (input: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]) => Uint8Array;

export interface Finding {
  case: number;
  /** The input, base64. */
  input: string;
  error: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  cases: number;
  accepted: number;
  rejected: number;
  /** Rejections by their first words, to see which checks the mutants reached. */
  rejections: Record<string, number>;
  findings: Finding[];
  /** Live tensors after the run minus before (must be 0: rejections free what they made). */
  leakedTensors: number;
  /** Resident memory growth over the run, MiB. */
  rssGrowthMiB: number;
  slowestCaseMs: number;
}

/** mulberry32: small, seeded, good enough to pick mutations. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Little-endian byte patterns that break length and offset fields: 0, 1, max, sign bits, just past 2^53. */
const INTERESTING_U64 = [0n, 1n, 7n, 8n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

function withBytes(input: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(input.length, at + bytes.length));
  out.set(input);
  out.set(bytes, at);
  return out;
}

export const BYTE_MUTATORS: Mutator[] = [
  (input, rng) => {
    if (input.length === 0) return input;
    const out = input.slice();
    const at = rng.int(out.length);
    out[at] ^= 1 << rng.int(8);
    return out;
  },
  (input, rng) => {
    if (input.length === 0) return input;
    const out = input.slice();
    out[rng.int(out.length)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x39, 0x2d]);
    return out;
  },
  (input, rng) => input.subarray(0, rng.int(input.length + 1)),
  (input, rng) => {
    const at = rng.int(input.length + 1);
    const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
    return Uint8Array.from([...input.subarray(0, at), ...extra, ...input.subarray(at)]);
  },
  (input, rng) => {
    const from = rng.int(input.length + 1);
    const to = from + rng.int(input.length - from + 1);
    return Uint8Array.from([...input.subarray(0, from), ...input.subarray(to)]);
  },
  (input, rng) => {
    const from = rng.int(input.length + 1);
    const to = from + rng.int(Math.min(64, input.length - from) + 1);
    const at = rng.int(input.length + 1);
    return Uint8Array.from([...input.subarray(0, at), ...input.subarray(from, to), ...input.subarray(at)]);
  },
  (input, rng) => {
    // an interesting 64-bit value at the start (safetensors' header length) or anywhere
    const value = rng.pick(INTERESTING_U64);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    return withBytes(input, rng.next() < 0.5 ? 0 : rng.int(Math.max(1, input.length)), bytes);
  },
  (input, rng, corpus) => {
    const other = rng.pick(corpus);
    const cut = rng.int(input.length + 1);
    return Uint8Array.from([...input.subarray(0, cut), ...other.subarray(rng.int(other.length + 1))]);
  },
];

/** Mutants are made of 1 to 4 stacked mutations of a corpus entry. */
export function mutate(corpus: readonly Uint8Array[], mutators: readonly Mutator[], rng: Rng): Uint8Array {
  let input = rng.pick(corpus);
  const rounds = 1 + rng.int(4);
  for (let k = 0; k < rounds; k += 1) input = rng.pick(mutators)(input, rng, corpus);
  return input;
}

function firstWords(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return message.replace(/\d+|"[^"]*"|'[^']*'|\[[^\]]*\]/g, '#').split(/\s+/).slice(0, 6).join(' ');
}

/** Runs `count` cases (the corpus itself first, then mutants) against the target. */
export async function fuzz(target: FuzzTarget, options: { count: number; seed: number; maxFindings?: number }): Promise<FuzzReport> {
  const corpus = await target.corpus();
  const mutators = [...BYTE_MUTATORS, ...(target.mutators ?? [])];
  const rng = new Rng(options.seed);
  const report: FuzzReport = {
    target: target.name, seed: options.seed, cases: 0, accepted: 0, rejected: 0, rejections: {}, findings: [], leakedTensors: 0, rssGrowthMiB: 0, slowestCaseMs: 0,
  };
  const liveBefore = torch.liveTensors();
  const rssBefore = process.memoryUsage().rss;
  for (let k = 0; k < options.count && report.findings.length < (options.maxFindings ?? 10); k += 1) {
    const input = k < corpus.length ? corpus[k] : mutate(corpus, mutators, rng);
    const started = performance.now();
    const liveAtStart = torch.liveTensors();
    const leakFinding = (): void => {
      const leaked = torch.liveTensors() - liveAtStart;
      if (leaked > 0) report.findings.push({ case: k, input: Buffer.from(input).toString('base64'), error: `left ${leaked} live tensor(s) behind` });
    };
    try {
      const result = target.run(input);
      if (result instanceof Promise) await result;
      report.accepted += 1;
      leakFinding();
    } catch (error) {
      leakFinding();
      if (target.isRejection(error)) {
        report.rejected += 1;
        const key = firstWords(error);
        report.rejections[key] = (report.rejections[key] ?? 0) + 1;
      } else {
        report.findings.push({ case: k, input: Buffer.from(input).toString('base64'), error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
    }
    report.slowestCaseMs = Math.max(report.slowestCaseMs, performance.now() - started);
    report.cases += 1;
  }
  report.leakedTensors = torch.liveTensors() - liveBefore;
  report.rssGrowthMiB = Math.round((process.memoryUsage().rss - rssBefore) / 2 ** 20);
  return report;
}

/** A JSON-aware mutator: parses the input, changes one node (type, size, depth, key) and writes it back. */
export const jsonMutator: Mutator = (input, rng) => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch {
    return input;
  }
  const replacements: unknown[] = [
    null, true, false, 0, -1, 1.5, -0.0001, 1e308, -1e308, 2 ** 53 + 2, 2 ** 31, 4294967296, 1e9, '', 'x', 'q_proj', '\u0000', '../../etc/passwd',
    [], [0], [[]], {}, { a: 1 }, 'a'.repeat(1000), Array.from({ length: 200 }, () => 1),
  ];
  const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach((child, k) => { nodes.push({ parent: node, key: k }); walk(child); });
    else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) { nodes.push({ parent: node as Record<string, unknown>, key }); walk(child); }
    }
  };
  walk(value);
  if (nodes.length === 0) return Buffer.from(JSON.stringify(rng.pick(replacements)));
  const { parent, key } = rng.pick(nodes);
  const slot = parent as Record<string | number, unknown>;
  const action = rng.int(8);
  if (action === 0 && !Array.isArray(parent)) delete slot[key];
  else if (action === 1 && !Array.isArray(parent)) slot[`unknown_${rng.int(100)}`] = rng.pick(replacements);
  else if (action === 2) slot[key] = nested(1 + rng.int(300));
  else if (action === 3 && Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key as number]));
  else if (action === 4 && Array.isArray(parent)) parent.splice(key as number, 1);
  else if (action === 5 && typeof slot[key] === 'number') slot[key] = rng.int(8) - 1;
  else if (action === 6 && typeof slot[key] === 'number') slot[key] = (slot[key] as number) + rng.pick([0.5, 1, -1, 1000]);
  else slot[key] = rng.pick(replacements);
  return Buffer.from(JSON.stringify(value));
};

/** For JSON inputs: mostly structural changes (byte-level ones mostly give unparsable text). */
export const JSON_MUTATORS: Mutator[] = Array.from({ length: 16 }, () => jsonMutator);

/** Fuzz counts: NODE_PEFT_FUZZ_COUNT (the long run) or the bounded default; NODE_PEFT_FUZZ_SEED. */
export function fuzzSettings(boundedCount: number): { count: number; seed: number; targets: string[] | null } {
  const count = Number(process.env.NODE_PEFT_FUZZ_COUNT ?? boundedCount);
  const seed = Number(process.env.NODE_PEFT_FUZZ_SEED ?? 1);
  const targets = process.env.NODE_PEFT_FUZZ_TARGETS ? process.env.NODE_PEFT_FUZZ_TARGETS.split(',') : null;
  return { count, seed, targets };
}
