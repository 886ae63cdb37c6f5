// LoRA entry points: one native call per adapted layer.
#include "convert.h"
#include "registry.h"

namespace np {

namespace {
// The base weight in [out, in] layout (GPT-2 Conv1D stores [in, out]: fan_in_fan_out).
at::Tensor OutIn(const at::Tensor& weight, bool fanInFanOut) { return fanInFanOut ? weight.t() : weight; }

// scale * B(A(x)) for x [..., in], computed in A's dtype and returned in outDtype.
at::Tensor LowRank(const at::Tensor& x, const at::Tensor& A, const at::Tensor& B, double scale, at::ScalarType outDtype) {
  at::Tensor h = at::matmul(x.to(A.scalar_type()), A.t());
  return at::matmul(h, B.t()).mul_(scale).to(outDtype);
}

void CheckSameLength(size_t a, size_t b, size_t c, const char* what) {
  if (a != b || a != c) throw std::invalid_argument(std::string(what) + ": As, Bs and scales must have the same length");
}
}  // namespace

void RegisterLora(Napi::Env env, Napi::Object exports) {
  // loraLinear(x, weight, bias?, As[], Bs[], scales[], dropoutPs[], training, fanInFanOut)
  //   -> linear(x) + sum_i scales[i] * B_i(A_i(dropout_i(x)))   (each adapter draws its own dropout mask)
  Def(env, exports, "loraLinear", [](Args& a) {
    const at::Tensor& x = a.Tensor(0);
    bool fanInFanOut = a.Bool(8);
    at::Tensor y = at::linear(x, OutIn(a.Tensor(1), fanInFanOut), a.OptTensor(2));
    std::vector<at::Tensor> As = a.Tensors(3), Bs = a.Tensors(4);
    std::vector<double> scales = a.Numbers(5), ps = a.Numbers(6);
    CheckSameLength(As.size(), Bs.size(), scales.size(), "loraLinear");
    bool training = a.Bool(7);
    for (size_t i = 0; i < As.size(); ++i) {
      double p = i < ps.size() ? ps[i] : 0.0;
      at::Tensor xd = (p > 0 && training) ? at::dropout(x, p, true) : x;
      y = y + LowRank(xd, As[i], Bs[i], scales[i], y.scalar_type());
    }
    return y;
  });

  // loraLinearMixed(x, weight, bias?, As[], Bs[], scales[], rows[], fanInFanOut): the base output for the whole
  // batch, plus adapter i's low-rank term on the batch rows listed in rows[i] (int64). Rows in no list get the base.
  Def(env, exports, "loraLinearMixed", [](Args& a) {
    const at::Tensor& x = a.Tensor(0);
    bool fanInFanOut = a.Bool(7);
    at::Tensor y = at::linear(x, OutIn(a.Tensor(1), fanInFanOut), a.OptTensor(2));
    std::vector<at::Tensor> As = a.Tensors(3), Bs = a.Tensors(4), rows = a.Tensors(6);
    std::vector<double> scales = a.Numbers(5);
    CheckSameLength(As.size(), Bs.size(), scales.size(), "loraLinearMixed");
    if (rows.size() != As.size()) throw std::invalid_argument("loraLinearMixed: one row list per adapter expected");
    for (size_t i = 0; i < As.size(); ++i) {
      if (rows[i].numel() == 0) continue;
      at::Tensor part = LowRank(x.index_select(0, rows[i]), As[i], Bs[i], scales[i], y.scalar_type());
      y = y.index_add(0, rows[i], part);
    }
    return y;
  });

  // doraWeightNorm(weight, A, B, scale, fanInFanOut) -> || W + scale * B @ A || per output row (no grad).
  Def(env, exports, "doraWeightNorm", [](Args& a) {
    at::NoGradGuard noGrad;
    at::Tensor w = OutIn(a.Tensor(0), a.Bool(4));
    at::Tensor delta = at::mm(a.Tensor(2), a.Tensor(1)).mul_(a.Number(3)).to(w.scalar_type());
    return at::linalg_vector_norm(w + delta, 2, at::IntArrayRef{1}, false, std::nullopt);
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
      at::Tensor delta = at::mm(B, A).mul_(scale).to(w.scalar_type());
      norm = at::linalg_vector_norm(w + delta, 2, at::IntArrayRef{1}, false, std::nullopt);
    }
    at::Tensor f = (magnitude / norm).view({1, -1});
    at::Tensor xd = dropping ? at::dropout(x, p, true) : x;
    at::Tensor lora = at::matmul(at::matmul(xd.to(A.scalar_type()), A.t()), B.t()).to(y.scalar_type());
    at::Tensor basePart = dropping ? at::linear(xd, w) : (bias ? y - *bias : y);
    return y + (f - 1) * basePart + f * lora * scale;
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
