// c10d process groups: a TCPStore rendezvous and a Gloo process group (the engine PyTorch's DDP uses on CPU).
// Collectives are synchronous with a timeout: a rank's training loop waits for them anyway, and a peer that died or
// hangs surfaces as an error within the timeout. Tensors are coalesced into buckets (one allreduce per bucket, all
// launched before the first wait), as DDP's reducer does. Policy (which tensors, when, averaging) lives in TypeScript.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "convert.h"
#include "registry.h"

#ifdef NODE_PEFT_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace np {

namespace {

#ifdef NODE_PEFT_GLOO
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  int64_t rank = 0;
  int64_t size = 1;
};

std::mutex groups_mutex;
std::map<int64_t, std::shared_ptr<Group>> groups;
int64_t next_group_id = 1;

std::shared_ptr<Group> Find(int64_t id) {
  std::lock_guard<std::mutex> lock(groups_mutex);
  auto it = groups.find(id);
  if (it == groups.end()) throw std::invalid_argument("process group " + std::to_string(id) + " is not open (destroyed?)");
  return it->second;
}

// Gloo prefixes its messages with its source location ("[/path/pair.cc:537] "): users get the message.
std::string WithoutSourceLocation(const std::string& message) {
  if (message.size() > 1 && message[0] == '[') {
    size_t end = message.find("] ");
    if (end != std::string::npos && message.find(".cc:") < end) return message.substr(end + 2);
  }
  return message;
}

// Waits for every launched work item; the first failure is rethrown saying which rank saw what.
void WaitAll(const Group& group, const std::vector<c10::intrusive_ptr<c10d::Work>>& works, std::chrono::milliseconds timeout,
             const char* what) {
  for (const auto& work : works) {
    try {
      work->wait(timeout);
    } catch (const std::exception& e) {
      std::string cause = WithoutSourceLocation(FirstLine(e.what()));
      if (cause.find("timed out") != std::string::npos || cause.find("Timed out") != std::string::npos) {
        cause = "no answer from the other ranks within " + std::to_string(timeout.count()) + " ms (" + cause + ")";
      }
      throw std::runtime_error("rank " + std::to_string(group.rank) + " of " + std::to_string(group.size) + ": " + what +
                               " failed: " + cause + "; another rank has exited or stopped answering (see its output)");
    }
  }
}

// Contiguous flat buckets of at most cap_bytes, each holding tensors of one dtype in order.
std::vector<std::vector<size_t>> Buckets(const std::vector<at::Tensor>& tensors, int64_t cap_bytes) {
  std::vector<std::vector<size_t>> out;
  std::map<at::ScalarType, size_t> open;  // dtype -> index in out of its current bucket
  std::map<at::ScalarType, int64_t> filled;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const at::Tensor& t = tensors[k];
    if (!t.device().is_cpu()) throw std::invalid_argument("Gloo collectives take CPU tensors; tensor " + std::to_string(k) + " is on " + DeviceName(t.device()));
    at::ScalarType dtype = t.scalar_type();
    int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    auto it = open.find(dtype);
    if (it == open.end() || filled[dtype] + bytes > cap_bytes) {
      open[dtype] = out.size();
      filled[dtype] = 0;
      out.emplace_back();
    }
    out[open[dtype]].push_back(k);
    filled[dtype] += bytes;
  }
  return out;
}

at::Tensor Flatten(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& index) {
  std::vector<at::Tensor> parts;
  parts.reserve(index.size());
  for (size_t k : index) parts.push_back(tensors[k].detach().reshape({-1}));
  return at::cat(parts);
}

