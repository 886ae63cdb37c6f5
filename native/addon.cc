#include <napi.h>

#include "common.h"
#include "convert.h"
#include "registry.h"
#include "tensor.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new np::AddonData();
  env.SetInstanceData(data);
  np::Def(env, exports, "setErrorClass", [](np::Args& a) {
    np::Data(a.Env()).errorClass = Napi::Persistent(a.Raw(0).As<Napi::Function>());
  });
  np::RegisterCpuCache(env, exports);  // first: every tensor after this is served by the cache
  np::RegisterTensor(env, exports);
  np::RegisterCreationOps(env, exports);
  np::RegisterShapeOps(env, exports);
  np::RegisterMathOps(env, exports);
  np::RegisterNNOps(env, exports);
  np::RegisterAutograd(env, exports);
  np::RegisterOptim(env, exports);
  np::RegisterLora(env, exports);
  np::RegisterRuntime(env, exports);
  np::RegisterIO(env, exports);
  np::RegisterLoraGrouped(env, exports);
  np::RegisterLoraCuda(env, exports);
  np::RegisterFused(env, exports);
  np::RegisterDistributed(env, exports);
  np::RegisterGemm(env, exports);
  np::RegisterBf16(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(node_peft, Init)
