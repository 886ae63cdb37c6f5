// The one boundary between C++ and JavaScript: every entry point runs inside Guard(), which turns
// c10::Error and std::exception into the TorchError class that lib/errors.ts registers.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>
#include <deque>
#include <string>
#include <vector>

namespace np {

// One live (or free) entry of the tensor table; see tensor.h.
struct TensorSlot {
  at::Tensor tensor;
  uint32_t generation = 0;
  int64_t reportedBytes = 0;
};

struct AddonData {
  Napi::FunctionReference errorClass;
  std::deque<TensorSlot> slots;  // a deque: references stay valid while slots are added
  std::vector<uint32_t> freeSlots;
  int64_t liveTensors = 0;
};

AddonData& Data(Napi::Env env);

// A JS error of the registered TorchError class (plain Error before registration).
Napi::Error MakeError(Napi::Env env, const std::string& message);

// LibTorch messages carry a C++ backtrace and hints on later lines; users get the first line.
std::string FirstLine(const std::string& message);

template <typename Fn>
Napi::Value Guard(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw MakeError(env, FirstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw MakeError(env, FirstLine(e.what()));
  }
}

}  // namespace np
