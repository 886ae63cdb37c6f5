// Process-wide settings: seed, intra-op threads, versions, CUDA, NNPACK, the bfloat16 GEMM path.
import { availableParallelism } from 'node:os';
import { addonInfo, libtorchInfo, N } from '../binding.js';
import { TorchError } from '../errors.js';

/** Seeds the default generator: randn after manualSeed(0) equals Python's after torch.manual_seed(0). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new TorchError(`manualSeed: expected a non-negative integer, got ${seed}`);
  N.manualSeed(seed);
}

export function getNumThreads(): number {
  return N.getNumThreads() as number;
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new TorchError(`setNumThreads: expected a positive integer, got ${n}`);
  N.setNumThreads(n);
}

/**
 * The default intra-op thread count: NODE_PEFT_THREADS if set, else one per core (measured on the 2-core
 * machine: 2 threads run the W1 matmuls 1.9x faster than 1; more threads than cores only add contention).
 */
export function defaultThreads(): number {
  const fromEnv = process.env.NODE_PEFT_THREADS?.trim();
  if (fromEnv) {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) throw new TorchError(`NODE_PEFT_THREADS must be a positive integer, got '${fromEnv}'`);
    return n;
  }
  return availableParallelism();
}

export function versions(): { libtorch: string; libtorchPath: string; node: string; napi: string } {
  const info = libtorchInfo();
  return { libtorch: N.torchVersion() as string, libtorchPath: info.libDir, node: process.versions.node, napi: process.versions.napi ?? '' };
}

/** Which addon binary and which LibTorch were loaded, and from where (for `node-peft doctor`). */
export function nativeInfo(): {
  binary: { kind: string; path: string; torch: string | null; glibcFloor: string | null };
  libtorch: { version: string; root: string; libDir: string; source: string; cuda: boolean };
} {
  const files = addonInfo();
  const info = libtorchInfo();
  return {
    binary: { kind: files.kind, path: files.addon, torch: files.manifest?.torch ?? null, glibcFloor: files.manifest?.glibc ?? null },
    libtorch: { version: N.torchVersion() as string, root: info.root, libDir: info.libDir, source: info.source, cuda: info.cuda },
  };
}

export const cuda = {
  isAvailable(): boolean {
    return N.cudaIsAvailable() as boolean;
  },
  deviceCount(): number {
    return N.cudaDeviceCount() as number;
  },
};

/**
 * NNPACK (one of ATen's conv2d paths) where the CPU supports it; where it does not, ATen would print "Could not
 * initialize NNPACK! Reason: Unsupported hardware." on every convolution, so it is turned off once at load.
 */
export const nnpack = {
  isAvailable(): boolean {
    return N.nnpackAvailable() as boolean;
  },
  isEnabled(): boolean {
    return N.nnpackEnabled() as boolean;
  },
};

export type Bf16GemmMode = 'auto' | 'bf16' | 'fp32';
const BF16_GEMM_MODES: readonly Bf16GemmMode[] = ['auto', 'bf16', 'fp32'];

/**
 * How bfloat16 matrix products (Linear, LoRA, attention) run on the CPU: 'bf16' = ATen's own bf16 GEMM (oneDNN), the
 * fast path where the CPU has bf16 dot products (AVX512_BF16, AMX); 'fp32' = operands widened to float32 for sgemm
 * and the product rounded back to bf16, ~4x faster than ATen's generic bf16 GEMM on CPUs without them (AVX2).
 * 'auto' (the default) picks by the CPU; NODE_PEFT_BF16_GEMM sets the mode at load. Returns the path in use.
 */
export function bf16Gemm(mode?: Bf16GemmMode): 'bf16' | 'fp32' {
  if (mode !== undefined && !BF16_GEMM_MODES.includes(mode)) {
    throw new TorchError(`bf16Gemm: expected one of ${BF16_GEMM_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
  return (mode === undefined ? N.bf16Gemm() : N.bf16Gemm(mode)) as 'bf16' | 'fp32';
}

/** Whether the CPU has bfloat16 dot-product instructions (AVX512_BF16 or AMX-BF16). */
export function cpuHasBf16Dot(): boolean {
  return N.cpuHasBf16Dot() as boolean;
}

function bf16GemmFromEnv(): void {
  const fromEnv = process.env.NODE_PEFT_BF16_GEMM?.trim();
  if (!fromEnv) return;
  if (!(BF16_GEMM_MODES as readonly string[]).includes(fromEnv)) {
    throw new TorchError(`NODE_PEFT_BF16_GEMM must be one of ${BF16_GEMM_MODES.join(', ')}, got '${fromEnv}'`);
  }
  bf16Gemm(fromEnv as Bf16GemmMode);
}

setNumThreads(defaultThreads());
bf16GemmFromEnv();
if (!nnpack.isAvailable()) N.setNnpackEnabled(false);
