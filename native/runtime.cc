// Process-wide runtime settings: seed, threads, versions, CUDA availability.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ops/_nnpack_available.h>
#include <cstdio>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif
#include <torch/headeronly/version.h>

#include "convert.h"
#include "registry.h"

namespace np {

// Whether NNPACK initialises on this CPU. ATen logs "Could not initialize NNPACK!" to stderr on every check where it
// does not, so this one check runs with stderr pointed at /dev/null; the answer is kept for the process.
static bool NnpackAvailableQuietly() {
  static const bool available = [] {
#ifndef _WIN32
    std::fflush(stderr);
    int saved = dup(2);
    int devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0) dup2(devnull, 2);
    bool ok = at::_nnpack_available();
    std::fflush(stderr);
    if (saved >= 0) {
      dup2(saved, 2);
      close(saved);
    }
    if (devnull >= 0) close(devnull);
    return ok;
#else
    return at::_nnpack_available();
#endif
  }();
  return available;
}

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
  Def(env, exports, "nnpackAvailable", [](Args& a) { return NnpackAvailableQuietly(); });
  Def(env, exports, "nnpackEnabled", [](Args& a) { return at::globalContext().userEnabledNNPACK(); });
  Def(env, exports, "setNnpackEnabled", [](Args& a) { at::globalContext().setUserEnabledNNPACK(a.Bool(0)); });
  Def(env, exports, "cudaDeviceCount", [](Args& a) { return static_cast<int64_t>(at::getNumGPUs()); });
}

}  // namespace np
