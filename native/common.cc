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
  return message.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace np
