// Fused CPU kernels with a closed-form backward, so a training step runs one pass where autograd over composite ops
// would run several: the rotate-half rotary embedding. Float32 CPU tensors take the fused path; anything else falls
// back to the composite ATen ops.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool FusedApplies(const at::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() > 0 && t.numel() > 0;
}

// Rotate-half rotary embedding: y = x*cos + rotate_half(x)*sin, x [B, nh, S, hd] (any strides with a unit last
// stride), cos/sin [Bc, S, hd] with Bc 1 or B. sign -1 applies the transpose (the backward: dx from dy).
void RotaryKernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& y, float sign) {
  int64_t B = x.size(0), H = x.size(1), S = x.size(2), D = x.size(3), half = D / 2;
  int64_t cb = cos.size(0) == 1 ? 0 : S * D;
  const float *xp = x.data_ptr<float>(), *cp = cos.data_ptr<float>(), *sp = sin.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  auto xs = x.strides(), ys = y.strides();
  at::parallel_for(0, B * H * S, 64, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      int64_t b = idx / (H * S), h = (idx / S) % H, s = idx % S;
      const float* xr = xp + b * xs[0] + h * xs[1] + s * xs[2];
      float* yr = yp + b * ys[0] + h * ys[1] + s * ys[2];
      const float* c = cp + b * cb + s * D;
      const float* sn = sp + b * cb + s * D;
      if (sign > 0) {
        for (int64_t i = 0; i < half; ++i) yr[i] = xr[i] * c[i] - xr[i + half] * sn[i];
        for (int64_t i = half; i < D; ++i) yr[i] = xr[i] * c[i] + xr[i - half] * sn[i];
      } else {
        for (int64_t i = 0; i < half; ++i) yr[i] = xr[i] * c[i] + xr[i + half] * sn[i + half];
        for (int64_t i = half; i < D; ++i) yr[i] = xr[i] * c[i] - xr[i - half] * sn[i - half];
      }
    }
  });
}

struct RotaryFn : public torch::autograd::Function<RotaryFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& cos, const at::Tensor& sin) {
    at::Tensor x = input.stride(3) == 1 ? input : input.contiguous();
    at::Tensor y = at::empty_like(x);
    RotaryKernel(x, cos, sin, y, 1.f);
    ctx->save_for_backward({cos, sin});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    at::Tensor g = grads[0].stride(3) == 1 ? grads[0] : grads[0].contiguous();
    at::Tensor dx = at::empty_like(g);
    RotaryKernel(g, saved[0], saved[1], dx, -1.f);
    return {dx, at::Tensor(), at::Tensor()};
  }
};

at::Tensor RotateHalfComposite(const at::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return at::cat({x.slice(-1, half).neg(), x.slice(-1, 0, half)}, -1);
}

// x [B, nh, S, hd] and cos/sin [Bc, S, hd] -> x*cos + rotate_half(x)*sin.
at::Tensor Rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  bool shapes = x.dim() == 4 && cos.dim() == 3 && cos.sizes() == sin.sizes() && x.size(3) % 2 == 0 &&
                cos.size(1) == x.size(2) && cos.size(2) == x.size(3) && (cos.size(0) == 1 || cos.size(0) == x.size(0));
  bool noGradForTables = !cos.requires_grad() && !sin.requires_grad();
  if (!shapes || !FusedApplies(x) || !FusedApplies(cos) || !FusedApplies(sin) || !noGradForTables) {
    return x * cos.unsqueeze(1) + RotateHalfComposite(x) * sin.unsqueeze(1);
  }
  return RotaryFn::apply(x, cos.contiguous(), sin.contiguous());
}
}  // namespace

void RegisterFused(Napi::Env env, Napi::Object exports) {
  // applyRotary(x, cos, sin) -> x * cos + rotate_half(x) * sin for x [B, nh, S, hd], cos/sin [B|1, S, hd].
  Def(env, exports, "applyRotary", [](Args& a) { return Rotary(a.Tensor(0), a.Tensor(1), a.Tensor(2)); });
}

}  // namespace np
