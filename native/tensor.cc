#include "tensor.h"

#include "common.h"
#include "convert.h"

namespace np {

namespace {
int64_t ReportedBytes(const at::Tensor& t) {
  return t.defined() && t.has_storage() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
}
}  // namespace

Napi::Function TensorHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<TensorHandle>::DefineClass(env, "TensorHandle", {});
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

TensorHandle::~TensorHandle() { Release(); }

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor tensor) {
  AddonData& data = Data(env);
  Napi::Object object = data.tensorClass.New({});
  TensorHandle* handle = Unwrap(object);
  handle->reported_bytes_ = ReportedBytes(tensor);
  handle->tensor_ = std::move(tensor);
  data.liveTensors++;
  if (handle->reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, handle->reported_bytes_);
  return object;
}

TensorHandle* TensorHandle::From(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  void* result = nullptr;
  if (napi_unwrap(value.Env(), value, &result) != napi_ok) return nullptr;
  return static_cast<TensorHandle*>(result);
}

const at::Tensor& TensorHandle::Get() const {
  if (!tensor_.defined()) throw Napi::Error::New(Env(), "Tensor was used after dispose()");
  return tensor_;
}

void TensorHandle::Release() {
  if (!tensor_.defined()) return;
  tensor_ = at::Tensor();
  Napi::Env env = Env();
  Data(env).liveTensors--;
  if (reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
  reported_bytes_ = 0;
}

void TensorHandle::Dispose() { Release(); }

void RegisterTensor(Napi::Env env, Napi::Object exports) {
  Def(env, exports, "dispose", [](Args& a) {
    TensorHandle* handle = TensorHandle::From(a.Raw(0));
    if (handle == nullptr) throw std::invalid_argument("dispose: expected a tensor handle");
    handle->Dispose();
  });
  Def(env, exports, "isDisposed", [](Args& a) {
    TensorHandle* handle = TensorHandle::From(a.Raw(0));
    return handle == nullptr || handle->Disposed();
  });
  Def(env, exports, "liveTensors", [](Args& a) { return static_cast<int64_t>(Data(a.Env()).liveTensors.load()); });
  Def(env, exports, "shape", [](Args& a) { return a.Tensor(0).sizes().vec(); });
  Def(env, exports, "strides", [](Args& a) { return a.Tensor(0).strides().vec(); });
  Def(env, exports, "dtype", [](Args& a) { return std::string(DtypeName(a.Tensor(0).scalar_type())); });
  Def(env, exports, "device", [](Args& a) { return DeviceName(a.Tensor(0).device()); });
  Def(env, exports, "isContiguous", [](Args& a) { return a.Tensor(0).is_contiguous(); });
  Def(env, exports, "sameStorage", [](Args& a) {
    return a.Tensor(0).storage().is_alias_of(a.Tensor(1).storage());
  });
  Def(env, exports, "dataPtr", [](Args& a) {
    return static_cast<double>(reinterpret_cast<uintptr_t>(a.Tensor(0).data_ptr()));
  });

  // Bytes in: a copy of the typed array / ArrayBuffer into a new CPU tensor of the given dtype and shape.
  Def(env, exports, "fromBytes", [](Args& a) {
    Napi::Value raw = a.Raw(0);
    const uint8_t* data = nullptr;
    size_t length = 0;
    if (raw.IsTypedArray()) {
      auto view = raw.As<Napi::TypedArray>();
      data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
      length = view.ByteLength();
    } else if (raw.IsArrayBuffer()) {
      auto buffer = raw.As<Napi::ArrayBuffer>();
      data = static_cast<const uint8_t*>(buffer.Data());
      length = buffer.ByteLength();
    } else if (raw.IsDataView()) {
      auto view = raw.As<Napi::DataView>();
      data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
      length = view.ByteLength();
    } else {
      throw std::invalid_argument("fromBytes: expected a typed array or ArrayBuffer");
    }
    at::ScalarType dtype = a.Dtype(1);
    std::vector<int64_t> shape = a.Ints(2);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t expected = static_cast<size_t>(t.numel()) * t.element_size();
    if (expected != length) {
      throw std::invalid_argument("fromBytes: " + std::to_string(length) + " bytes given, shape " +
                                  c10::str(t.sizes()) + " of " + DtypeName(dtype) + " needs " +
                                  std::to_string(expected));
    }
    if (length > 0) std::memcpy(t.data_ptr(), data, length);
    return t;
  });

  // Bytes out: a copy of the tensor's elements (row-major) in a new ArrayBuffer.
  Def(env, exports, "toBytes", [](Args& a) -> Napi::Value {
    at::Tensor t = a.Tensor(0).detach().to(at::kCPU).contiguous();
    size_t length = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(a.Env(), length);
    if (length > 0) std::memcpy(buffer.Data(), t.data_ptr(), length);
    return buffer;
  });

  // Copies bytes into an existing contiguous CPU tensor (used by readers that fill tensors in place).
  Def(env, exports, "writeBytes", [](Args& a) {
    const at::Tensor& t = a.Tensor(0);
    if (!t.is_contiguous() || !t.device().is_cpu()) throw std::invalid_argument("writeBytes: tensor must be contiguous on cpu");
    auto view = a.Raw(1).As<Napi::TypedArray>();
    size_t length = static_cast<size_t>(t.numel()) * t.element_size();
    if (view.ByteLength() != length) throw std::invalid_argument("writeBytes: byte length does not match the tensor");
    if (length > 0) std::memcpy(t.data_ptr(), static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset(), length);
  });

  Def(env, exports, "item", [](Args& a) { return a.Tensor(0).item(); });
}

}  // namespace np
