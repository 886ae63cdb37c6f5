// Neural-network ops and the in-place ops that training needs.
#include "bf16.h"
#include "convert.h"
#include "registry.h"

namespace np {

namespace {
int64_t Reduction(const std::string& name) {
  if (name == "mean") return at::Reduction::Mean;
  if (name == "sum") return at::Reduction::Sum;
  if (name == "none") return at::Reduction::None;
  throw std::invalid_argument("reduction must be 'mean', 'sum' or 'none', got '" + name + "'");
}
}  // namespace

void RegisterNNOps(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "softmax", [](Args& a) { return at::softmax(a.Tensor(0), a.Int(1), a.OptDtype(2)); });
  Def(env, exports, "logSoftmax", [](Args& a) { return at::log_softmax(a.Tensor(0), a.Int(1), a.OptDtype(2)); });
  Def(env, exports, "layerNorm", [](Args& a) {
    return at::layer_norm(a.Tensor(0), a.Ints(1), a.OptTensor(2), a.OptTensor(3), a.OptNumber(4).value_or(1e-5));
  });
  Def(env, exports, "rmsNorm", [](Args& a) {
    return at::rms_norm(a.Tensor(0), a.Ints(1), a.OptTensor(2), a.OptNumber(3));
  });
  Def(env, exports, "embedding", [](Args& a) {
    return at::embedding(a.Tensor(0), a.Tensor(1), a.OptInt(2).value_or(-1));
  });
  Def(env, exports, "conv2d", [](Args& a) {
    return at::conv2d(a.Tensor(0), a.Tensor(1), a.OptTensor(2), a.Ints(3), a.Ints(4), a.Ints(5), a.OptInt(6).value_or(1));
  });
  Def(env, exports, "conv3d", [](Args& a) {
    return at::conv3d(a.Tensor(0), a.Tensor(1), a.OptTensor(2), a.Ints(3), a.Ints(4), a.Ints(5), a.OptInt(6).value_or(1));
  });
  Def(env, exports, "dropout", [](Args& a) { return at::dropout(a.Tensor(0), a.Number(1), a.Bool(2)); });
  Def(env, exports, "crossEntropy", [](Args& a) {
    return at::cross_entropy_loss(a.Tensor(0), a.Tensor(1), a.OptTensor(2), Reduction(a.Has(3) ? a.String(3) : "mean"),
                                  a.OptInt(4).value_or(-100), a.OptNumber(5).value_or(0.0));
  });
  Def(env, exports, "nllLoss", [](Args& a) {
    return at::nll_loss(a.Tensor(0), a.Tensor(1), a.OptTensor(2), Reduction(a.Has(3) ? a.String(3) : "mean"),
                        a.OptInt(4).value_or(-100));
  });
  Def(env, exports, "mseLoss", [](Args& a) {
    return at::mse_loss(a.Tensor(0), a.Tensor(1), Reduction(a.Has(2) ? a.String(2) : "mean"));
  });
  // interpolate(x, size, mode, alignCorners, scaleFactors?, antialias?) for 4-D input.
  Def(env, exports, "interpolate", [](Args& a) {
    const at::Tensor& x = a.Tensor(0);
    std::vector<int64_t> size = a.Ints(1);
    std::string mode = a.String(2);
    bool align = a.Bool(3);
    std::optional<double> sh, sw;
    if (a.Has(4)) {
      std::vector<double> scales = a.Numbers(4);
      if (scales.size() != 2) throw std::invalid_argument("interpolate: scale factors must have 2 entries");
      sh = scales[0];
      sw = scales[1];
    }
    if (x.dim() != 4) throw std::invalid_argument("interpolate: expected a 4-D input [N, C, H, W]");
    const bool antialias = a.Has(5) && a.Bool(5);
    if (antialias && mode == "bilinear") return at::_upsample_bilinear2d_aa(x, size, align, sh, sw);
    if (antialias && mode == "bicubic") return at::_upsample_bicubic2d_aa(x, size, align, sh, sw);
    if (antialias) throw std::invalid_argument("interpolate: antialias applies to 'bilinear' and 'bicubic' only, got '" + mode + "'");
    if (mode == "bilinear") return at::upsample_bilinear2d(x, size, align, sh, sw);
    if (mode == "bicubic") return at::upsample_bicubic2d(x, size, align, sh, sw);
    if (mode == "nearest") return at::upsample_nearest2d(x, size, sh, sw);
    throw std::invalid_argument("interpolate: mode must be 'bilinear', 'bicubic' or 'nearest', got '" + mode + "'");
  });
  Def(env, exports, "scaledDotProductAttention", [](Args& a) {
    return Attention(a.Tensor(0), a.Tensor(1), a.Tensor(2), a.OptTensor(3), a.OptNumber(4).value_or(0.0), a.Bool(5),
                     a.OptNumber(6), a.Bool(7));
  });
  Def(env, exports, "pad", [](Args& a) {
    return at::pad(a.Tensor(0), a.Ints(1), a.Has(2) ? a.String(2) : "constant", a.OptNumber(3));
  });

  Def(env, exports, "add_", [](Args& a) {
    if (a.IsTensor(1)) a.Tensor(0).add_(a.Tensor(1), a.Has(2) ? a.Scalar(2) : at::Scalar(1));
    else a.Tensor(0).add_(a.Scalar(1));
  });
  Def(env, exports, "sub_", [](Args& a) {
    if (a.IsTensor(1)) a.Tensor(0).sub_(a.Tensor(1), a.Has(2) ? a.Scalar(2) : at::Scalar(1));
    else a.Tensor(0).sub_(a.Scalar(1));
  });
  Def(env, exports, "mul_", [](Args& a) {
    if (a.IsTensor(1)) a.Tensor(0).mul_(a.Tensor(1));
    else a.Tensor(0).mul_(a.Scalar(1));
  });
  Def(env, exports, "div_", [](Args& a) {
    if (a.IsTensor(1)) a.Tensor(0).div_(a.Tensor(1));
    else a.Tensor(0).div_(a.Scalar(1));
  });
  Def(env, exports, "copy_", [](Args& a) { a.Tensor(0).copy_(a.Tensor(1)); });
  Def(env, exports, "zero_", [](Args& a) { a.Tensor(0).zero_(); });
  Def(env, exports, "fill_", [](Args& a) { a.Tensor(0).fill_(a.Scalar(1)); });
  Def(env, exports, "clamp_", [](Args& a) {
    std::optional<at::Scalar> lo, hi;
    if (a.Has(1)) lo = a.Scalar(1);
    if (a.Has(2)) hi = a.Scalar(2);
    a.Tensor(0).clamp_(lo, hi);
  });
  Def(env, exports, "maskedFill_", [](Args& a) { a.Tensor(0).masked_fill_(a.Tensor(1), a.Scalar(2)); });
  Def(env, exports, "indexCopy_", [](Args& a) { a.Tensor(0).index_copy_(a.Int(1), a.Tensor(2), a.Tensor(3)); });
  Def(env, exports, "normal_", [](Args& a) { a.Tensor(0).normal_(a.OptNumber(1).value_or(0.0), a.OptNumber(2).value_or(1.0)); });
  Def(env, exports, "uniform_", [](Args& a) { a.Tensor(0).uniform_(a.OptNumber(1).value_or(0.0), a.OptNumber(2).value_or(1.0)); });
}

}  // namespace np
