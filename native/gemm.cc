// The fp32 GEMM paths. MKL: at::linear / at::mm. oneDNN: mkldnn::_linear_pointwise over a weight reordered once by
// mkldnn::_reorder_linear_weight into oneDNN's blocked layout. The packed copies live in a cache keyed by the weight's
// storage and geometry, checked against its version counter (in-place writes such as merge, unmerge and copy_ bump it)
// and dropped once the weight's storage is gone. Only frozen (no grad) fp32 CPU weights are routed: a trainable
// weight changes every step and packing it per call costs more than it saves.
#include "gemm.h"
#include "bf16.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>

#include <chrono>
#include <map>
#include <mutex>
#include <tuple>

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
enum class GemmPath { kMkl, kOnednn };

struct Settings {
  GemmPath path = GemmPath::kMkl;
  int64_t minRows = 16;  // fewer rows (decode steps, GEMV-like) stay on MKL
  int64_t packRows = 0;  // the row count weights are packed for; 0 = the rows of the product that packs them
};
Settings settings;

const char* PathName(GemmPath path) { return path == GemmPath::kOnednn ? "onednn" : "mkl"; }

GemmPath ParsePath(const std::string& name) {
  if (name == "mkl") return GemmPath::kMkl;
  if (name == "onednn") {
    if (!at::hasMKLDNN()) throw std::invalid_argument("GEMM path 'onednn': this LibTorch was built without oneDNN");
    return GemmPath::kOnednn;
  }
  throw std::invalid_argument("GEMM path must be 'mkl' or 'onednn', got '" + name + "'");
}

at::Tensor ReorderWeight(const at::Tensor& w, int64_t rowsHint) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mkldnn::_reorder_linear_weight", "")
                       .typed<at::Tensor(const at::Tensor&, std::optional<int64_t>)>();
  return op.call(w, rowsHint);
}

at::Tensor LinearPointwise(const at::Tensor& x2d, const at::Tensor& packed, const std::optional<at::Tensor>& bias) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                         c10::string_view, c10::List<std::optional<at::Scalar>>,
                                         std::optional<c10::string_view>)>();
  return op.call(x2d, packed, bias, "none", c10::List<std::optional<at::Scalar>>(), c10::string_view(""));
}

// ---- the packed-weight cache ----
using Key = std::tuple<const void*, int64_t, int64_t, int64_t, int64_t, int64_t>;  // storage, offset, sizes, strides

struct Entry {
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  int64_t version;
  at::Tensor packed;
  int64_t bytes;
};

struct Cache {
  std::mutex mutex;
  std::map<Key, Entry> entries;
  int64_t bytes = 0, packs = 0, hits = 0, lookupsSinceSweep = 0;

  void SweepLocked() {
    lookupsSinceSweep = 0;
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->second.storage.expired()) {
        bytes -= it->second.bytes;
        it = entries.erase(it);
      } else {
        ++it;
      }
    }
  }
};
Cache cache;

Key KeyOf(const at::Tensor& w) {
  return {w.storage().unsafeGetStorageImpl(), w.storage_offset(), w.size(0), w.size(1), w.stride(0), w.stride(1)};
}

// w [out, in] (any strides) packed for oneDNN; repacked when w's version moved on.
at::Tensor Packed(const at::Tensor& w, int64_t rows) {
  Key key = KeyOf(w);
  int64_t version = w._version();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (++cache.lookupsSinceSweep >= 4096) cache.SweepLocked();
    auto it = cache.entries.find(key);
    if (it != cache.entries.end() && it->second.version == version && !it->second.storage.expired()) {
      ++cache.hits;
      return it->second.packed;
    }
  }
  at::Tensor packed = ReorderWeight(w.contiguous(), rows);
  int64_t bytes = w.numel() * static_cast<int64_t>(w.element_size());
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.SweepLocked();
  auto it = cache.entries.find(key);
  if (it != cache.entries.end()) {
    cache.bytes -= it->second.bytes;
    cache.entries.erase(it);
  }
  cache.entries.emplace(key, Entry{w.storage().getWeakStorageImpl(), version, packed, bytes});
  cache.bytes += bytes;
  ++cache.packs;
  return packed;
}

