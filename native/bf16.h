// bfloat16 matrix products on the CPU (bf16.cc): ATen's bf16 GEMM where the CPU has bf16 dot products, else the
// operands widened to float32 for sgemm and the product rounded back.
#pragma once
#include <ATen/ATen.h>

#include <optional>

#include "lora_kernels.h"

namespace np {

// Whether a bfloat16 CPU tensor's products take the widened (fp32 sgemm) path.
bool WidensBf16(const at::Tensor& t);

// x2d [T, in] W^T (+ bias) in W's dtype: widened for bf16 where that is the faster path, else BaseOutput.
at::Tensor LowPrecisionLinear(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias);

// at::linear, widened for bf16 where that is the faster path.
at::Tensor Linear(const at::Tensor& x, const at::Tensor& W, const std::optional<at::Tensor>& bias);

// PEFT's LoRA forward on a base in another dtype than the adapter (bf16/fp16 base, fp32 A/B): the base output
// rounded to its dtype, the low-rank term added in the adapter's dtype, the sum rounded to the base dtype.
bool MixedLoraApplies(const at::Tensor& x, const at::Tensor& W, const at::Tensor& A, const at::Tensor& B);
at::Tensor MixedLoraLinear(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias, const at::Tensor& A,
                           const at::Tensor& B, double scale);

// at::scaled_dot_product_attention, in float32 (cast back) for bf16 where products are widened.
at::Tensor Attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::optional<at::Tensor>& mask,
                     double dropout, bool causal, std::optional<double> scale, bool gqa);

}  // namespace np
