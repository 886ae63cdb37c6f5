#include "convert.h"

#include <stdexcept>

#include "tensor.h"

namespace np {

namespace {
struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};
constexpr DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
    {"uint8", at::kByte},    {"bool", at::kBool},
};
}  // namespace

at::ScalarType DtypeFromName(const std::string& name) {
  for (const auto& entry : kDtypes)
    if (name == entry.name) return entry.type;
  throw std::invalid_argument("unknown dtype '" + name + "'");
}

const char* DtypeName(at::ScalarType dtype) {
  for (const auto& entry : kDtypes)
    if (dtype == entry.type) return entry.name;
  return c10::toString(dtype);
}

std::string DeviceName(const at::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.str();
}

namespace {
std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsArray()) return "an array";
  if (v.IsString()) return "string '" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsNumber()) return "number " + v.ToString().Utf8Value();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsFunction()) return "a function";
  return "an object";
}
}  // namespace

void Args::Fail(size_t i, const char* expected) const {
  std::string got = i < info_.Length() ? Describe(info_[i]) : "nothing";
  throw MakeError(Env(), std::string(name_) + ": argument " + std::to_string(i) + ": expected " + expected + ", got " + got);
}

bool Args::Has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }

bool Args::IsTensor(size_t i) const { return Has(i) && IsTensorHandle(info_[i]); }

const at::Tensor& Args::Tensor(size_t i) const {
  if (!IsTensor(i)) Fail(i, "a tensor");
  return TensorOf(info_[i]);
}

std::optional<at::Tensor> Args::OptTensor(size_t i) const {
  if (!Has(i)) return std::nullopt;
  return Tensor(i);
}

std::vector<at::Tensor> Args::Tensors(size_t i) const {
  if (!Has(i) || !info_[i].IsArray()) Fail(i, "an array of tensors");
  Napi::Array array = info_[i].As<Napi::Array>();
  std::vector<at::Tensor> result;
  result.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value item = array.Get(k);
    if (!IsTensorHandle(item)) Fail(i, "an array of tensors");
    result.push_back(TensorOf(item));
  }
  return result;
}

int64_t Args::Int(size_t i) const {
  if (!Has(i)) Fail(i, "an integer");
  if (info_[i].IsBigInt()) {
    bool lossless = true;
    return info_[i].As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (!info_[i].IsNumber()) Fail(i, "an integer");
  return info_[i].As<Napi::Number>().Int64Value();
}

std::optional<int64_t> Args::OptInt(size_t i) const {
  if (!Has(i)) return std::nullopt;
  return Int(i);
}

double Args::Number(size_t i) const {
  if (!Has(i) || !info_[i].IsNumber()) Fail(i, "a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

std::optional<double> Args::OptNumber(size_t i) const {
  if (!Has(i)) return std::nullopt;
  return Number(i);
}

bool Args::Bool(size_t i) const {
  if (!Has(i)) return false;
  return info_[i].ToBoolean().Value();
}

std::vector<int64_t> Args::Ints(size_t i) const {
  if (!Has(i)) Fail(i, "an array of integers");
  if (info_[i].IsNumber()) return {Int(i)};
  if (!info_[i].IsArray()) Fail(i, "an array of integers");
  Napi::Array array = info_[i].As<Napi::Array>();
  std::vector<int64_t> result(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) Fail(i, "an array of integers");
    result[k] = v.As<Napi::Number>().Int64Value();
  }
  return result;
}

std::optional<std::vector<int64_t>> Args::OptInts(size_t i) const {
  if (!Has(i)) return std::nullopt;
  return Ints(i);
}

std::vector<double> Args::Numbers(size_t i) const {
  if (!Has(i) || !info_[i].IsArray()) Fail(i, "an array of numbers");
  Napi::Array array = info_[i].As<Napi::Array>();
  std::vector<double> result(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) Fail(i, "an array of numbers");
    result[k] = v.As<Napi::Number>().DoubleValue();
  }
  return result;
}

at::Scalar Args::Scalar(size_t i) const {
  if (!Has(i)) Fail(i, "a number");
  Napi::Value v = info_[i];
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless = true;
    return at::Scalar(static_cast<int64_t>(v.As<Napi::BigInt>().Int64Value(&lossless)));
  }
  if (!v.IsNumber()) Fail(i, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // Integral JS numbers become integer scalars, as Python ints do.
  if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9007199254740992.0)
    return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

at::Tensor Args::TensorOrScalar(size_t i) const {
  if (IsTensor(i)) return Tensor(i);
  at::Tensor t = at::scalar_to_tensor(Scalar(i));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

std::string Args::String(size_t i) const {
  if (!Has(i) || !info_[i].IsString()) Fail(i, "a string");
  return info_[i].As<Napi::String>().Utf8Value();
}

at::ScalarType Args::Dtype(size_t i) const { return DtypeFromName(String(i)); }

std::optional<at::ScalarType> Args::OptDtype(size_t i) const {
  if (!Has(i)) return std::nullopt;
  return Dtype(i);
}

at::Device Args::Device(size_t i) const {
  if (!Has(i)) return at::Device(at::kCPU);
  return at::Device(String(i));
}

at::TensorOptions Args::Options(size_t i, at::ScalarType fallback) const {
  return at::TensorOptions().dtype(OptDtype(i).value_or(fallback)).device(Device(i + 1));
}

Napi::Value ToJs(Napi::Env env, const at::Tensor& t) {
  if (!t.defined()) return env.Null();
  return WrapTensor(env, t);
}

Napi::Value ToJs(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array array = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); ++k) array.Set(static_cast<uint32_t>(k), ToJs(env, ts[k]));
  return array;
}

Napi::Value ToJs(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& ts) {
  return ToJs(env, std::vector<at::Tensor>{std::get<0>(ts), std::get<1>(ts)});
}

Napi::Value ToJs(Napi::Env env, const std::vector<int64_t>& xs) {
  Napi::Array array = Napi::Array::New(env, xs.size());
  for (size_t k = 0; k < xs.size(); ++k) array.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(xs[k])));
  return array;
}

Napi::Value ToJs(Napi::Env env, const at::Scalar& s) {
  if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
  return Napi::Number::New(env, s.toDouble());
}

Napi::Value ToJs(Napi::Env env, double v) { return Napi::Number::New(env, v); }
Napi::Value ToJs(Napi::Env env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }
Napi::Value ToJs(Napi::Env env, bool v) { return Napi::Boolean::New(env, v); }
Napi::Value ToJs(Napi::Env env, const std::string& v) { return Napi::String::New(env, v); }
Napi::Value ToJs(Napi::Env env, Napi::Value v) { return v; }

}  // namespace np
