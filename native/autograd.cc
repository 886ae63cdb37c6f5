// Autograd: requires_grad, backward, grad, detach and the grad-mode switch.
#include "convert.h"
#include "registry.h"

#include <c10/core/GradMode.h>

namespace np {

void RegisterAutograd(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "requiresGrad", [](Args& a) { return a.Tensor(0).requires_grad(); });
  Def(env, exports, "setRequiresGrad", [](Args& a) { a.Tensor(0).requires_grad_(a.Bool(1)); });
  Def(env, exports, "isLeaf", [](Args& a) { return a.Tensor(0).is_leaf(); });
  Def(env, exports, "backward", [](Args& a) {
    const at::Tensor& t = a.Tensor(0);
    std::optional<at::Tensor> grad = a.OptTensor(1);
    if (!grad && t.numel() != 1)
      throw std::invalid_argument("backward: grad can be implicitly created only for scalar outputs; pass a gradient of shape " +
                                  c10::str(t.sizes()));
    t.backward(grad.value_or(at::Tensor()), a.Bool(2), a.Bool(3));
  });
  Def(env, exports, "grad", [](Args& a) { return a.Tensor(0).grad(); });
  Def(env, exports, "setGrad", [](Args& a) {
    at::Tensor t = a.Tensor(0);
    t.mutable_grad() = a.OptTensor(1).value_or(at::Tensor());
  });
  Def(env, exports, "detach", [](Args& a) { return a.Tensor(0).detach(); });
  Def(env, exports, "gradEnabled", [](Args& a) { return c10::GradMode::is_enabled(); });
  Def(env, exports, "setGradEnabled", [](Args& a) { c10::GradMode::set_enabled(a.Bool(0)); });
}

}  // namespace np
