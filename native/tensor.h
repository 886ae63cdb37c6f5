// TensorHandle: a JS object that owns one at::Tensor until dispose() or garbage collection.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>

namespace np {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
  // nullptr when the value is not a TensorHandle.
  static TensorHandle* From(Napi::Value value);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  const at::Tensor& Get() const;
  bool Disposed() const { return !tensor_.defined(); }
  void Dispose();

 private:
  void Release();
  at::Tensor tensor_;
  int64_t reported_bytes_ = 0;
};

void RegisterTensor(Napi::Env env, Napi::Object exports);

}  // namespace np
