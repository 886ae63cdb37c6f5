// Each group of entry points registers itself on the addon's exports.
#pragma once
#include <napi.h>

namespace np {
void RegisterTensor(Napi::Env env, Napi::Object exports);
void RegisterCreationOps(Napi::Env env, Napi::Object exports);
void RegisterShapeOps(Napi::Env env, Napi::Object exports);
void RegisterMathOps(Napi::Env env, Napi::Object exports);
void RegisterNNOps(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterOptim(Napi::Env env, Napi::Object exports);
void RegisterLora(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
void RegisterIO(Napi::Env env, Napi::Object exports);
void RegisterLoraGrouped(Napi::Env env, Napi::Object exports);
void RegisterLoraCuda(Napi::Env env, Napi::Object exports);
void RegisterCpuCache(Napi::Env env, Napi::Object exports);
void RegisterFused(Napi::Env env, Napi::Object exports);
void RegisterDistributed(Napi::Env env, Napi::Object exports);
void RegisterGemm(Napi::Env env, Napi::Object exports);
void RegisterBf16(Napi::Env env, Napi::Object exports);
}  // namespace np
