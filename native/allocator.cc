// glibc malloc settings for tensor workloads. With glibc's defaults the heap top is given back to the kernel whenever
// more than twice the (dynamic) mmap threshold lies free there, so a training step that frees its activations at
// the end re-faults tens of megabytes of fresh pages on the next step (~15k page faults per W1 step, ~20 ms).
// Keeping up to 256 MiB of free heap and serving blocks below 32 MiB (glibc's own dynamic ceiling) from the heap
// makes the pages reused instead. Applied once when the addon loads, unless the process already sets
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ (then glibc's environment tuning is left as given) or
// NODE_PEFT_MALLOC_TUNING=0.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
constexpr int kMmapThreshold = 32 << 20;
constexpr int kTrimThreshold = 256 << 20;

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

bool TuneMalloc() {
#if defined(__GLIBC__)
  const char* optOut = std::getenv("NODE_PEFT_MALLOC_TUNING");
  if (optOut != nullptr && std::strcmp(optOut, "0") == 0) return false;
  if (EnvSet("MALLOC_MMAP_THRESHOLD_") || EnvSet("MALLOC_TRIM_THRESHOLD_")) return false;
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
#else
  return false;
#endif
}
}  // namespace

void RegisterAllocator(Napi::Env env, Napi::Object exports) {
  static const bool tuned = TuneMalloc();
  // mallocTuned() -> whether the settings above were applied in this process.
  Def(env, exports, "mallocTuned", [](Args& a) { return tuned; });
}

}  // namespace np
