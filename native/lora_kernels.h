// The low-rank update shared by the LoRA entry points, and the optional CUDA LoRA kernels (native/cuda/*.cu, built
// into node_peft_cuda.so only against a CUDA LibTorch). The main addon links no CUDA library: it opens that library
// by path at run time (loraCudaLoad) and calls these C entry points; until then, and for every CPU tensor, LoRA runs
// on ATen ops.
#pragma once
#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

#include "gemm.h"

namespace np {

// Element types the kernels are built for (the codes are part of the C ABI below).
enum LoraKernelDtype : int32_t { kLoraF32 = 0, kLoraF16 = 1, kLoraBF16 = 2 };

// y[T, out] += scale * (x[T, in] @ A[r, in]^T) @ B[out, r]^T; all row-major and contiguous on one device;
// h is a float32 workspace [T, r]. Returns a cudaError_t (0 = success).
using LoraLowRankAddFn = int32_t (*)(int32_t dtype, const void* x, const void* A, const void* B, void* y, float* h,
                                     int64_t T, int64_t in, int64_t r, int64_t out, float scale);

// The grouped (SGMV-style) form: token t belongs to batch row t / seqLen, which uses adapter rowAdapter[row]
// (-1 = none). As[a] [r, in] and Bs[a] [out, r] are device pointers held in device arrays; scales[a] per adapter.
using LoraGroupedLowRankAddFn = int32_t (*)(int32_t dtype, const void* x, const void* const* As, const void* const* Bs,
                                            const float* scales, const int32_t* rowAdapter, int64_t seqLen, void* y,
                                            float* h, int64_t T, int64_t in, int64_t r, int64_t out);

struct LoraCudaKernels {
  LoraLowRankAddFn lowRankAdd = nullptr;
  LoraGroupedLowRankAddFn groupedLowRankAdd = nullptr;
};

// y2d [T, out] += scale * B(A(xl)) in place (xl [T, in]), with our CUDA kernel when it applies, else two GEMMs
// (the second accumulated into y2d); in A's dtype when it differs from y2d's, added back in y2d's dtype. y2d may be
// a row range (narrow) of a larger output. Defined in lora.cc.
void AddLowRank(at::Tensor& y2d, const at::Tensor& xl, const at::Tensor& A, const at::Tensor& B, double scale);

// The base weight in [out, in] layout (GPT-2 Conv1D stores [in, out]: fan_in_fan_out).
inline at::Tensor OutIn(const at::Tensor& weight, bool fanInFanOut) { return fanInFanOut ? weight.t() : weight; }

// base(x) for x [T, in] and W [out, in]: a fresh [T, out] tensor the low-rank terms may be added into, on the chosen
// GEMM path (gemm.h; with autograd for x and bias when W is frozen).
inline at::Tensor BaseOutput(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias) {
  return RoutedLinear(x2d, W, bias);
}

// x's shape with the last dim replaced by out.
inline std::vector<int64_t> OutShape(const at::Tensor& x, int64_t out) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  return shape;
}

// The loaded kernels, or nullptr before loraCudaLoad succeeded.
const LoraCudaKernels* CudaKernels();

// The kernel dtype code for t, or -1 when the kernels do not cover it.
int32_t KernelDtype(const at::Tensor& t);

}  // namespace np