void Unflatten(const at::Tensor& flat, const std::vector<at::Tensor>& tensors, const std::vector<size_t>& index) {
  int64_t offset = 0;
  for (size_t k : index) {
    at::Tensor t = tensors[k].detach();
    int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

c10d::ReduceOp ReduceOpFromName(const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw std::invalid_argument("allReduce: op must be 'sum', 'max', 'min' or 'product', got '" + name + "'");
}

// Bucketed collective in place over `tensors`: `launch` starts the work on one flat bucket.
// `divisor` != 1 divides each bucket before the collective (DDP's averaging order).
template <typename Launch>
void Coalesced(const Group& group, const std::vector<at::Tensor>& tensors, int64_t cap_bytes, int64_t timeout_ms, const char* what, Launch launch,
               double divisor = 1.0) {
  c10::NoGradGuard no_grad;
  std::vector<std::vector<size_t>> buckets = Buckets(tensors, cap_bytes);
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (const auto& index : buckets) {
    flats.push_back(Flatten(tensors, index));
    if (divisor != 1.0) flats.back().div_(divisor);
    works.push_back(launch(flats.back()));
  }
  WaitAll(group, works, std::chrono::milliseconds(timeout_ms), what);
  for (size_t b = 0; b < buckets.size(); ++b) Unflatten(flats[b], tensors, buckets[b]);
}
#else
[[noreturn]] void NoGloo() {
  throw std::runtime_error(
      "this build of node-peft has no Gloo support (it was compiled without the gloo headers): "
      "install them (Debian/Ubuntu: apt-get install libgloo-dev) and rebuild (npx node-peft build)");
}
#endif

}  // namespace

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
#ifdef NODE_PEFT_GLOO
  Def(env, exports, "distHasGloo", [](Args& a) { return true; });
  // [sync, blocks until every rank joined or the timeout] distInit(host, port, rank, size, isStoreServer, prefix,
  // storeTimeoutMs, timeoutMs, deviceHost) -> group id.
  Def(env, exports, "distInit", [](Args& a) {
    std::string host = a.String(0);
    int64_t port = a.Int(1), rank = a.Int(2), size = a.Int(3);
    if (size < 1 || rank < 0 || rank >= size) throw std::invalid_argument("distInit: expected 0 <= rank < world size, got rank " + std::to_string(rank) + " of " + std::to_string(size));
    if (port < 0 || port > 65535) throw std::invalid_argument("distInit: port must be in 0..65535, got " + std::to_string(port));
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(port);
    store_options.isServer = a.Bool(4);
    store_options.multiTenant = store_options.isServer;
    store_options.waitWorkers = false;
    store_options.timeout = std::chrono::milliseconds(a.Int(6));
    auto group = std::make_shared<Group>();
    try {
      auto tcp = c10::make_intrusive<c10d::TCPStore>(host, store_options);
      group->store = c10::make_intrusive<c10d::PrefixStore>(a.String(5), tcp);
      auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(a.Int(7)));
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(a.String(8)));
      group->group = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, static_cast<int>(rank), static_cast<int>(size), options);
    } catch (const std::exception& e) {
      throw std::runtime_error("process group init (rank " + std::to_string(rank) + " of " + std::to_string(size) + ", store " + host + ":" +
                               std::to_string(port) + ") failed: " + FirstLine(e.what()));
    }
    group->rank = rank;
    group->size = size;
    std::lock_guard<std::mutex> lock(groups_mutex);
    int64_t id = next_group_id++;
    groups[id] = group;
    return id;
  });
  // [sync] distAllReduce(group, tensors, op, divisor, capBytes, timeoutMs) -> undefined; in place, bucketed; each
  // bucket is divided by `divisor` first (1: none).
  Def(env, exports, "distAllReduce", [](Args& a) {
    auto group = Find(a.Int(0));
    c10d::AllreduceOptions options;
    options.reduceOp = ReduceOpFromName(a.String(2));
    Coalesced(*group, a.Tensors(1), a.Int(4), a.Int(5), "allReduce", [&](at::Tensor& flat) {
      std::vector<at::Tensor> one{flat};
      return group->group->allreduce(one, options);
    }, a.Number(3));
  });
  // [sync] distBroadcast(group, tensors, root, capBytes, timeoutMs) -> undefined; in place, bucketed.
  Def(env, exports, "distBroadcast", [](Args& a) {
    auto group = Find(a.Int(0));
    c10d::BroadcastOptions options;
    options.rootRank = a.Int(2);
    if (options.rootRank < 0 || options.rootRank >= group->size) throw std::invalid_argument("broadcast: root must be a rank of the group, got " + std::to_string(options.rootRank));
    Coalesced(*group, a.Tensors(1), a.Int(3), a.Int(4), "broadcast", [&](at::Tensor& flat) {
      std::vector<at::Tensor> one{flat};
      return group->group->broadcast(one, options);
    });
  });
  // [sync] distAllGather(group, tensor, timeoutMs) -> one tensor per rank (same shape and dtype on every rank).
  Def(env, exports, "distAllGather", [](Args& a) {
    auto group = Find(a.Int(0));
    c10::NoGradGuard no_grad;
    at::Tensor input = a.Tensor(1).detach().contiguous();
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int64_t r = 0; r < group->size; ++r) outputs[0].push_back(at::empty_like(input));
    std::vector<at::Tensor> inputs{input};
    WaitAll(*group, {group->group->allgather(outputs, inputs)}, std::chrono::milliseconds(a.Int(2)), "allGather");
    return outputs[0];
  });
  // [sync] distBarrier(group, timeoutMs) -> undefined.
  Def(env, exports, "distBarrier", [](Args& a) {
    auto group = Find(a.Int(0));
    c10d::BarrierOptions options;
    options.timeout = std::chrono::milliseconds(a.Int(1));
    WaitAll(*group, {group->group->barrier(options)}, std::chrono::milliseconds(a.Int(1)), "barrier");
  });
  // [sync] distDestroy(group) -> undefined; closes the group's connections (and the store, if this rank hosts it).
  Def(env, exports, "distDestroy", [](Args& a) {
    std::lock_guard<std::mutex> lock(groups_mutex);
    groups.erase(a.Int(0));
  });
#else
  Def(env, exports, "distHasGloo", [](Args& a) { return false; });
  for (const char* name : {"distInit", "distAllReduce", "distBroadcast", "distAllGather", "distBarrier", "distDestroy"}) {
    Def(env, exports, name, [](Args& a) -> Napi::Value { NoGloo(); });
  }
#endif
}

}  // namespace np
