// File reads straight into tensor memory (no intermediate JS buffer, no doubled RSS).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
void ReadFully(int fd, uint8_t* dst, size_t length, int64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, dst + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) throw std::runtime_error("unexpected end of file in " + path);
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void RegisterIO(Napi::Env env, Napi::Object exports) {
  // readTensors(path, dataStart, entries: [[begin, dtype, shape], ...]) -> tensors, one pread each.
  Def(env, exports, "readTensors", [](Args& a) {
    std::string path = a.String(0);
    int64_t data_start = a.Int(1);
    Napi::Array entries = a.Raw(2).As<Napi::Array>();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    std::vector<at::Tensor> out;
    try {
      for (uint32_t k = 0; k < entries.Length(); ++k) {
        Napi::Array entry = entries.Get(k).As<Napi::Array>();
        int64_t begin = entry.Get(0u).As<Napi::Number>().Int64Value();
        at::ScalarType dtype = DtypeFromName(entry.Get(1u).As<Napi::String>().Utf8Value());
        Napi::Array dims = entry.Get(2u).As<Napi::Array>();
        std::vector<int64_t> shape(dims.Length());
        for (uint32_t d = 0; d < dims.Length(); ++d) shape[d] = dims.Get(d).As<Napi::Number>().Int64Value();
        at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
        ReadFully(fd, static_cast<uint8_t*>(t.data_ptr()), t.numel() * t.element_size(), data_start + begin, path);
        out.push_back(std::move(t));
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    return out;
  });
}

}  // namespace np
