// Our optional CUDA LoRA kernels (native/cuda/, opened by native/lora_cuda_loader.cc): loaded once, at import, when
// the LibTorch in use has CUDA and the kernels library was built; the LoRA entry points then use them on CUDA tensors.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libtorchInfo, N } from '../binding.js';

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
