// LoRA entry points: one native call per adapted layer.
#include "convert.h"
#include "registry.h"

namespace np {

namespace {
// y (already the base output, [..., out]) += scale * (x [..., in] @ A^T) @ B^T, added in place.
void AddLowRank(at::Tensor& y, const at::Tensor& x, const at::Tensor& A, const at::Tensor& B, double scale) {
  at::Tensor h = at::matmul(x, A.t());
  at::Tensor y2 = y.view({-1, y.size(-1)});
  y2.addmm_(h.reshape({-1, h.size(-1)}), B.t(), 1.0, scale);
}
}  // namespace

void RegisterLora(Napi::Env env, Napi::Object exports) {
  // loraLinear(x, weight, bias?, A, B, scale, dropoutP, training) -> linear(x) + scale * B(A(dropout(x)))
  Def(env, exports, "loraLinear", [](Args& a) {
    const at::Tensor& x = a.Tensor(0);
    at::Tensor y = at::linear(x, a.Tensor(1), a.OptTensor(2));
    double p = a.Number(6);
    at::Tensor xd = (p > 0 && a.Bool(7)) ? at::dropout(x, p, true) : x;
    AddLowRank(y, xd, a.Tensor(3), a.Tensor(4), a.Number(5));
    return y;
  });
  // loraDelta(A [r, in], B [out, r], scale, transpose) -> scale * B @ A (transposed for fan_in_fan_out layers)
  Def(env, exports, "loraDelta", [](Args& a) {
    at::Tensor delta = at::mm(a.Tensor(1), a.Tensor(0)).mul_(a.Number(2));
    return a.Bool(3) ? delta.t().contiguous() : delta;
  });
}

}  // namespace np
