#include "tensor.h"

#include "common.h"
#include "convert.h"

namespace np {

namespace {
int64_t ReportedBytes(const at::Tensor& t) {
  return t.defined() && t.has_storage() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
}

// A handle's External pointer: generation in the high 32 bits, slot index + 1 in the low 32 (never null).
void* Encode(uint32_t index, uint32_t generation) {
  return reinterpret_cast<void*>((static_cast<uint64_t>(generation) << 32) | (static_cast<uint64_t>(index) + 1));
}

struct Decoded {
  uint32_t index;
  uint32_t generation;
};

Decoded Decode(Napi::Value value) {
  auto bits = reinterpret_cast<uint64_t>(value.As<Napi::External<void>>().Data());
  return {static_cast<uint32_t>(bits & 0xffffffffu) - 1, static_cast<uint32_t>(bits >> 32)};
}

// The slot a handle names, or nullptr when the handle was disposed.
TensorSlot* LiveSlot(Napi::Value value) {
  AddonData& data = Data(value.Env());
  Decoded d = Decode(value);
  if (d.index >= data.slots.size()) return nullptr;
  TensorSlot& slot = data.slots[d.index];
  return slot.generation == d.generation && slot.tensor.defined() ? &slot : nullptr;
}

void Release(Napi::Env env, TensorSlot& slot, uint32_t index) {
  AddonData& data = Data(env);
  slot.tensor = at::Tensor();
  slot.generation++;
  data.freeSlots.push_back(index);
  data.liveTensors--;
  if (slot.reportedBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -slot.reportedBytes);
  slot.reportedBytes = 0;
}
}  // namespace

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  AddonData& data = Data(env);
  uint32_t index;
  if (!data.freeSlots.empty()) {
    index = data.freeSlots.back();
    data.freeSlots.pop_back();
  } else {
    index = static_cast<uint32_t>(data.slots.size());
    data.slots.emplace_back();
  }
  TensorSlot& slot = data.slots[index];
  slot.reportedBytes = ReportedBytes(tensor);
  slot.tensor = std::move(tensor);
  data.liveTensors++;
  if (slot.reportedBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, slot.reportedBytes);
  return Napi::External<void>::New(env, Encode(index, slot.generation));
}

bool IsTensorHandle(Napi::Value value) { return value.IsExternal(); }

const at::Tensor& TensorOf(Napi::Value value) {
  TensorSlot* slot = LiveSlot(value);
  if (slot == nullptr) throw MakeError(value.Env(), "Tensor was used after dispose()");
  return slot->tensor;
}

void RegisterTensor(Napi::Env env, Napi::Object exports) {
  // Frees the tensor now; disposing a handle twice (or after its slot was reused) does nothing.
  Def(env, exports, "dispose", [](Args& a) {
    if (!IsTensorHandle(a.Raw(0))) throw std::invalid_argument("dispose: expected a tensor handle");
    if (TensorSlot* slot = LiveSlot(a.Raw(0))) Release(a.Env(), *slot, Decode(a.Raw(0)).index);
  });
  Def(env, exports, "liveTensors", [](Args& a) { return Data(a.Env()).liveTensors; });
  Def(env, exports, "shape", [](Args& a) { return a.Tensor(0).sizes().vec(); });
  Def(env, exports, "strides", [](Args& a) { return a.Tensor(0).strides().vec(); });
  Def(env, exports, "dtype", [](Args& a) { return std::string(DtypeName(a.Tensor(0).scalar_type())); });
  Def(env, exports, "device", [](Args& a) { return DeviceName(a.Tensor(0).device()); });
  Def(env, exports, "isContiguous", [](Args& a) { return a.Tensor(0).is_contiguous(); });
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


  Def(env, exports, "item", [](Args& a) { return a.Tensor(0).item(); });
}

}  // namespace np