// Whether y = x w^T goes through oneDNN: the oneDNN path chosen, fp32 dense CPU tensors, enough rows, and no gradient
// for w in this call (frozen, or under no-grad: a trainable weight evaluated is packed once per version, so a model
// gives the same outputs in its trainer's evaluation as when reloaded frozen).
bool Routed(const at::Tensor& w, const at::Tensor& x, int64_t rows) {
  return settings.path == GemmPath::kOnednn && rows >= settings.minRows && w.dim() == 2 && w.numel() > 0 &&
         !(w.requires_grad() && c10::GradMode::is_enabled()) && !w.is_inference() && w.is_cpu() && x.is_cpu() &&
         w.layout() == at::kStrided &&
         x.layout() == at::kStrided && w.scalar_type() == at::kFloat && x.scalar_type() == at::kFloat;
}

at::Tensor OnednnLinear(const at::Tensor& x2d, const at::Tensor& w, const at::Tensor& bias) {
  at::NoGradGuard noGrad;
  at::Tensor packed = Packed(w, settings.packRows > 0 ? settings.packRows : x2d.size(0));
  std::optional<at::Tensor> b;
  if (bias.defined()) b = bias.contiguous();
  return LinearPointwise(x2d.contiguous(), packed, b);
}

at::Tensor LinearNoGrad(const at::Tensor& x2d, const at::Tensor& W, const at::Tensor& bias) {
  if (Routed(W, x2d, x2d.size(0))) return OnednnLinear(x2d, W, bias);
  return bias.defined() ? at::addmm(bias, x2d, W.t()) : at::mm(x2d, W.t());
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = x W^T + b with W frozen: backward gives dx = g W (through W^T packed for oneDNN) and db = sum(g).
struct FrozenLinearFn : public torch::autograd::Function<FrozenLinearFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x2d, const at::Tensor& W,
                            const std::optional<at::Tensor>& bias) {
    ctx->save_for_backward({W});
    ctx->saved_data["hasBias"] = bias.has_value();
    return LinearNoGrad(x2d, W, bias.value_or(at::Tensor()));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor W = ctx->get_saved_variables()[0];
    const at::Tensor& g = grads[0];
    at::Tensor dx, dbias;
    if (ctx->needs_input_grad(0)) dx = RoutedGradInput(g, W);
    if (ctx->saved_data["hasBias"].toBool() && ctx->needs_input_grad(2)) dbias = g.sum(0);
    return {dx, at::Tensor(), dbias};
  }
};

std::vector<int64_t> WithLastDim(const at::Tensor& x, int64_t last) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = last;
  return shape;
}

// Best nanoseconds of a product [m, k] x [k, n] on each path, the calls alternating between paths (on a shared machine both
// then see the same load); oneDNN's weight is packed beforehand, as the cache does. -1 for a path this build lacks.
std::vector<int64_t> ComparePaths(int64_t m, int64_t k, int64_t n, int64_t rounds) {
  at::NoGradGuard noGrad;
  at::Tensor x = at::rand({m, k}).sub_(0.5);
  at::Tensor w = at::rand({n, k}).sub_(0.5);
  bool onednn = at::hasMKLDNN();
  at::Tensor packed = onednn ? ReorderWeight(w, m) : at::Tensor();
  auto nanos = [](auto&& fn) {
    auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  };
  auto mkl = [&] { at::mm(x, w.t()); };
  auto dnn = [&] { LinearPointwise(x, packed, std::nullopt); };
  mkl();
  if (onednn) dnn();
  int64_t bestMkl = INT64_MAX, bestDnn = onednn ? INT64_MAX : -1;
  for (int64_t i = 0; i < rounds; ++i) {
    bestMkl = std::min(bestMkl, nanos(mkl));
    if (onednn) bestDnn = std::min(bestDnn, nanos(dnn));
  }
  return {bestMkl, bestDnn};
}
}  // namespace

