// LoRA entry points, one native call per adapted layer: the LoRA linear (low-rank products added into the base output
// in place, with a custom backward for the common training case), DoRA, the merge delta and the SVD of weighted
// adapters. Mixed-adapter batches are in lora_grouped.cc.
#include <torch/csrc/autograd/custom_function.h>

#include "bf16.h"
#include "convert.h"
#include "lora_kernels.h"
#include "registry.h"

namespace np {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool KernelApplies(const at::Tensor& y, const at::Tensor& x, const at::Tensor& A, const at::Tensor& B) {
  if (!y.is_cuda() || CudaKernels() == nullptr || c10::GradMode::is_enabled()) return false;
  int32_t code = KernelDtype(y);
  return code >= 0 && x.scalar_type() == y.scalar_type() && A.scalar_type() == y.scalar_type() &&
         B.scalar_type() == y.scalar_type() && x.is_contiguous() && A.is_contiguous() && B.is_contiguous() &&
         y.is_contiguous();
}

}  // namespace

void AddLowRank(at::Tensor& y2d, const at::Tensor& xl, const at::Tensor& A, const at::Tensor& B, double scale) {
  if (KernelApplies(y2d, xl, A, B)) {
    at::Tensor h = at::empty({xl.size(0), A.size(0)}, y2d.options().dtype(at::kFloat));
    int32_t status = CudaKernels()->lowRankAdd(KernelDtype(y2d), xl.data_ptr(), A.data_ptr(), B.data_ptr(), y2d.data_ptr(),
                                               h.data_ptr<float>(), xl.size(0), xl.size(1), A.size(0), B.size(0),
                                               static_cast<float>(scale));
    if (status != 0) throw std::runtime_error("loraLinear: CUDA kernel failed with error " + std::to_string(status));
    return;
  }
  at::Tensor h = at::mm(xl.scalar_type() == A.scalar_type() ? xl : xl.to(A.scalar_type()), A.t());
  if (B.scalar_type() == y2d.scalar_type()) {
    y2d.addmm_(h, B.t(), 1.0, scale);
  } else {  // as PEFT: the sum in the adapter's dtype, rounded once to the base's
    y2d.copy_(y2d.to(B.scalar_type()).addmm_(h, B.t(), 1.0, scale));
  }
}

namespace {
// One adapter, no dropout, autograd on: forward saves x, W, A, B and the small h = x A^T; backward computes
// dx = g W + (s g B) A with the second product accumulated into the first in place.
struct LoraLinearFn : public torch::autograd::Function<LoraLinearFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x2d, const at::Tensor& W,
                            const std::optional<at::Tensor>& bias, const at::Tensor& A, const at::Tensor& B, double scale) {
    at::Tensor y = BaseOutput(x2d, W, bias.value_or(at::Tensor()));
    at::Tensor h = at::mm(x2d, A.t());
    y.addmm_(h, B.t(), 1.0, scale);
    ctx->save_for_backward({x2d, W, A, B, h});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["hasBias"] = bias.has_value();
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x2d = saved[0], &W = saved[1], &A = saved[2], &B = saved[3], &h = saved[4];
    double scale = ctx->saved_data["scale"].toDouble();
    // needs_input_grad counts tensor inputs only: an absent bias shifts A and B down by one.
    size_t lora = ctx->saved_data["hasBias"].toBool() ? 3 : 2;
    const at::Tensor& g = grads[0];
    at::Tensor dh = at::mm(g, B).mul_(scale);  // [T, r]
    at::Tensor dx, dW, dbias, dA, dB;
    if (ctx->needs_input_grad(0)) {
      dx = RoutedGradInput(g, W);
      dx.addmm_(dh, A);
    }
    if (ctx->needs_input_grad(1)) dW = at::mm(g.t(), x2d);
    if (lora == 3 && ctx->needs_input_grad(2)) dbias = g.sum(0);
    if (ctx->needs_input_grad(lora)) dA = at::mm(dh.t(), x2d);
    if (ctx->needs_input_grad(lora + 1)) dB = at::mm(g.t(), h).mul_(scale);
    return {dx, dW, dbias, dA, dB, at::Tensor()};
  }
};

bool NeedsGrad(const at::Tensor& t) { return t.defined() && t.requires_grad(); }

