// Tensor handles: a JS External that encodes (slot, generation) in the env's table of live tensors.
// A handle holds no native allocation of its own, so handles waiting for garbage collection pin no
// heap memory; dispose() frees the tensor at once and the slot is reused. Use after dispose is
// detected by the generation. The GC safety net for undisposed tensors lives in lib/tensor/tensor.ts.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>

namespace np {

// A new handle owning `tensor`.
Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor);
// Whether the value is a tensor handle (live or disposed).
bool IsTensorHandle(Napi::Value value);
// The tensor behind a handle; throws a TorchError when it was disposed. `value` must be a handle.
const at::Tensor& TensorOf(Napi::Value value);

void RegisterTensor(Napi::Env env, Napi::Object exports);

}  // namespace np
