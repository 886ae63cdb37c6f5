// Fused LoRA linear: the low-rank product accumulated into the base output in place (addmm with beta = 1, so no
// full-size temporary), with a custom backward for the training case that also accumulates the input gradient in
// place. Same arguments and result as loraLinear (native/lora.cc).
#include <torch/csrc/autograd/custom_function.h>

#include "convert.h"
#include "lora_kernels.h"
#include "registry.h"

namespace np {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// base(x) for x [T, in] and W [out, in]: a fresh [T, out] tensor the low-rank terms may be added into.
at::Tensor BaseOutput(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias) {
  return bias.defined() ? at::addmm(bias, x2d, W.t()) : at::mm(x2d, W.t());
}

bool KernelApplies(const at::Tensor& y, const at::Tensor& x, const at::Tensor& A, const at::Tensor& B) {
  if (!y.is_cuda() || CudaKernels() == nullptr || c10::GradMode::is_enabled()) return false;
  int32_t code = KernelDtype(y);
  return code >= 0 && x.scalar_type() == y.scalar_type() && A.scalar_type() == y.scalar_type() &&
         B.scalar_type() == y.scalar_type() && x.is_contiguous() && A.is_contiguous() && B.is_contiguous() &&
         y.is_contiguous();
}

// y2d += scale * B(A(xl)) in place; in A's dtype when it differs from y's (added back in y's dtype).
void AddLowRank(at::Tensor& y2d, const at::Tensor& xl, const at::Tensor& A, const at::Tensor& B, double scale) {
  if (KernelApplies(y2d, xl, A, B)) {
    at::Tensor h = at::empty({xl.size(0), A.size(0)}, y2d.options().dtype(at::kFloat));
    int32_t status = CudaKernels()->lowRankAdd(KernelDtype(y2d), xl.data_ptr(), A.data_ptr(), B.data_ptr(), y2d.data_ptr(),
                                               h.data_ptr<float>(), xl.size(0), xl.size(1), A.size(0), B.size(0),
                                               static_cast<float>(scale));
    if (status != 0) throw std::runtime_error("loraLinearFused: CUDA kernel failed with error " + std::to_string(status));
    return;
  }
  at::Tensor h = at::mm(xl.scalar_type() == A.scalar_type() ? xl : xl.to(A.scalar_type()), A.t());
  if (B.scalar_type() == y2d.scalar_type()) {
    y2d.addmm_(h, B.t(), 1.0, scale);
  } else {
    y2d.add_(at::mm(h, B.t()).mul_(scale).to(y2d.scalar_type()));
  }
}

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
      dx = at::mm(g, W);
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

std::vector<int64_t> OutShape(const at::Tensor& x, int64_t out) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  return shape;
}
}  // namespace

at::Tensor LoraLinearFused(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const std::vector<at::Tensor>& As, const std::vector<at::Tensor>& Bs,
                           const std::vector<double>& scales, const std::vector<double>& ps, bool training,
                           bool fanInFanOut) {
  if (As.size() != Bs.size() || As.size() != scales.size()) {
    throw std::invalid_argument("loraLinearFused: As, Bs and scales must have the same length");
  }
  at::Tensor W = fanInFanOut ? weight.t() : weight;  // [out, in]
  int64_t in = W.size(1), out = W.size(0);
  if (x.dim() == 0 || x.size(-1) != in) {
    throw std::invalid_argument("loraLinearFused: x's last dimension must be " + std::to_string(in));
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
  at::Tensor y2d = BaseOutput(x2d, W, bias);
  for (size_t i = 0; i < As.size(); ++i) {
    double p = i < ps.size() ? ps[i] : 0.0;
    at::Tensor xl = (p > 0 && training) ? at::dropout(x2d, p, true) : x2d;
    AddLowRank(y2d, xl, As[i], Bs[i], scales[i]);
  }
  return y2d.view(OutShape(x, out));
}

void RegisterLoraFused(Napi::Env env, Napi::Object exports) {
  // loraLinearFused(x, weight, bias?, As[], Bs[], scales[], dropoutPs[], training, fanInFanOut): as loraLinear.
  Def(env, exports, "loraLinearFused", [](Args& a) {
    std::optional<at::Tensor> bias = a.OptTensor(2);
    return LoraLinearFused(a.Tensor(0), a.Tensor(1), bias.value_or(at::Tensor()), a.Tensors(3), a.Tensors(4),
                           a.Numbers(5), a.Numbers(6), a.Bool(7), a.Bool(8));
  });
}

}  // namespace np
