#include "common.h"

namespace np {

AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Error MakeError(Napi::Env env, const std::string& message) {
  AddonData& data = Data(env);
  if (!data.errorClass.IsEmpty()) {
    Napi::Object error = data.errorClass.New({Napi::String::New(env, message)});
    return Napi::Error(env, error);
  }
  return Napi::Error::New(env, message);
}

std::string FirstLine(const std::string& message) {
  size_t start = message.find_first_not_of(" \n\t");
  if (start == std::string::npos) return "LibTorch error";
  size_t end = message.find('\n', start);
  std::string line = message.substr(start, end == std::string::npos ? std::string::npos : end - start);
  // "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: ..." -> "DefaultCPUAllocator: ..."
  if (line.rfind("[enforce fail at ", 0) == 0) {
    size_t close = line.find("] ");
    size_t sentence = close == std::string::npos ? std::string::npos : line.find(". ", close + 2);
    if (sentence != std::string::npos) line = line.substr(sentence + 2);
  }
  return line;
}

}  // namespace np
