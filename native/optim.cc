// Optimizer steps over whole parameter lists in one call (LibTorch's fused CPU/CUDA kernels). State tensors are
// owned by JS (so they can be exported); a parameter without a gradient is skipped, as PyTorch does.
#include <map>
#include <tuple>

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
// Positions of the parameters that have a gradient, split by (device, dtype) as the fused kernels require.
using Buckets = std::map<std::tuple<int, int, int>, std::vector<size_t>>;

Buckets WithGradByDeviceAndDtype(const std::vector<at::Tensor>& params) {
  Buckets out;
  for (size_t k = 0; k < params.size(); ++k) {
    if (!params[k].grad().defined()) continue;
    const at::Device device = params[k].device();
    out[{static_cast<int>(device.type()), device.index(), static_cast<int>(params[k].scalar_type())}].push_back(k);
  }
  return out;
}

std::vector<at::Tensor> Pick(const std::vector<at::Tensor>& all, const std::vector<size_t>& index, const char* what) {
  std::vector<at::Tensor> out;
  out.reserve(index.size());
  for (size_t k : index) {
    if (k >= all.size()) throw std::invalid_argument(std::string("optimizer: fewer ") + what + " than parameters");
    out.push_back(all[k]);
  }
  return out;
}

std::vector<at::Tensor> Grads(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  out.reserve(params.size());
  for (const at::Tensor& p : params) out.push_back(p.grad());
  return out;
}
// The fused kernels write the parameters without bumping their version counters (as in PyTorch: p._version stays put
// after a fused AdamW step); caches keyed on the version (the packed weights of native/gemm.cc) must see the update.
void BumpVersions(const std::vector<at::Tensor>& params) {
  for (const at::Tensor& p : params) p.unsafeGetTensorImpl()->bump_version();
}
}  // namespace

void RegisterOptim(Napi::Env env, Napi::Object exports) {
  // [sync] gradIndices(params) -> positions of the parameters whose .grad is defined.
  Def(env, exports, "gradIndices", [](Args& a) {
    std::vector<at::Tensor> params = a.Tensors(0);
    std::vector<int64_t> out;
    for (size_t k = 0; k < params.size(); ++k) if (params[k].grad().defined()) out.push_back(static_cast<int64_t>(k));
    return out;
  });
  // [sync] adamwStep(params, expAvgs, expAvgSqs, steps, lr, beta1, beta2, weightDecay, eps, amsgrad, maxExpAvgSqs)
  // -> undefined. Increments each stepped parameter's step tensor, then one fused AdamW update per device/dtype.
  Def(env, exports, "adamwStep", [](Args& a) {
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> params = a.Tensors(0);
    std::vector<at::Tensor> exp_avgs = a.Tensors(1), exp_avg_sqs = a.Tensors(2), steps = a.Tensors(3);
    bool amsgrad = a.Bool(9);
    std::vector<at::Tensor> max_sqs = amsgrad ? a.Tensors(10) : std::vector<at::Tensor>{};
    for (const auto& [key, index] : WithGradByDeviceAndDtype(params)) {
      std::vector<at::Tensor> ps = Pick(params, index, "parameters");
      std::vector<at::Tensor> bucket_steps = Pick(steps, index, "step tensors");
      std::vector<at::Tensor> bucket_max = amsgrad ? Pick(max_sqs, index, "max_exp_avg_sq tensors") : std::vector<at::Tensor>{};
      at::_foreach_add_(bucket_steps, 1);
      at::_fused_adamw_(ps, Grads(ps), Pick(exp_avgs, index, "exp_avg tensors"), Pick(exp_avg_sqs, index, "exp_avg_sq tensors"),
                        bucket_max, bucket_steps, a.Number(4), a.Number(5), a.Number(6), a.Number(7), a.Number(8), amsgrad,
                        /*maximize=*/false);
      BumpVersions(ps);
    }
  });
  // [sync] sgdStep(params, momentumBuffers, lr, momentum, dampening, weightDecay, nesterov, firstStep) -> undefined.
  // firstStep: the buffers are new and take the gradient itself (PyTorch's clone on a parameter's first step).
  Def(env, exports, "sgdStep", [](Args& a) {
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> params = a.Tensors(0);
    double momentum = a.Number(3);
    std::vector<at::Tensor> buffers = momentum != 0 ? a.Tensors(1) : std::vector<at::Tensor>{};
    for (const auto& [key, index] : WithGradByDeviceAndDtype(params)) {
      std::vector<at::Tensor> ps = Pick(params, index, "parameters");
      std::vector<at::Tensor> bufs = momentum != 0 ? Pick(buffers, index, "momentum buffers") : std::vector<at::Tensor>{};
      at::_fused_sgd_(ps, Grads(ps), bufs, a.Number(5), momentum, a.Number(2), a.Number(4), a.Bool(6), /*maximize=*/false,
                      a.Bool(7));
      BumpVersions(ps);
    }
  });
  // [sync] clipGradNorm(params, maxNorm, normType) -> total norm before clipping, as torch.nn.utils.clip_grad_norm_.
  Def(env, exports, "clipGradNorm", [](Args& a) {
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> grads;
    for (const at::Tensor& p : a.Tensors(0)) if (p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return 0.0;
    double max_norm = a.Number(1), norm_type = a.Number(2);
    std::vector<at::Tensor> norms = at::_foreach_norm(grads, norm_type);
    at::Device first = grads[0].device();
    for (at::Tensor& n : norms) n = n.to(first);
    at::Tensor total = std::isinf(norm_type) ? at::stack(norms).max() : at::linalg_vector_norm(at::stack(norms), norm_type);
    at::Tensor coef = at::clamp(max_norm / (total + 1e-6), std::nullopt, 1.0);
    for (at::Tensor& g : grads) g.mul_(coef.to(g.device()));
    return total.item<double>();
  });
  // [sync] zeroGrads(params) -> undefined; drops every gradient (PyTorch's zero_grad(set_to_none=True)).
  Def(env, exports, "zeroGrads", [](Args& a) {
    for (at::Tensor p : a.Tensors(0)) p.mutable_grad() = at::Tensor();
  });
}

}  // namespace np
