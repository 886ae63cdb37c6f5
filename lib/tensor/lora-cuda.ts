// Our optional CUDA LoRA kernels (native/cuda/, opened by native/lora_cuda_loader.cc): loaded once, at import, when
// the LibTorch in use has CUDA and the kernels library was built (build/cuda/, or beside a prebuilt binary); the LoRA
// entry points then use them on CUDA tensors.
import { existsSync } from 'node:fs';
import { addonInfo, libtorchInfo, N } from '../binding.js';

/**
 * Loads node_peft_cuda.so (at `path`) when CUDA is active; returns whether the kernels are in use.
 * Without it (or on CPU tensors) the LoRA entry points run on ATen ops.
 */
export function loadCudaKernels(path: string | null): boolean {
  if (N.loraCudaLoaded() as boolean) return true;
  const info = libtorchInfo();
  if (!info.cuda || process.env.NODE_PEFT_DEVICE === 'cpu' || !(N.cudaIsAvailable() as boolean)) return false;
  if (path === null || !existsSync(path)) return false;
  return N.loraCudaLoad(path) as boolean;
}

function loadCudaKernelsAtStart(): boolean {
  if (!libtorchInfo().cuda) return false;
  try {
    return loadCudaKernels(addonInfo().cudaKernels);
  } catch (error) {
    process.emitWarning(`node-peft: CUDA LoRA kernels not used (${(error as Error).message}); LoRA runs on ATen ops`);
    return false;
  }
}

/** Whether our CUDA LoRA kernels were loaded (only with a CUDA LibTorch, CUDA active and the library built). */
export const cudaKernelsActive: boolean = loadCudaKernelsAtStart();
