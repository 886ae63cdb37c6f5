// JS <-> C++ conversions: the only place that reads JS arguments or builds JS results.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "common.h"

namespace np {

at::ScalarType DtypeFromName(const std::string& name);
const char* DtypeName(at::ScalarType dtype);
std::string DeviceName(const at::Device& device);

// Positional arguments of one native call. Missing, undefined and null all mean "absent".
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* name) : info_(info), name_(name) {}
  Napi::Env Env() const { return info_.Env(); }
  bool Has(size_t i) const;
  Napi::Value Raw(size_t i) const { return info_[i]; }

  const at::Tensor& Tensor(size_t i) const;
  std::optional<at::Tensor> OptTensor(size_t i) const;
  std::vector<at::Tensor> Tensors(size_t i) const;
  int64_t Int(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  double Number(size_t i) const;
  std::optional<double> OptNumber(size_t i) const;
  bool Bool(size_t i) const;
  std::vector<int64_t> Ints(size_t i) const;
  std::optional<std::vector<int64_t>> OptInts(size_t i) const;
  std::vector<double> Numbers(size_t i) const;
  at::Scalar Scalar(size_t i) const;
  std::string String(size_t i) const;
  at::ScalarType Dtype(size_t i) const;
  std::optional<at::ScalarType> OptDtype(size_t i) const;
  at::Device Device(size_t i) const;
  // A tensor or a JS number/boolean (as a 0-dim "wrapped number", so type promotion matches Python).
  at::Tensor TensorOrScalar(size_t i) const;
  bool IsTensor(size_t i) const;
  // dtype at i, device at i+1 (both optional; default float32 on cpu).
  at::TensorOptions Options(size_t i, at::ScalarType fallback = at::kFloat) const;

 private:
  [[noreturn]] void Fail(size_t i, const char* expected) const;
  const Napi::CallbackInfo& info_;
  const char* name_;  // the entry point's name, for error messages
};

Napi::Value ToJs(Napi::Env env, const at::Tensor& t);
Napi::Value ToJs(Napi::Env env, const std::vector<at::Tensor>& ts);
Napi::Value ToJs(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& ts);
Napi::Value ToJs(Napi::Env env, const std::vector<int64_t>& xs);
Napi::Value ToJs(Napi::Env env, const at::Scalar& s);
Napi::Value ToJs(Napi::Env env, double v);
Napi::Value ToJs(Napi::Env env, int64_t v);
Napi::Value ToJs(Napi::Env env, bool v);
Napi::Value ToJs(Napi::Env env, const std::string& v);
Napi::Value ToJs(Napi::Env env, Napi::Value v);

// Defines exports[name] as a native function: arguments through Args, result through ToJs,
// exceptions through Guard. This is the single way the addon exposes anything.
template <typename Fn>
void Def(Napi::Env env, Napi::Object exports, const char* name, Fn fn) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          return Guard(info.Env(), [&]() -> Napi::Value {
                            Args args(info, name);
                            if constexpr (std::is_void_v<decltype(fn(args))>) {
                              fn(args);
                              return info.Env().Undefined();
                            } else {
                              return ToJs(info.Env(), fn(args));
                            }
                          });
                        },
                        name));
}

}  // namespace np
