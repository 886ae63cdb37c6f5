// bfloat16 matrix products on the CPU. Where the CPU has bf16 dot-product instructions (AVX512_BF16, AMX) ATen's own
// bf16 GEMM (oneDNN) is the fast path. Without them ATen falls back to a generic bf16 GEMM that ran ~4x slower than
// fp32 sgemm here (AVX2 EPYC), so the "widen" path converts the operands to float32, multiplies with sgemm and rounds
// the product back to bfloat16: the same fp32 accumulation, another summation order. The mode is chosen once
// (auto: widen unless the CPU has bf16 dot products) and can be forced from TypeScript (NODE_PEFT_BF16_GEMM).
#include <ATen/cpu/Utils.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>

#include "bf16.h"
#include "gemm.h"
#include "convert.h"
#include "registry.h"

namespace np {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool CpuHasBf16Dot() {
  static const bool has = [] {
    auto caps = at::cpu::get_cpu_capabilities();
    auto flag = [&](const char* key) {
      auto it = caps.find(key);
      return it != caps.end() && it->second.isBool() && it->second.toBool();
    };
    return flag("avx512_bf16") || flag("amx_bf16");
  }();
  return has;
}

// 1 = widen to fp32, 0 = ATen's bf16 GEMM; -1 = not chosen yet (auto).
std::atomic<int> gWiden{-1};

bool WidenMode() {
  int mode = gWiden.load(std::memory_order_relaxed);
  if (mode < 0) {
    mode = CpuHasBf16Dot() ? 0 : 1;
    gWiden.store(mode, std::memory_order_relaxed);
  }
  return mode == 1;
}

at::Tensor Widened(const at::Tensor& t) { return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat); }

// y = x W^T (+ bias) for x [T, in], W [out, in] in bfloat16 through fp32 sgemm; backward likewise.
struct WidenedLinearFn : public torch::autograd::Function<WidenedLinearFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x2d, const at::Tensor& W,
                            const std::optional<at::Tensor>& bias) {
    at::Tensor xf = Widened(x2d), Wf = Widened(W);
    at::Tensor y = bias ? at::addmm(Widened(*bias), xf, Wf.t()) : at::mm(xf, Wf.t());
    ctx->save_for_backward({x2d, W});
    ctx->saved_data["hasBias"] = bias.has_value();
    return y.to(x2d.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x2d = saved[0], &W = saved[1];
    at::Tensor gf = Widened(grads[0]);
    at::Tensor dx, dW, dbias;
    if (ctx->needs_input_grad(0)) dx = at::mm(gf, Widened(W)).to(x2d.scalar_type());
    if (ctx->needs_input_grad(1)) dW = at::mm(gf.t(), Widened(x2d)).to(W.scalar_type());
    if (ctx->saved_data["hasBias"].toBool() && ctx->needs_input_grad(2)) dbias = gf.sum(0).to(grads[0].scalar_type());
    return {dx, dW, dbias};
  }
};

// PEFT's LoRA Linear on a low-precision base with float32 adapters, one adapter, no dropout, autograd on:
// y = (round(base(x)) + s * B(A(float(x)))) rounded to the base dtype; A, B and their gradients stay float32.
struct MixedLoraLinearFn : public torch::autograd::Function<MixedLoraLinearFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x2d, const at::Tensor& W,
                            const std::optional<at::Tensor>& bias, const at::Tensor& A, const at::Tensor& B, double scale) {
    at::Tensor y = LowPrecisionLinear(x2d, W, bias.value_or(at::Tensor())).to(A.scalar_type());
    at::Tensor h = at::mm(x2d.to(A.scalar_type()), A.t());
    y.addmm_(h, B.t(), 1.0, scale);
    ctx->save_for_backward({x2d, W, A, B, h});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["hasBias"] = bias.has_value();
    return y.to(x2d.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x2d = saved[0], &W = saved[1], &A = saved[2], &B = saved[3], &h = saved[4];
    double scale = ctx->saved_data["scale"].toDouble();
    size_t lora = ctx->saved_data["hasBias"].toBool() ? 3 : 2;
    at::Tensor g = grads[0].to(A.scalar_type());
    at::Tensor dh = at::mm(g, B).mul_(scale);
    at::Tensor dx, dW, dbias, dA, dB;
    if (ctx->needs_input_grad(0)) {
      at::Tensor base = WidensBf16(W) ? at::mm(g, Widened(W)) : at::mm(grads[0], W).to(A.scalar_type());
      dx = base.addmm_(dh, A).to(x2d.scalar_type());
    }
    if (ctx->needs_input_grad(1)) dW = at::mm(g.t(), x2d.to(A.scalar_type())).to(W.scalar_type());
    if (lora == 3 && ctx->needs_input_grad(2)) dbias = g.sum(0).to(W.scalar_type());
    if (ctx->needs_input_grad(lora)) dA = at::mm(dh.t(), x2d.to(A.scalar_type()));
    if (ctx->needs_input_grad(lora + 1)) dB = at::mm(g.t(), h).mul_(scale);
    return {dx, dW, dbias, dA, dB, at::Tensor()};
  }
};
}  // namespace

