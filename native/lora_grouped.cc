// Mixed-adapter batches (PEFT's adapter_names): the base output for the whole batch, then ONE low-rank product per
// adapter group, accumulated in place into that group's rows. A group whose rows are consecutive works on views
// (no copies); a scattered group is gathered once, multiplied, and scattered back with index_add_. On CUDA with
// our kernels loaded, all groups run in one SGMV-style kernel pair instead; on CPU in float32 inference over a few
// rows of one token each (a mixed-adapter decode step), one pass over the rows (CpuGroupedKernel).
#include <ATen/Parallel.h>

#include <algorithm>

#include "bf16.h"
#include "convert.h"
#include "lora_kernels.h"
#include "registry.h"

namespace np {

namespace {
struct Group {
  int64_t adapter;
  std::vector<int64_t> rows;
  bool consecutive() const { return rows.back() - rows.front() + 1 == static_cast<int64_t>(rows.size()); }
};

// Rows grouped by adapter, in order of first appearance; rows with adapter -1 (the base model) are left out.
std::vector<Group> GroupRows(const std::vector<int64_t>& rowAdapter, size_t adapters) {
  std::vector<Group> groups;
  std::vector<int64_t> slot(adapters, -1);
  for (size_t row = 0; row < rowAdapter.size(); ++row) {
    int64_t a = rowAdapter[row];
    if (a < 0) continue;
    if (static_cast<size_t>(a) >= adapters) {
      throw std::invalid_argument("loraLinearGrouped: row " + std::to_string(row) + " names adapter " + std::to_string(a) +
                                  " but only " + std::to_string(adapters) + " were given");
    }
    if (slot[a] < 0) {
      slot[a] = static_cast<int64_t>(groups.size());
      groups.push_back({a, {}});
    }
    groups[slot[a]].rows.push_back(static_cast<int64_t>(row));
  }
  return groups;
}

bool GroupedKernelApplies(const at::Tensor& y, const at::Tensor& x, const std::vector<at::Tensor>& As,
                          const std::vector<at::Tensor>& Bs) {
  if (!y.is_cuda() || CudaKernels() == nullptr || c10::GradMode::is_enabled() || As.empty()) return false;
  if (KernelDtype(y) < 0 || x.scalar_type() != y.scalar_type() || !x.is_contiguous()) return false;
  for (size_t i = 0; i < As.size(); ++i) {
    if (As[i].size(0) != As[0].size(0) || As[i].scalar_type() != y.scalar_type() || Bs[i].scalar_type() != y.scalar_type() ||
        !As[i].is_contiguous() || !Bs[i].is_contiguous()) {
      return false;
    }
  }
  return true;
}

void GroupedKernel(at::Tensor& y2d, const at::Tensor& x2d, const std::vector<at::Tensor>& As,
                   const std::vector<at::Tensor>& Bs, const std::vector<double>& scales,
                   const std::vector<int64_t>& rowAdapter, int64_t seqLen) {
  size_t n = As.size();
  at::Tensor aPtrs = at::empty({static_cast<int64_t>(n)}, at::kLong), bPtrs = at::empty_like(aPtrs);
  at::Tensor scaleHost = at::empty({static_cast<int64_t>(n)}, at::kFloat);
  for (size_t i = 0; i < n; ++i) {
    aPtrs.data_ptr<int64_t>()[i] = reinterpret_cast<int64_t>(As[i].data_ptr());
    bPtrs.data_ptr<int64_t>()[i] = reinterpret_cast<int64_t>(Bs[i].data_ptr());
    scaleHost.data_ptr<float>()[i] = static_cast<float>(scales[i]);
  }
  at::Tensor rowsHost = at::empty({static_cast<int64_t>(rowAdapter.size())}, at::kInt);
  for (size_t i = 0; i < rowAdapter.size(); ++i) rowsHost.data_ptr<int32_t>()[i] = static_cast<int32_t>(rowAdapter[i]);
  at::Device device = y2d.device();
  at::Tensor aDev = aPtrs.to(device), bDev = bPtrs.to(device), sDev = scaleHost.to(device), rDev = rowsHost.to(device);
  at::Tensor h = at::empty({x2d.size(0), As[0].size(0)}, y2d.options().dtype(at::kFloat));
  int32_t status = CudaKernels()->groupedLowRankAdd(
      KernelDtype(y2d), x2d.data_ptr(), reinterpret_cast<const void* const*>(aDev.data_ptr<int64_t>()),
      reinterpret_cast<const void* const*>(bDev.data_ptr<int64_t>()), sDev.data_ptr<float>(), rDev.data_ptr<int32_t>(),
      seqLen, y2d.data_ptr(), h.data_ptr<float>(), x2d.size(0), x2d.size(1), As[0].size(0), Bs[0].size(0));
  if (status != 0) throw std::runtime_error("loraLinearGrouped: CUDA kernel failed with error " + std::to_string(status));
}

// CPU float32 inference on a decode step (one token per row, a different adapter per row, few rows): every row's
// low-rank term in one pass (h = scale·A x, y += B h), instead of two GEMMs and their bookkeeping per adapter
// group, which cost more than the arithmetic at this size. Its sums run in another order than the GEMMs', so it
// is kept to one-token rows: a mixed batch of whole sequences (serving's predict) stays bit-identical to each
// row's solo forward; a decode step agrees with it to float32 rounding.
constexpr int64_t kCpuGroupedMaxTokens = 64;  // rows

bool CpuGroupedApplies(const at::Tensor& y2d, const at::Tensor& x2d, const std::vector<at::Tensor>& As,
                       const std::vector<at::Tensor>& Bs, int64_t seqLen) {
  if (seqLen != 1 || !y2d.device().is_cpu() || c10::GradMode::is_enabled() || x2d.size(0) > kCpuGroupedMaxTokens) return false;
  if (y2d.scalar_type() != at::kFloat || x2d.scalar_type() != at::kFloat || !y2d.is_contiguous()) return false;
  for (size_t i = 0; i < As.size(); ++i) {
    if (As[i].scalar_type() != at::kFloat || Bs[i].scalar_type() != at::kFloat || !As[i].is_contiguous() ||
        !Bs[i].is_contiguous() || !As[i].device().is_cpu() || Bs[i].size(1) != As[i].size(0)) {
      return false;
    }
  }
  return true;
}

// Sum of a[i]·b[i] with eight running sums (vectorisable without reassociating a single sum).
inline float Dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void CpuGroupedKernel(at::Tensor& y2d, const at::Tensor& x2dIn, const std::vector<at::Tensor>& As,
                      const std::vector<at::Tensor>& Bs, const std::vector<double>& scales,
                      const std::vector<int64_t>& rowAdapter, int64_t seqLen) {
  at::Tensor x2d = x2dIn.contiguous();
  int64_t tokens = x2d.size(0), in = x2d.size(1), out = y2d.size(1), maxRank = 0;
  for (const at::Tensor& A : As) maxRank = std::max(maxRank, A.size(0));
  for (int64_t row = 0; row < static_cast<int64_t>(rowAdapter.size()); ++row) {
    if (rowAdapter[row] >= static_cast<int64_t>(As.size())) {
      throw std::invalid_argument("loraLinearGrouped: row " + std::to_string(row) + " names adapter " +
                                  std::to_string(rowAdapter[row]) + " but only " + std::to_string(As.size()) + " were given");
    }
  }
  const float* x = x2d.data_ptr<float>();
  float* y = y2d.data_ptr<float>();
  at::parallel_for(0, tokens, 4, [&](int64_t begin, int64_t end) {
    std::vector<float> h(static_cast<size_t>(maxRank));
    for (int64_t t = begin; t < end; ++t) {
      int64_t adapter = rowAdapter[t / seqLen];
      if (adapter < 0) continue;
      const at::Tensor &A = As[adapter], &B = Bs[adapter];
      int64_t rank = A.size(0);
      const float *a = A.data_ptr<float>(), *b = B.data_ptr<float>(), *xt = x + t * in;
      float scale = static_cast<float>(scales[adapter]);
      for (int64_t k = 0; k < rank; ++k) h[k] = scale * Dot(a + k * in, xt, in);
      float* yt = y + t * out;
      for (int64_t o = 0; o < out; ++o) yt[o] += Dot(b + o * rank, h.data(), rank);
    }
  });
}
}  // namespace

void RegisterLoraGrouped(Napi::Env env, Napi::Object exports) {
  // loraLinearGrouped(x [batch, ..., in], weight, bias?, As[], Bs[], scales[], rowAdapter[batch], fanInFanOut):
  // base(x) plus, for each batch row, the low-rank term of adapter rowAdapter[row] (-1 = none).
  Def(env, exports, "loraLinearGrouped", [](Args& a) {
    const at::Tensor& x = a.Tensor(0);
    bool fanInFanOut = a.Bool(7);
    at::Tensor W = OutIn(a.Tensor(1), fanInFanOut);
    std::optional<at::Tensor> bias = a.OptTensor(2);
    std::vector<at::Tensor> As = a.Tensors(3), Bs = a.Tensors(4);
    std::vector<double> scales = a.Numbers(5);
    std::vector<int64_t> rowAdapter = a.Ints(6);
    if (As.size() != Bs.size() || As.size() != scales.size()) {
      throw std::invalid_argument("loraLinearGrouped: As, Bs and scales must have the same length");
    }
    int64_t in = W.size(1), out = W.size(0);
    if (x.dim() < 2 || x.size(-1) != in) {
      throw std::invalid_argument("loraLinearGrouped: x must be [batch, ..., " + std::to_string(in) + "]");
    }
    if (static_cast<int64_t>(rowAdapter.size()) != x.size(0)) {
      throw std::invalid_argument("loraLinearGrouped: rowAdapter has " + std::to_string(rowAdapter.size()) +
                                  " entries but the batch has " + std::to_string(x.size(0)) + " rows");
    }
    at::Tensor x2d = x.reshape({-1, in});
    int64_t seqLen = x.size(0) == 0 ? 1 : x2d.size(0) / x.size(0);
    at::Tensor y2d = LowPrecisionLinear(x2d, W, bias.value_or(at::Tensor()));
    std::vector<int64_t> outShape = OutShape(x, out);
    if (GroupedKernelApplies(y2d, x2d, As, Bs)) {
      GroupedKernel(y2d, x2d, As, Bs, scales, rowAdapter, seqLen);
      return y2d.view(outShape);
    }
    if (CpuGroupedApplies(y2d, x2d, As, Bs, seqLen)) {
      CpuGroupedKernel(y2d, x2d, As, Bs, scales, rowAdapter, seqLen);
      return y2d.view(outShape);
    }
    for (const Group& g : GroupRows(rowAdapter, As.size())) {
      const at::Tensor &A = As[g.adapter], &B = Bs[g.adapter];
      double scale = scales[g.adapter];
      if (g.consecutive()) {
        at::Tensor ys = y2d.narrow(0, g.rows.front() * seqLen, static_cast<int64_t>(g.rows.size()) * seqLen);
        AddLowRank(ys, x2d.narrow(0, g.rows.front() * seqLen, ys.size(0)), A, B, scale);
        continue;
      }
      std::vector<int64_t> tokens;
      tokens.reserve(g.rows.size() * seqLen);
      for (int64_t row : g.rows) for (int64_t t = 0; t < seqLen; ++t) tokens.push_back(row * seqLen + t);
      at::Tensor index = at::tensor(tokens, at::TensorOptions().dtype(at::kLong)).to(x.device());
      at::Tensor part = at::mm(at::mm(x2d.index_select(0, index).to(A.scalar_type()), A.t()), B.t());
      y2d.index_add_(0, index, part.to(y2d.scalar_type()), scale);
    }
    return y2d.view(outShape);
  });
}

}  // namespace np
