// Typed wrappers over the optimised LoRA entry points: the fused in-place linear (native/lora_fused.cc), the grouped
// mixed-adapter product (native/lora_grouped.cc) and the optional CUDA kernels (native/cuda/, lora_cuda_loader.cc).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libtorchInfo, N } from '../binding.js';
import { TorchError } from '../errors.js';
import type { LowRankTerm } from './lora.js';
import { type Tensor, wrap } from './tensor.js';

function checkTerms(terms: readonly LowRankTerm[], where: string): void {
  terms.forEach((t, i) => {
    if (typeof t.scale !== 'number' || !Number.isFinite(t.scale)) {
      throw new TorchError(`${where}: terms[${i}].scale must be a finite number, got ${String(t.scale)}`);
    }
  });
}

/**
 * linear(x, W, bias) + Σ scale·B(A(dropout(x))), as loraLinear, with each low-rank product added into the base
 * output in place and, for one adapter without dropout under autograd, a backward that accumulates dx in place.
 */
export function loraLinearFused(x: Tensor, weight: Tensor, bias: Tensor | null, terms: readonly LowRankTerm[],
  training: boolean, fanInFanOut = false): Tensor {
  checkTerms(terms, 'loraLinearFused');
  return wrap(N.loraLinearFused(x.handle, weight.handle, bias?.handle ?? null, terms.map((t) => t.A.handle),
    terms.map((t) => t.B.handle), terms.map((t) => t.scale), terms.map((t) => t.dropout ?? 0), training, fanInFanOut));
}

/**
 * A mixed-adapter batch: linear(x, W, bias) for every row, plus terms[rowAdapter[row]] on each batch row
 * (rowAdapter[row] = -1: the base model only). One low-rank product per adapter group; no dropout.
 */
export function loraLinearGrouped(x: Tensor, weight: Tensor, bias: Tensor | null, terms: readonly LowRankTerm[],
  rowAdapter: readonly number[], fanInFanOut = false): Tensor {
  checkTerms(terms, 'loraLinearGrouped');
  if (x.ndim < 2 || rowAdapter.length !== x.shape[0]) {
    throw new TorchError(`loraLinearGrouped: rowAdapter must have one entry per batch row (${x.shape[0]}), got ${rowAdapter.length}`);
  }
  rowAdapter.forEach((a, row) => {
    if (!Number.isInteger(a) || a < -1 || a >= terms.length) {
      throw new TorchError(`loraLinearGrouped: rowAdapter[${row}] must be -1 or an index below ${terms.length}, got ${a}`);
    }
  });
  return wrap(N.loraLinearGrouped(x.handle, weight.handle, bias?.handle ?? null, terms.map((t) => t.A.handle),
    terms.map((t) => t.B.handle), terms.map((t) => t.scale), [...rowAdapter], fanInFanOut));
}

/** Where the build puts our CUDA kernels library (only built against a CUDA LibTorch). */
export function cudaKernelsPath(buildDir: string): string {
  return join(buildDir, 'cuda', 'node_peft_cuda.so');
}

/**
 * Loads node_peft_cuda.so when CUDA is active and the library was built; returns whether the kernels are in use.
 * Without it (or on CPU tensors) the fused and grouped entry points run on ATen ops.
 */
export function loadCudaKernels(buildDir: string): boolean {
  if (N.loraCudaLoaded() as boolean) return true;
  const info = libtorchInfo();
  if (!info.cuda || process.env.NODE_PEFT_DEVICE === 'cpu' || !(N.cudaIsAvailable() as boolean)) return false;
  const path = cudaKernelsPath(buildDir);
  if (!existsSync(path)) return false;
  return N.loraCudaLoad(path) as boolean;
}

function packageBuildDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'node-peft') return join(dir, 'build');
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function loadCudaKernelsAtStart(): boolean {
  const build = packageBuildDir();
  if (build === null) return false;
  try {
    return loadCudaKernels(build);
  } catch (error) {
    process.emitWarning(`node-peft: CUDA LoRA kernels not used (${(error as Error).message}); LoRA runs on ATen ops`);
    return false;
  }
}

/** Whether our CUDA LoRA kernels were loaded (only with a CUDA LibTorch, CUDA active and the library built). */
export const cudaKernelsActive: boolean = loadCudaKernelsAtStart();