bool WidensBf16(const at::Tensor& t) {
  return t.defined() && t.scalar_type() == at::kBFloat16 && t.device().is_cpu() && WidenMode();
}

at::Tensor LowPrecisionLinear(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias) {
  if (!WidensBf16(W) || x2d.scalar_type() != W.scalar_type()) return BaseOutput(x2d, W, bias);
  std::optional<at::Tensor> optBias = bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt;
  return WidenedLinearFn::apply(x2d, W, optBias);
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& W, const std::optional<at::Tensor>& bias) {
  if (!WidensBf16(W) || x.scalar_type() != W.scalar_type() || x.dim() == 0 || W.dim() != 2) {
    return RoutedLinear(x, W, bias.value_or(at::Tensor()));
  }
  at::Tensor x2d = x.reshape({-1, x.size(-1)});
  return WidenedLinearFn::apply(x2d, W, bias).view(OutShape(x, W.size(0)));
}

bool MixedLoraApplies(const at::Tensor& x, const at::Tensor& W, const at::Tensor& A, const at::Tensor& B) {
  return x.scalar_type() == W.scalar_type() && A.scalar_type() == B.scalar_type() && A.scalar_type() != W.scalar_type() &&
         x.device().is_cpu();
}

at::Tensor MixedLoraLinear(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias, const at::Tensor& A,
                           const at::Tensor& B, double scale) {
  std::optional<at::Tensor> optBias = bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt;
  return MixedLoraLinearFn::apply(x2d, W, optBias, A, B, scale);
}

at::Tensor Attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::optional<at::Tensor>& mask,
                     double dropout, bool causal, std::optional<double> scale, bool gqa) {
  if (!WidensBf16(q)) return at::scaled_dot_product_attention(q, k, v, mask, dropout, causal, scale, gqa);
  std::optional<at::Tensor> maskF = mask && mask->is_floating_point() ? std::optional<at::Tensor>(Widened(*mask)) : mask;
  return at::scaled_dot_product_attention(Widened(q), Widened(k), Widened(v), maskF, dropout, causal, scale, gqa)
      .to(q.scalar_type());
}

void RegisterBf16(Napi::Env env, Napi::Object exports) {
  // bf16Gemm(mode?: 'auto' | 'bf16' | 'fp32') -> the path bfloat16 matrix products take now ('bf16' = ATen's own,
  // 'fp32' = widened to float32); cpuHasBf16Dot() -> whether the CPU has AVX512_BF16 / AMX bf16 instructions.
  Def(env, exports, "bf16Gemm", [](Args& a) {
    if (a.Has(0)) {
      std::string mode = a.String(0);
      if (mode == "auto") gWiden.store(CpuHasBf16Dot() ? 0 : 1);
      else if (mode == "bf16") gWiden.store(0);
      else if (mode == "fp32") gWiden.store(1);
      else throw std::invalid_argument("bf16Gemm: mode must be 'auto', 'bf16' or 'fp32', got '" + mode + "'");
    }
    return std::string(WidenMode() ? "fp32" : "bf16");
  });
  Def(env, exports, "cpuHasBf16Dot", [](Args& a) { return CpuHasBf16Dot(); });
}

}  // namespace np
