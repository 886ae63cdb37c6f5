// Views, indexing, joining and conversion ops.
#include "convert.h"
#include "registry.h"

namespace np {

void RegisterShapeOps(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "to", [](Args& a) {
    const at::Tensor& t = a.Tensor(0);
    at::ScalarType dtype = a.OptDtype(1).value_or(t.scalar_type());
    at::Device device = a.Has(2) ? a.Device(2) : t.device();
    return t.to(device, dtype, /*non_blocking=*/false, /*copy=*/a.Bool(3));
  });
  Def(env, exports, "contiguous", [](Args& a) { return a.Tensor(0).contiguous(); });
  Def(env, exports, "clone", [](Args& a) { return a.Tensor(0).clone(); });
  Def(env, exports, "reshape", [](Args& a) { return a.Tensor(0).reshape(a.Ints(1)); });
  Def(env, exports, "view", [](Args& a) { return a.Tensor(0).view(a.Ints(1)); });
  Def(env, exports, "permute", [](Args& a) { return a.Tensor(0).permute(a.Ints(1)); });
  Def(env, exports, "transpose", [](Args& a) { return a.Tensor(0).transpose(a.Int(1), a.Int(2)); });
  Def(env, exports, "squeeze", [](Args& a) {
    return a.Has(1) ? a.Tensor(0).squeeze(a.Int(1)) : a.Tensor(0).squeeze();
  });
  Def(env, exports, "unsqueeze", [](Args& a) { return a.Tensor(0).unsqueeze(a.Int(1)); });
  Def(env, exports, "expand", [](Args& a) { return a.Tensor(0).expand(a.Ints(1)); });
  Def(env, exports, "repeat", [](Args& a) { return a.Tensor(0).repeat(a.Ints(1)); });
  Def(env, exports, "repeatInterleave", [](Args& a) {
    return at::repeat_interleave(a.Tensor(0), a.Int(1), a.OptInt(2));
  });
  Def(env, exports, "flatten", [](Args& a) { return a.Tensor(0).flatten(a.Int(1), a.Int(2)); });
  Def(env, exports, "narrow", [](Args& a) { return a.Tensor(0).narrow(a.Int(1), a.Int(2), a.Int(3)); });
  Def(env, exports, "slice", [](Args& a) {
    return a.Tensor(0).slice(a.Int(1), a.OptInt(2), a.OptInt(3), a.OptInt(4).value_or(1));
  });
  Def(env, exports, "select", [](Args& a) { return a.Tensor(0).select(a.Int(1), a.Int(2)); });
  Def(env, exports, "indexSelect", [](Args& a) { return a.Tensor(0).index_select(a.Int(1), a.Tensor(2)); });
  Def(env, exports, "index", [](Args& a) {
    std::vector<at::Tensor> indices = a.Tensors(1);
    c10::List<std::optional<at::Tensor>> list;
    for (const auto& t : indices) list.push_back(t);
    return at::index(a.Tensor(0), list);
  });
  Def(env, exports, "gather", [](Args& a) { return a.Tensor(0).gather(a.Int(1), a.Tensor(2)); });
  Def(env, exports, "scatter", [](Args& a) {
    if (a.IsTensor(3)) return a.Tensor(0).scatter(a.Int(1), a.Tensor(2), a.Tensor(3));
    return a.Tensor(0).scatter(a.Int(1), a.Tensor(2), a.Scalar(3));
  });
  Def(env, exports, "scatterAdd", [](Args& a) { return a.Tensor(0).scatter_add(a.Int(1), a.Tensor(2), a.Tensor(3)); });
  Def(env, exports, "indexAdd", [](Args& a) {
    return a.Tensor(0).index_add(a.Int(1), a.Tensor(2), a.Tensor(3), a.Has(4) ? a.Scalar(4) : at::Scalar(1));
  });
  Def(env, exports, "indexCopy", [](Args& a) { return a.Tensor(0).index_copy(a.Int(1), a.Tensor(2), a.Tensor(3)); });
  Def(env, exports, "cat", [](Args& a) { return at::cat(a.Tensors(0), a.Int(1)); });
  Def(env, exports, "stack", [](Args& a) { return at::stack(a.Tensors(0), a.Int(1)); });
  Def(env, exports, "split", [](Args& a) {
    if (a.Raw(1).IsArray()) return a.Tensor(0).split_with_sizes(a.Ints(1), a.Int(2));
    return a.Tensor(0).split(a.Int(1), a.Int(2));
  });
  Def(env, exports, "chunk", [](Args& a) { return a.Tensor(0).chunk(a.Int(1), a.Int(2)); });
  Def(env, exports, "maskedFill", [](Args& a) {
    if (a.IsTensor(2)) return a.Tensor(0).masked_fill(a.Tensor(1), a.Tensor(2));
    return a.Tensor(0).masked_fill(a.Tensor(1), a.Scalar(2));
  });
  Def(env, exports, "where", [](Args& a) { return at::where(a.Tensor(0), a.TensorOrScalar(1), a.TensorOrScalar(2)); });
  Def(env, exports, "triu", [](Args& a) { return a.Tensor(0).triu(a.OptInt(1).value_or(0)); });
  Def(env, exports, "tril", [](Args& a) { return a.Tensor(0).tril(a.OptInt(1).value_or(0)); });
  Def(env, exports, "flip", [](Args& a) { return a.Tensor(0).flip(a.Ints(1)); });
  Def(env, exports, "roll", [](Args& a) { return a.Tensor(0).roll(a.Ints(1), a.Ints(2)); });
  Def(env, exports, "nonzero", [](Args& a) { return a.Tensor(0).nonzero(); });
  Def(env, exports, "sort", [](Args& a) { return a.Tensor(0).sort(a.Int(1), a.Bool(2)); });
  Def(env, exports, "argsort", [](Args& a) { return a.Tensor(0).argsort(a.Int(1), a.Bool(2)); });
  Def(env, exports, "topk", [](Args& a) { return a.Tensor(0).topk(a.Int(1), a.Int(2), true, true); });
  Def(env, exports, "multinomial", [](Args& a) { return a.Tensor(0).multinomial(a.Int(1), a.Bool(2)); });
  Def(env, exports, "oneHot", [](Args& a) { return at::one_hot(a.Tensor(0), a.OptInt(1).value_or(-1)); });
}

}  // namespace np
