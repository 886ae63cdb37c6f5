// Which fp32 GEMM Linear weights go through when no gradient is wanted for them (frozen, or under noGrad): MKL
// (at::linear) or oneDNN with the weight packed once per version into its preferred layout (native/gemm.cc).
// NODE_PEFT_GEMM=auto|mkl|onednn; auto measures both once per process, at the first Linear, and keeps MKL unless
// oneDNN is clearly faster on this CPU (MKL picks slow code paths on AMD's AVX-512; on Intel and on AVX2 it holds).
import { gemmNative } from '../binding.js';
import { TorchError } from '../errors.js';

export type GemmPath = 'mkl' | 'onednn';
export type GemmSetting = 'auto' | GemmPath;

export const GEMM_ENV = 'NODE_PEFT_GEMM';

/** The probe auto measures: a W1-like product (512 rows, hidden 512 -> MLP 1376), best of a few calls per path. */
export const GEMM_PROBE = { m: 512, k: 512, n: 1376, rounds: 5 } as const;
/** oneDNN must beat MKL by this factor to be chosen (ties keep MKL's long-standing results). */
const ONEDNN_MARGIN = 0.95;
/**
 * Products with fewer rows than this stay on MKL whatever the choice (decode steps and other GEMV-like calls: memory
 * bound, where the packed layout gains nothing).
 */
export const GEMM_MIN_ROWS = 16;
/** The row count weights are packed for (0: the rows of the first product that uses the weight). */
export const GEMM_PACK_ROWS = 0;

export interface GemmRates {
  /** GFLOP/s, best call; null when this LibTorch has no oneDNN. */
  mkl: number;
  onednn: number | null;
}

export interface GemmChoice {
  path: GemmPath;
  setting: GemmSetting;
  /** 'env': NODE_PEFT_GEMM named the path; 'measured': auto's probe; 'only': auto without oneDNN; 'set': setGemmPath. */
  reason: 'env' | 'measured' | 'only' | 'set';
  /** auto's probe (GEMM_PROBE), when it ran. */
  probe: GemmRates | null;
}

let choice: GemmChoice | null = null;

/**
 * oneDNN keeps a compiled kernel per product shape, in its primitive cache and in ideep's, 1024 entries each by
 * default: measured with varying batch shapes (600 shapes of 3 weights), RSS grew by 380 MB; with 16 entries each, by
 * 16 MB, at no measurable cost (a new kernel takes far less time than the product it serves). Read by LibTorch at its
 * first oneDNN call, after this module loads; a value the user set is kept.
 */
export const ONEDNN_CACHE_ENV = { ONEDNN_PRIMITIVE_CACHE_CAPACITY: '16', LRU_CACHE_CAPACITY: '16' } as const;
for (const [name, value] of Object.entries(ONEDNN_CACHE_ENV)) process.env[name] ??= value;

/** A NODE_PEFT_GEMM value, checked (unset or empty = auto). */
export function gemmSetting(value: string | undefined): GemmSetting {
  const v = value?.trim().toLowerCase() ?? '';
  if (v === '') return 'auto';
  if (v === 'auto' || v === 'mkl' || v === 'onednn') return v;
  throw new TorchError(`${GEMM_ENV} must be 'auto', 'mkl' or 'onednn', got '${value}'`);
}

/** GFLOP/s of an [m, k] x [k, n] product on each path, calls interleaved, best of `rounds`. */
export function measureGemm(m: number, k: number, n: number, rounds = 5): GemmRates {
  const [mklNs, onednnNs] = gemmNative.gemmCompare(m, k, n, rounds);
  const flop = 2 * m * k * n;
  return { mkl: flop / mklNs, onednn: onednnNs < 0 ? null : flop / onednnNs };
}

function decide(setting: GemmSetting): GemmChoice {
  if (setting !== 'auto') {
    if (setting === 'onednn' && !gemmNative.gemmHasOnednn()) {
      throw new TorchError(`${GEMM_ENV}=onednn, but this LibTorch was built without oneDNN (use 'mkl' or 'auto')`);
    }
    return { path: setting, setting, reason: 'env', probe: null };
  }
  if (!gemmNative.gemmHasOnednn()) return { path: 'mkl', setting, reason: 'only', probe: null };
  const probe = measureGemm(GEMM_PROBE.m, GEMM_PROBE.k, GEMM_PROBE.n, GEMM_PROBE.rounds);
  const faster = probe.onednn !== null && probe.mkl / probe.onednn < ONEDNN_MARGIN;
  return { path: faster ? 'onednn' : 'mkl', setting, reason: 'measured', probe };
}

/** The path in use, chosen at the first call (NODE_PEFT_GEMM, or auto's measurement). */
export function gemmChoice(): GemmChoice {
  if (choice === null) {
    const decided = decide(gemmSetting(process.env[GEMM_ENV]));
    gemmNative.gemmSetPath(decided.path, GEMM_MIN_ROWS, GEMM_PACK_ROWS);
    choice = decided;
  }
  return choice;
}

/** Called before every Linear: makes the choice once. */
export function ensureGemmChosen(): void {
  if (choice === null) gemmChoice();
}

/** Routes frozen Linears through `path` from now on, whatever NODE_PEFT_GEMM said (benchmarks, tests). */
export function setGemmPath(path: GemmPath): void {
  if (path !== 'mkl' && path !== 'onednn') throw new TorchError(`setGemmPath: path must be 'mkl' or 'onednn', got '${String(path)}'`);
  if (path === 'onednn' && !gemmNative.gemmHasOnednn()) throw new TorchError('setGemmPath: this LibTorch was built without oneDNN');
  gemmNative.gemmSetPath(path, GEMM_MIN_ROWS, GEMM_PACK_ROWS);
  choice = { path, setting: path, reason: 'set', probe: choice?.probe ?? null };
}

export interface GemmCacheStats {
  /** oneDNN-packed copies of frozen weights (and of their transposes, for backward) held now. */
  packedWeights: number;
  bytes: number;
  /** Weights packed so far (a weight changed in place is packed again). */
  packs: number;
  hits: number;
}

/** The packed-weight cache's counters (copies of weights that are gone are dropped first). */
export function gemmCacheStats(): GemmCacheStats {
  const [packedWeights, bytes, packs, hits] = gemmNative.gemmCacheStats();
  return { packedWeights, bytes, packs, hits };
}

/** Drops every packed copy (each is packed again at its weight's next use). */
export function clearGemmCache(): void {
  gemmNative.gemmCacheClear();
}