at::Tensor RoutedLinear(const at::Tensor& x, const at::Tensor& W, const at::Tensor& bias) {
  int64_t in = W.dim() == 2 ? W.size(1) : 0;
  int64_t rows = (x.dim() >= 1 && in > 0 && x.size(-1) == in) ? x.numel() / in : 0;
  bool plainBias = !bias.defined() || (bias.scalar_type() == at::kFloat && bias.is_cpu());
  // Anything unusual (a bias of another dtype included) keeps at::linear, with its own checks and messages.
  if (rows == 0 || !plainBias || !Routed(W, x, rows)) return at::linear(x, W, bias.defined() ? std::optional(bias) : std::nullopt);
  at::Tensor x2d = x.reshape({rows, in});
  bool grad = c10::GradMode::is_enabled() && (x.requires_grad() || (bias.defined() && bias.requires_grad()));
  at::Tensor y2d = grad ? FrozenLinearFn::apply(x2d, W, bias.defined() ? std::optional(bias) : std::nullopt)
                        : LinearNoGrad(x2d, W, bias);
  return y2d.view(WithLastDim(x, W.size(0)));
}

at::Tensor RoutedGradInput(const at::Tensor& g2d, const at::Tensor& W) {
  if (Routed(W, g2d, g2d.size(0))) return OnednnLinear(g2d, W.t(), at::Tensor());
  return at::mm(g2d, W);
}

void RegisterGemm(Napi::Env env, Napi::Object exports) {
  // linear(x, weight, bias?) -> x weight^T + bias, as torch.nn.functional.linear, on the chosen GEMM path.
  Def(env, exports, "linear", [](Args& a) {
    return Linear(a.Tensor(0), a.Tensor(1), a.OptTensor(2));  // bf16 widened where that pays, else RoutedLinear
  });
  // gemmHasOnednn() -> whether this LibTorch has oneDNN (MKL's path, at::mm, is always there).
  Def(env, exports, "gemmHasOnednn", [](Args&) { return at::hasMKLDNN(); });
  // gemmSetPath(path, minRows, packRows): frozen fp32 Linears with at least minRows rows take `path` from now on,
  // their weights packed for packRows rows (0 = the rows of the first product).
  Def(env, exports, "gemmSetPath", [](Args& a) {
    GemmPath path = ParsePath(a.String(0));
    int64_t minRows = a.Int(1), packRows = a.Int(2);
    if (minRows < 1 || packRows < 0) throw std::invalid_argument("gemmSetPath: minRows must be at least 1, packRows at least 0");
    settings = Settings{path, minRows, packRows};
  });
  Def(env, exports, "gemmPath", [](Args&) { return std::string(PathName(settings.path)); });
  // gemmCompare(m, k, n, rounds) -> [best nanoseconds on MKL, on oneDNN (-1 without it)], calls interleaved.
  Def(env, exports, "gemmCompare", [](Args& a) {
    int64_t m = a.Int(0), k = a.Int(1), n = a.Int(2), rounds = a.Int(3);
    if (m < 1 || k < 1 || n < 1 || rounds < 1) throw std::invalid_argument("gemmCompare: sizes and rounds must be positive");
    return ComparePaths(m, k, n, rounds);
  });
  // gemmCacheStats() -> [packed weights held, their bytes, packs done, hits]; sweeps the weights that are gone first.
  Def(env, exports, "gemmCacheStats", [](Args&) {
    std::lock_guard<std::mutex> lock(cache.mutex);
    cache.SweepLocked();
    return std::vector<int64_t>{static_cast<int64_t>(cache.entries.size()), cache.bytes, cache.packs, cache.hits};
  });
  // gemmCacheClear(): drops every packed weight (they are repacked at their next use).
  Def(env, exports, "gemmCacheClear", [](Args&) {
    std::lock_guard<std::mutex> lock(cache.mutex);
    cache.entries.clear();
    cache.bytes = 0;
  });
}

}  // namespace np
