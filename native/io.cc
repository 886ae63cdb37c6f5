// File reads straight into tensor memory, and writes straight from it (no intermediate JS buffer,
// no doubled RSS). Each has a synchronous form and a Promise form that runs on the libuv pool.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
struct ReadSpec {
  int64_t begin;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
};

class FileDescriptor {
 public:
  explicit FileDescriptor(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  ~FileDescriptor() { ::close(fd_); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

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

void WriteFully(int fd, const uint8_t* src, size_t length, int64_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pwrite(fd, src + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("cannot write tensor data: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

int64_t IntegerAt(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) throw std::invalid_argument(std::string("readTensors: ") + what + " must be a number");
  return value.As<Napi::Number>().Int64Value();
}

std::vector<ReadSpec> ParseSpecs(const Napi::Value& raw) {
  if (!raw.IsArray()) throw std::invalid_argument("readTensors: entries must be an array of [begin, dtype, shape]");
  Napi::Array entries = raw.As<Napi::Array>();
  std::vector<ReadSpec> specs;
  specs.reserve(entries.Length());
  for (uint32_t k = 0; k < entries.Length(); ++k) {
    Napi::Value item = entries.Get(k);
    if (!item.IsArray()) throw std::invalid_argument("readTensors: each entry must be [begin, dtype, shape]");
    Napi::Array entry = item.As<Napi::Array>();
    Napi::Value dtype = entry.Get(1u);
    Napi::Value dims = entry.Get(2u);
    if (!dtype.IsString() || !dims.IsArray()) throw std::invalid_argument("readTensors: each entry must be [begin, dtype, shape]");
    ReadSpec spec{IntegerAt(entry.Get(0u), "begin"), DtypeFromName(dtype.As<Napi::String>().Utf8Value()), {}};
    Napi::Array dimArray = dims.As<Napi::Array>();
    for (uint32_t d = 0; d < dimArray.Length(); ++d) spec.shape.push_back(IntegerAt(dimArray.Get(d), "shape"));
    specs.push_back(std::move(spec));
  }
  return specs;
}

struct ReadChunk {
  uint8_t* dst;
  size_t length;
  int64_t offset;
};

// Filling fresh memory costs a page fault per 4 KiB page, which dominates a plain read of a big
// file; reading chunks on several threads spreads those faults (and the copies) over the cores.
void ReadChunks(int fd, const std::vector<ReadChunk>& chunks, const std::string& path) {
  size_t total = 0;
  for (const ReadChunk& c : chunks) total += c.length;
  size_t threads = std::min<size_t>({std::max(std::thread::hardware_concurrency(), 1u), 8, chunks.size()});
  if (total < (size_t{32} << 20) || threads <= 1) {
    for (const ReadChunk& c : chunks) ReadFully(fd, c.dst, c.length, c.offset, path);
    return;
  }
  std::atomic<size_t> next{0};
  std::mutex failure_mutex;
  std::string failure;
  auto work = [&]() {
    for (size_t k = next++; k < chunks.size(); k = next++) {
      try {
        ReadFully(fd, chunks[k].dst, chunks[k].length, chunks[k].offset, path);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (failure.empty()) failure = e.what();
        next = chunks.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (!failure.empty()) throw std::runtime_error(failure);
}

std::vector<at::Tensor> ReadAll(const std::string& path, int64_t data_start, const std::vector<ReadSpec>& specs) {
  constexpr size_t kChunk = size_t{8} << 20;
  FileDescriptor file(path);
  std::vector<at::Tensor> out;
  std::vector<ReadChunk> chunks;
  out.reserve(specs.size());
  for (const ReadSpec& spec : specs) {
    at::Tensor t = at::empty(spec.shape, at::TensorOptions().dtype(spec.dtype));
    auto* dst = static_cast<uint8_t*>(t.data_ptr());
    size_t length = static_cast<size_t>(t.numel()) * t.element_size();
    for (size_t done = 0; done < length; done += kChunk) {
      chunks.push_back({dst + done, std::min(kChunk, length - done), data_start + spec.begin + static_cast<int64_t>(done)});
    }
    out.push_back(std::move(t));
  }
  ReadChunks(file.get(), chunks, path);
  return out;
}

// Writes the tensors back to back from `offset`; returns the offset after the last byte.
int64_t WriteAll(int fd, int64_t offset, const std::vector<at::Tensor>& tensors) {
  for (const at::Tensor& tensor : tensors) {
    at::Tensor t = tensor.to(at::kCPU).contiguous();
    size_t length = static_cast<size_t>(t.numel()) * t.element_size();
    if (length > 0) WriteFully(fd, static_cast<const uint8_t*>(t.data_ptr()), length, offset);
    offset += static_cast<int64_t>(length);
  }
  return offset;
}

std::vector<at::Tensor> Detached(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  out.reserve(tensors.size());
  for (const at::Tensor& t : tensors) out.push_back(t.detach());
  return out;
}

// Runs `work` on the libuv pool; resolves with ToJs(result) or rejects with a TorchError.
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<Result()> work)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = work_();
    } catch (const c10::Error& e) {
      SetError(FirstLine(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      SetError(FirstLine(e.what()));
    }
  }
  void OnOK() override {
    deferred_.Resolve(ToJs(Env(), result_));
    result_ = Result();
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(MakeError(Env(), error.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Result()> work_;
  Result result_{};
};

template <typename Result>
Napi::Value Queue(Napi::Env env, std::function<Result()> work) {
  auto* worker = new PromiseWorker<Result>(env, std::move(work));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}
}  // namespace

void RegisterIO(Napi::Env env, Napi::Object exports) {
  // readTensors(path, dataStart, entries: [[begin, dtype, shape], ...]) -> tensors, one pread each.
  Def(env, exports, "readTensors", [](Args& a) { return ReadAll(a.String(0), a.Int(1), ParseSpecs(a.Raw(2))); });
  Def(env, exports, "readTensorsAsync", [](Args& a) -> Napi::Value {
    std::string path = a.String(0);
    int64_t data_start = a.Int(1);
    std::vector<ReadSpec> specs = ParseSpecs(a.Raw(2));
    return Queue<std::vector<at::Tensor>>(a.Env(), [path, data_start, specs]() { return ReadAll(path, data_start, specs); });
  });

  // writeTensors(fd, offset, tensors) -> the offset after the last byte; each tensor's elements, row-major.
  Def(env, exports, "writeTensors", [](Args& a) {
    return WriteAll(static_cast<int>(a.Int(0)), a.Int(1), Detached(a.Tensors(2)));
  });
  Def(env, exports, "writeTensorsAsync", [](Args& a) -> Napi::Value {
    int fd = static_cast<int>(a.Int(0));
    int64_t offset = a.Int(1);
    std::vector<at::Tensor> tensors = Detached(a.Tensors(2));
    return Queue<int64_t>(a.Env(), [fd, offset, tensors]() { return WriteAll(fd, offset, tensors); });
  });
}

}  // namespace np