at::Tensor LoraLinear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                      const std::vector<at::Tensor>& As, const std::vector<at::Tensor>& Bs,
                      const std::vector<double>& scales, const std::vector<double>& ps, bool training, bool fanInFanOut) {
  if (As.size() != Bs.size() || As.size() != scales.size()) {
    throw std::invalid_argument("loraLinear: As, Bs and scales must have the same length");
  }
  at::Tensor W = OutIn(weight, fanInFanOut);
  int64_t in = W.size(1), out = W.size(0);
  if (x.dim() == 0 || x.size(-1) != in) {
    throw std::invalid_argument("loraLinear: x's last dimension must be " + std::to_string(in));
  }
  at::Tensor x2d = x.reshape({-1, in});
  bool anyDropout = false;
  for (size_t i = 0; i < ps.size() && i < As.size(); ++i) anyDropout |= training && ps[i] > 0;
  bool grad = c10::GradMode::is_enabled() &&
              (NeedsGrad(x) || NeedsGrad(weight) || NeedsGrad(bias) ||
               std::any_of(As.begin(), As.end(), NeedsGrad) || std::any_of(Bs.begin(), Bs.end(), NeedsGrad));
  bool oneDtype = As.size() == 1 && As[0].scalar_type() == x.scalar_type() && Bs[0].scalar_type() == x.scalar_type() &&
                  W.scalar_type() == x.scalar_type();
  if (grad && As.size() == 1 && !anyDropout && oneDtype) {
    std::optional<at::Tensor> optBias = bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt;
    return LoraLinearFn::apply(x2d, W, optBias, As[0], Bs[0], scales[0]).view(OutShape(x, out));
  }
  if (grad && As.size() == 1 && !anyDropout && MixedLoraApplies(x, W, As[0], Bs[0])) {
    return MixedLoraLinear(x2d, W, bias, As[0], Bs[0], scales[0]).view(OutShape(x, out));
  }
  at::Tensor y2d = LowPrecisionLinear(x2d, W, bias);
  for (size_t i = 0; i < As.size(); ++i) {
    double p = i < ps.size() ? ps[i] : 0.0;
    at::Tensor xl = (p > 0 && training) ? at::dropout(x2d, p, true) : x2d;
    AddLowRank(y2d, xl, As[i], Bs[i], scales[i]);
  }
  return y2d.view(OutShape(x, out));
}
}  // namespace

void RegisterLora(Napi::Env env, Napi::Object exports) {
  // loraLinear(x, weight, bias?, As[], Bs[], scales[], dropoutPs[], training, fanInFanOut)
  //   -> linear(x) + sum_i scales[i] * B_i(A_i(dropout_i(x)))   (each adapter draws its own dropout mask)
  Def(env, exports, "loraLinear", [](Args& a) {
    std::optional<at::Tensor> bias = a.OptTensor(2);
    return LoraLinear(a.Tensor(0), a.Tensor(1), bias.value_or(at::Tensor()), a.Tensors(3), a.Tensors(4), a.Numbers(5),
                      a.Numbers(6), a.Bool(7), a.Bool(8));
  });

  // doraLinear(x, y, weight, bias?, A, B, scale, magnitude, dropoutP, training, fanInFanOut) -> y + DoRA term.
  // With f = m / ||W + s*BA|| (norm detached): eval adds (f-1)*(y - bias) + f*s*B(A(x)); with active dropout the
  // base part is recomputed from the dropped-out input (no bias), as PEFT does.
  Def(env, exports, "doraLinear", [](Args& a) {
    const at::Tensor& x = a.Tensor(0);
    const at::Tensor& y = a.Tensor(1);
    bool fanInFanOut = a.Bool(10);
    at::Tensor w = OutIn(a.Tensor(2), fanInFanOut);
    std::optional<at::Tensor> bias = a.OptTensor(3);
    const at::Tensor& A = a.Tensor(4);
    const at::Tensor& B = a.Tensor(5);
    double scale = a.Number(6);
    const at::Tensor& magnitude = a.Tensor(7);
    double p = a.Number(8);
    bool dropping = p > 0 && a.Bool(9);
    at::Tensor norm;
    {
      at::NoGradGuard noGrad;
      at::Tensor delta = at::mm(B, A).mul_(scale);  // w + delta in the wider dtype, as PEFT
      norm = at::linalg_vector_norm(w + delta, 2, at::IntArrayRef{1}, false, std::nullopt);
    }
    at::Tensor f = (magnitude / norm).view({1, -1});
    at::Tensor xd = dropping ? at::dropout(x, p, true) : x;
    at::Tensor lora = at::matmul(at::matmul(xd.to(A.scalar_type()), A.t()), B.t());
    at::Tensor basePart = dropping ? at::linear(xd, w) : (bias ? y - *bias : y);
    return (y + ((f - 1) * basePart + f * lora * scale)).to(y.scalar_type());
  });

  // loraSvd(delta [out, in], rank, fullMatrices, clamp?) -> [B = U·diag(S) (out, rank), A = Vh (rank, in)], the
  // truncated SVD add_weighted_adapter('svd') uses; clamp (a quantile in [0, 1]) clips both to ±quantile(|U|,|Vh|).
  Def(env, exports, "loraSvd", [](Args& a) {
    at::NoGradGuard noGrad;
    int64_t rank = a.Int(1);
    auto [U, S, Vh] = at::linalg_svd(a.Tensor(0), a.Bool(2));
    at::Tensor B = at::mm(U.narrow(1, 0, rank), at::diag(S.narrow(0, 0, rank)));
    at::Tensor A = Vh.narrow(0, 0, rank).contiguous();
    if (a.Has(3)) {
      at::Tensor hi = at::quantile(at::cat({B.flatten(), A.flatten()}), a.Number(3));
      at::Tensor lo = hi.neg();
      B = B.clamp(lo, hi);
      A = A.clamp(lo, hi);
    }
    return std::vector<at::Tensor>{B.contiguous(), A};
  });

  // loraDelta(A [r, in], B [out, r], scale, transpose) -> scale * B @ A (transposed for fan_in_fan_out layers)
  Def(env, exports, "loraDelta", [](Args& a) {
    at::Tensor delta = at::mm(a.Tensor(1), a.Tensor(0)).mul_(a.Number(2));
    return a.Bool(3) ? delta.t().contiguous() : delta;
  });
}

}  // namespace np
