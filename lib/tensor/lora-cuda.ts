// Our optional CUDA LoRA kernels (native/cuda/, opened by native/lora_cuda_loader.cc): loaded once, at import, when
// the LibTorch in use has CUDA and the kernels library was built; the LoRA entry points then use them on CUDA tensors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { libtorchInfo, N } from '../binding.js';
import { findPackageRoot } from '../package-root.js';

/** Where the build puts our CUDA kernels library (only built against a CUDA LibTorch). */
export function cudaKernelsPath(buildDir: string): string {
  return join(buildDir, 'cuda', 'node_peft_cuda.so');
}

/**
 * Loads node_peft_cuda.so when CUDA is active and the library was built; returns whether the kernels are in use.
 * Without it (or on CPU tensors) the LoRA entry points run on ATen ops.
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
  const root = findPackageRoot();
  return root === null ? null : join(root, 'build');
}

function loadCudaKernelsAtStart(): boolean {
  if (!libtorchInfo().cuda) return false;
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
