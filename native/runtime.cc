// Process-wide runtime settings: seed, threads, versions, CUDA availability.
#include <ATen/Parallel.h>
#include <torch/headeronly/version.h>

#include "convert.h"
#include "registry.h"

namespace np {

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "manualSeed", [](Args& a) { at::manual_seed(static_cast<uint64_t>(a.Int(0))); });
  Def(env, exports, "getNumThreads", [](Args& a) { return static_cast<int64_t>(at::get_num_threads()); });
  Def(env, exports, "setNumThreads", [](Args& a) {
    int64_t n = a.Int(0);
    if (n < 1) throw std::invalid_argument("setNumThreads: expected a positive count, got " + std::to_string(n));
    at::set_num_threads(static_cast<int>(n));
  });
  Def(env, exports, "torchVersion", [](Args& a) { return std::string(TORCH_VERSION); });
  Def(env, exports, "cudaIsAvailable", [](Args& a) { return at::hasCUDA(); });
  Def(env, exports, "cudaDeviceCount", [](Args& a) { return static_cast<int64_t>(at::getNumGPUs()); });
}

}  // namespace np
