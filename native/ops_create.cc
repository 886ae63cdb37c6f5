// Creation ops. Options are (dtype?, device?) at the position each entry names.
#include "convert.h"
#include "registry.h"

namespace np {

void RegisterCreationOps(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "empty", [](Args& a) { return at::empty(a.Ints(0), a.Options(1)); });
  Def(env, exports, "zeros", [](Args& a) { return at::zeros(a.Ints(0), a.Options(1)); });
  Def(env, exports, "ones", [](Args& a) { return at::ones(a.Ints(0), a.Options(1)); });
  Def(env, exports, "full", [](Args& a) { return at::full(a.Ints(0), a.Scalar(1), a.Options(2)); });
  Def(env, exports, "randn", [](Args& a) { return at::randn(a.Ints(0), a.Options(1)); });
  Def(env, exports, "rand", [](Args& a) { return at::rand(a.Ints(0), a.Options(1)); });
  Def(env, exports, "randint", [](Args& a) {
    return at::randint(a.Int(0), a.Int(1), a.Ints(2), a.Options(3, at::kLong));
  });
  Def(env, exports, "randperm", [](Args& a) { return at::randperm(a.Int(0), a.Options(1, at::kLong)); });
  Def(env, exports, "arange", [](Args& a) {
    at::ScalarType fallback = a.Scalar(0).isIntegral(false) && a.Scalar(1).isIntegral(false) && a.Scalar(2).isIntegral(false)
                                  ? at::kLong
                                  : at::kFloat;
    return at::arange(a.Scalar(0), a.Scalar(1), a.Scalar(2), a.Options(3, fallback));
  });
  Def(env, exports, "linspace", [](Args& a) {
    return at::linspace(a.Scalar(0), a.Scalar(1), a.Int(2), a.Options(3));
  });
  Def(env, exports, "eye", [](Args& a) { return at::eye(a.Int(0), a.Int(1), a.Options(2)); });
  Def(env, exports, "emptyLike", [](Args& a) { return at::empty_like(a.Tensor(0), a.Tensor(0).options().dtype(a.OptDtype(1).value_or(a.Tensor(0).scalar_type()))); });
  Def(env, exports, "zerosLike", [](Args& a) { return at::zeros_like(a.Tensor(0), a.Tensor(0).options().dtype(a.OptDtype(1).value_or(a.Tensor(0).scalar_type()))); });
  Def(env, exports, "onesLike", [](Args& a) { return at::ones_like(a.Tensor(0), a.Tensor(0).options().dtype(a.OptDtype(1).value_or(a.Tensor(0).scalar_type()))); });
  Def(env, exports, "fullLike", [](Args& a) { return at::full_like(a.Tensor(0), a.Scalar(1), a.Tensor(0).options().dtype(a.OptDtype(2).value_or(a.Tensor(0).scalar_type()))); });
  Def(env, exports, "randnLike", [](Args& a) { return at::randn_like(a.Tensor(0)); });
  Def(env, exports, "randLike", [](Args& a) { return at::rand_like(a.Tensor(0)); });
  Def(env, exports, "scalarTensor", [](Args& a) { return at::scalar_tensor(a.Scalar(0), a.Options(1)); });
}

}  // namespace np
