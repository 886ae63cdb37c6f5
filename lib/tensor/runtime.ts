// Process-wide settings: seed, intra-op threads, versions, CUDA, NNPACK.
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

setNumThreads(defaultThreads());
if (!nnpack.isAvailable()) N.setNnpackEnabled(false);
