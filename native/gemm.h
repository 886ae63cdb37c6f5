// fp32 CPU Linear routed to the GEMM that TypeScript chose (lib/tensor/gemm.ts): MKL through at::linear/at::mm, or
// oneDNN with the frozen weight packed once into its preferred layout (cached per weight and version; see gemm.cc).
#pragma once
#include <ATen/ATen.h>
#include <optional>

namespace np {

// y = x W^T (+ bias) for x [..., in] and W [out, in], with autograd for x and bias; W frozen takes the chosen path.
at::Tensor RoutedLinear(const at::Tensor& x, const at::Tensor& W, const at::Tensor& bias);

// dx = g W for g [T, out] and W [out, in], no autograd (for backward functions).
at::Tensor RoutedGradInput(const at::Tensor& g2d, const at::Tensor& W);

}  // namespace np
