// Elementwise, reduction and matrix ops. Binary ops take a tensor or a JS number on either side.
#include "bf16.h"
#include "convert.h"
#include "registry.h"

namespace np {

namespace {
std::vector<int64_t> DimsOrAll(const Args& a, size_t i) { return a.OptInts(i).value_or(std::vector<int64_t>{}); }
at::OptionalIntArrayRef Ref(const std::optional<std::vector<int64_t>>& dims) {
  return dims ? at::OptionalIntArrayRef(*dims) : at::OptionalIntArrayRef();
}
}  // namespace

void RegisterMathOps(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "add", [](Args& a) {
    return at::add(a.TensorOrScalar(0), a.TensorOrScalar(1), a.Has(2) ? a.Scalar(2) : at::Scalar(1));
  });
  Def(env, exports, "sub", [](Args& a) {
    return at::sub(a.TensorOrScalar(0), a.TensorOrScalar(1), a.Has(2) ? a.Scalar(2) : at::Scalar(1));
  });
  Def(env, exports, "mul", [](Args& a) { return at::mul(a.TensorOrScalar(0), a.TensorOrScalar(1)); });
  Def(env, exports, "div", [](Args& a) {
    if (a.Has(2)) return at::div(a.TensorOrScalar(0), a.TensorOrScalar(1), a.String(2));
    return at::div(a.TensorOrScalar(0), a.TensorOrScalar(1));
  });
  Def(env, exports, "remainder", [](Args& a) { return at::remainder(a.TensorOrScalar(0), a.TensorOrScalar(1)); });
  Def(env, exports, "pow", [](Args& a) {
    if (!a.IsTensor(0)) return at::pow(a.Scalar(0), a.Tensor(1));
    if (a.IsTensor(1)) return at::pow(a.Tensor(0), a.Tensor(1));
    return at::pow(a.Tensor(0), a.Scalar(1));
  });
  Def(env, exports, "maximum", [](Args& a) { return at::maximum(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "minimum", [](Args& a) { return at::minimum(a.Tensor(0), a.TensorOrScalar(1)); });

  Def(env, exports, "neg", [](Args& a) { return at::neg(a.Tensor(0)); });
  Def(env, exports, "exp", [](Args& a) { return at::exp(a.Tensor(0)); });
  Def(env, exports, "log", [](Args& a) { return at::log(a.Tensor(0)); });
  Def(env, exports, "sqrt", [](Args& a) { return at::sqrt(a.Tensor(0)); });
  Def(env, exports, "rsqrt", [](Args& a) { return at::rsqrt(a.Tensor(0)); });
  Def(env, exports, "abs", [](Args& a) { return at::abs(a.Tensor(0)); });
  Def(env, exports, "sin", [](Args& a) { return at::sin(a.Tensor(0)); });
  Def(env, exports, "cos", [](Args& a) { return at::cos(a.Tensor(0)); });
  Def(env, exports, "tanh", [](Args& a) { return at::tanh(a.Tensor(0)); });
  Def(env, exports, "sigmoid", [](Args& a) { return at::sigmoid(a.Tensor(0)); });
  Def(env, exports, "relu", [](Args& a) { return at::relu(a.Tensor(0)); });
  Def(env, exports, "gelu", [](Args& a) { return at::gelu(a.Tensor(0), a.Has(1) ? a.String(1) : "none"); });
  Def(env, exports, "silu", [](Args& a) { return at::silu(a.Tensor(0)); });
  Def(env, exports, "floor", [](Args& a) { return at::floor(a.Tensor(0)); });
  Def(env, exports, "round", [](Args& a) { return at::round(a.Tensor(0)); });
  Def(env, exports, "sign", [](Args& a) { return at::sign(a.Tensor(0)); });
  Def(env, exports, "reciprocal", [](Args& a) { return at::reciprocal(a.Tensor(0)); });
  Def(env, exports, "logicalNot", [](Args& a) { return at::logical_not(a.Tensor(0)); });
  Def(env, exports, "logicalAnd", [](Args& a) { return at::logical_and(a.Tensor(0), a.Tensor(1)); });
  Def(env, exports, "logicalOr", [](Args& a) { return at::logical_or(a.Tensor(0), a.Tensor(1)); });
  Def(env, exports, "isnan", [](Args& a) { return at::isnan(a.Tensor(0)); });
  Def(env, exports, "isfinite", [](Args& a) { return at::isfinite(a.Tensor(0)); });
  Def(env, exports, "clamp", [](Args& a) {
    std::optional<at::Scalar> lo, hi;
    if (a.Has(1)) lo = a.Scalar(1);
    if (a.Has(2)) hi = a.Scalar(2);
    return at::clamp(a.Tensor(0), lo, hi);
  });
  Def(env, exports, "eq", [](Args& a) { return at::eq(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "ne", [](Args& a) { return at::ne(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "lt", [](Args& a) { return at::lt(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "le", [](Args& a) { return at::le(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "gt", [](Args& a) { return at::gt(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "ge", [](Args& a) { return at::ge(a.Tensor(0), a.TensorOrScalar(1)); });
  Def(env, exports, "equal", [](Args& a) { return at::equal(a.Tensor(0), a.Tensor(1)); });
  Def(env, exports, "allclose", [](Args& a) {
    return at::allclose(a.Tensor(0), a.Tensor(1), a.OptNumber(2).value_or(1e-5), a.OptNumber(3).value_or(1e-8));
  });

  // Reductions: dims null = all dims.
  Def(env, exports, "sum", [](Args& a) { return at::sum(a.Tensor(0), DimsOrAll(a, 1), a.Bool(2), a.OptDtype(3)); });
  Def(env, exports, "mean", [](Args& a) { return at::mean(a.Tensor(0), DimsOrAll(a, 1), a.Bool(2), a.OptDtype(3)); });
  Def(env, exports, "prod", [](Args& a) {
    if (!a.Has(1)) return at::prod(a.Tensor(0));
    return at::prod(a.Tensor(0), a.Int(1), a.Bool(2));
  });
  Def(env, exports, "amax", [](Args& a) { return at::amax(a.Tensor(0), DimsOrAll(a, 1), a.Bool(2)); });
  Def(env, exports, "amin", [](Args& a) { return at::amin(a.Tensor(0), DimsOrAll(a, 1), a.Bool(2)); });
  Def(env, exports, "maxDim", [](Args& a) { return at::max(a.Tensor(0), a.Int(1), a.Bool(2)); });
  Def(env, exports, "minDim", [](Args& a) { return at::min(a.Tensor(0), a.Int(1), a.Bool(2)); });
  Def(env, exports, "argmax", [](Args& a) { return at::argmax(a.Tensor(0), a.OptInt(1), a.Bool(2)); });
  Def(env, exports, "argmin", [](Args& a) { return at::argmin(a.Tensor(0), a.OptInt(1), a.Bool(2)); });
  Def(env, exports, "var", [](Args& a) {
    auto dims = a.OptInts(1);
    return at::var(a.Tensor(0), Ref(dims), at::Scalar(a.OptNumber(2).value_or(1.0)), a.Bool(3));
  });
  Def(env, exports, "std", [](Args& a) {
    auto dims = a.OptInts(1);
    return at::std(a.Tensor(0), Ref(dims), at::Scalar(a.OptNumber(2).value_or(1.0)), a.Bool(3));
  });
  Def(env, exports, "norm", [](Args& a) {
    auto dims = a.OptInts(2);
    return at::linalg_vector_norm(a.Tensor(0), a.Has(1) ? a.Scalar(1) : at::Scalar(2.0), Ref(dims), a.Bool(3));
  });
  // linalgQr(A) -> [Q, R] (mode 'reduced'), linalgSvd(A, fullMatrices) -> [U, S, Vh]: LAPACK's, as torch.linalg.
  Def(env, exports, "linalgQr", [](Args& a) {
    auto [Q, R] = at::linalg_qr(a.Tensor(0), "reduced");
    return std::vector<at::Tensor>{Q, R};
  });
  Def(env, exports, "linalgSvd", [](Args& a) {
    auto [U, S, Vh] = at::linalg_svd(a.Tensor(0), a.Bool(1));
    return std::vector<at::Tensor>{U, S, Vh};
  });
  Def(env, exports, "logsumexp", [](Args& a) { return at::logsumexp(a.Tensor(0), a.Ints(1), a.Bool(2)); });
  Def(env, exports, "cumsum", [](Args& a) { return at::cumsum(a.Tensor(0), a.Int(1)); });
  Def(env, exports, "any", [](Args& a) { return a.Has(1) ? at::any(a.Tensor(0), a.Int(1), a.Bool(2)) : at::any(a.Tensor(0)); });
  Def(env, exports, "all", [](Args& a) { return a.Has(1) ? at::all(a.Tensor(0), a.Int(1), a.Bool(2)) : at::all(a.Tensor(0)); });

  Def(env, exports, "matmul", [](Args& a) { return at::matmul(a.Tensor(0), a.Tensor(1)); });
  Def(env, exports, "mm", [](Args& a) { return at::mm(a.Tensor(0), a.Tensor(1)); });
  Def(env, exports, "bmm", [](Args& a) { return at::bmm(a.Tensor(0), a.Tensor(1)); });
  Def(env, exports, "addmm", [](Args& a) {
    return at::addmm(a.Tensor(0), a.Tensor(1), a.Tensor(2), a.Has(3) ? a.Scalar(3) : at::Scalar(1),
                     a.Has(4) ? a.Scalar(4) : at::Scalar(1));
  });
  Def(env, exports, "einsum", [](Args& a) { return at::einsum(a.String(0), a.Tensors(1)); });
  Def(env, exports, "outer", [](Args& a) { return at::outer(a.Tensor(0), a.Tensor(1)); });
}

}  // namespace np
