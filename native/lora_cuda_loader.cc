// loraCudaLoad(path): opens node_peft_cuda.so (our .cu LoRA kernels) once CUDA LibTorch libraries are loaded.
#include <dlfcn.h>

#include "convert.h"
#include "lora_kernels.h"
#include "registry.h"

namespace np {

namespace {
LoraCudaKernels loaded;
bool ready = false;
}  // namespace

const LoraCudaKernels* CudaKernels() { return ready ? &loaded : nullptr; }

int32_t KernelDtype(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return kLoraF32;
    case at::kHalf: return kLoraF16;
    case at::kBFloat16: return kLoraBF16;
    default: return -1;
  }
}

void RegisterLoraCuda(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "loraCudaLoad", [](Args& a) {
    if (ready) return true;
    if (!at::hasCUDA()) throw std::runtime_error("loraCudaLoad: the loaded LibTorch has no CUDA support");
    std::string path = a.String(0);
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) throw std::runtime_error("loraCudaLoad: cannot open " + path + ": " + dlerror());
    auto lowRank = reinterpret_cast<LoraLowRankAddFn>(dlsym(lib, "np_lora_low_rank_add"));
    auto grouped = reinterpret_cast<LoraGroupedLowRankAddFn>(dlsym(lib, "np_lora_grouped_low_rank_add"));
    if (!lowRank || !grouped) throw std::runtime_error("loraCudaLoad: " + path + " lacks the np_lora_* entry points");
    loaded.lowRankAdd = lowRank;
    loaded.groupedLowRankAdd = grouped;
    ready = true;
    return true;
  });
  Def(env, exports, "loraCudaLoaded", [](Args& a) { return ready; });
}

}  // namespace np
