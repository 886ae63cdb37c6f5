// Optimizer steps over whole parameter lists in one call (LibTorch's fused CPU/CUDA kernels).
#include "convert.h"
#include "registry.h"

namespace np {

namespace {
// Parameters with a gradient, and the positions they came from.
struct WithGrad {
  std::vector<at::Tensor> params, grads;
  std::vector<size_t> index;
};

WithGrad CollectGrads(const std::vector<at::Tensor>& params) {
  WithGrad out;
  for (size_t k = 0; k < params.size(); ++k) {
    const at::Tensor& g = params[k].grad();
    if (!g.defined()) continue;
    out.params.push_back(params[k]);
    out.grads.push_back(g);
    out.index.push_back(k);
  }
  return out;
}

std::vector<at::Tensor> Pick(const std::vector<at::Tensor>& all, const std::vector<size_t>& index) {
  std::vector<at::Tensor> out;
  out.reserve(index.size());
  for (size_t k : index) out.push_back(all[k]);
  return out;
}
}  // namespace

void RegisterOptim(Napi::Env env, Napi::Object exports) {
  // adamwStep(params, expAvgs, expAvgSqs, steps, lr, beta1, beta2, weightDecay, eps, amsgrad, maxExpAvgSqs)
  Def(env, exports, "adamwStep", [](Args& a) {
    c10::NoGradGuard no_grad;
    WithGrad sel = CollectGrads(a.Tensors(0));
    if (sel.params.empty()) return;
    auto exp_avgs = Pick(a.Tensors(1), sel.index);
    auto exp_avg_sqs = Pick(a.Tensors(2), sel.index);
    auto steps = Pick(a.Tensors(3), sel.index);
    bool amsgrad = a.Bool(9);
    std::vector<at::Tensor> max_sqs = amsgrad ? Pick(a.Tensors(10), sel.index) : std::vector<at::Tensor>{};
    at::_foreach_add_(steps, 1);
    at::_fused_adamw_(sel.params, sel.grads, exp_avgs, exp_avg_sqs, max_sqs, steps, a.Number(4), a.Number(5),
                      a.Number(6), a.Number(7), a.Number(8), amsgrad, /*maximize=*/false);
  });
  // sgdStep(params, momentumBuffers, lr, momentum, dampening, weightDecay, nesterov, firstStep)
  Def(env, exports, "sgdStep", [](Args& a) {
    c10::NoGradGuard no_grad;
    WithGrad sel = CollectGrads(a.Tensors(0));
    if (sel.params.empty()) return;
    double momentum = a.Number(3);
    std::vector<at::Tensor> buffers = momentum != 0 ? Pick(a.Tensors(1), sel.index) : std::vector<at::Tensor>{};
    at::_fused_sgd_(sel.params, sel.grads, buffers, a.Number(5), momentum, a.Number(2), a.Number(4), a.Bool(6),
                    /*maximize=*/false, a.Bool(7));
  });
  // clipGradNorm(params, maxNorm, normType) -> total norm (before clipping), as torch.nn.utils.clip_grad_norm_.
  Def(env, exports, "clipGradNorm", [](Args& a) {
    c10::NoGradGuard no_grad;
    WithGrad sel = CollectGrads(a.Tensors(0));
    if (sel.grads.empty()) return 0.0;
    double max_norm = a.Number(1), norm_type = a.Number(2);
    std::vector<at::Tensor> norms = at::_foreach_norm(sel.grads, norm_type);
    at::Tensor total = std::isinf(norm_type) ? at::stack(norms).max() : at::linalg_vector_norm(at::stack(norms), norm_type);
    at::Tensor coef = at::clamp(max_norm / (total + 1e-6), std::nullopt, 1.0);
    at::_foreach_mul_(sel.grads, coef);
    return total.item<double>();
  });
  Def(env, exports, "zeroGrads", [](Args& a) {
    for (at::Tensor p : a.Tensors(0)) p.mutable_grad() = at::Tensor();
  });
}

}  // namespace np
