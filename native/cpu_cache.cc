// A caching CPU allocator for tensor memory, installed as LibTorch's CPU allocator when the addon loads.
//
// LibTorch's default CPU allocator hands every block to malloc and back. A training step frees hundreds of megabytes
// of activations at once, small allocations settle between the freed blocks, and glibc's heap fragments and grows step
// after step (W1: 550 MB after 10 steps, 1.6 GB after 120, while Python's peak stays at ~700 MB). Serving blocks from
// mmap instead keeps RSS flat but re-faults every page on every step (W1 +55% time). So blocks of 128 KiB and more are
// mapped here, and freed ones are kept (joined with free neighbours) and split to serve later requests: a steady loop
// stops mapping after its first step, requests of varying shapes reuse the same pages as malloc's heap would, and
// malloc's heap never holds a large block.
//
// The cache holds at most the peak of live cached-size bytes (or NODE_PEFT_CPU_CACHE_MB), evicting its oldest blocks
// to make room, and unmaps blocks left unused for 10 s (NODE_PEFT_CPU_CACHE_DECAY_S, checked at most once a second as
// the allocator is used), so the memory of a disposed model is given back. Blocks under 128 KiB go to c10::alloc_cpu
// as before. NODE_PEFT_CPU_CACHE=0 leaves LibTorch's allocator in place.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if !defined(_WIN32)
#include <sys/mman.h>
#endif

#include "convert.h"
#include "registry.h"

namespace np {

namespace {
constexpr size_t kMinCachedBytes = 128 << 10;
constexpr size_t kPageBytes = 4096;
#if defined(_WIN32)
constexpr bool kJoinAndSplit = false;  // blocks come from the heap there: each must be freed whole, as allocated
#else
constexpr bool kJoinAndSplit = true;   // any page range of a mapping can be unmapped
#endif
using Clock = std::chrono::steady_clock;

struct CacheSettings {
  std::optional<size_t> capBytes;  // default: the peak of live bytes
  Clock::duration decay;
};

struct CacheCounters {
  size_t cachedBytes = 0;    // free blocks held for reuse (filled in by Counters())
  size_t liveBytes = 0;      // blocks of cached size handed out and not yet returned
  size_t peakLiveBytes = 0;
  size_t hits = 0;           // requests served from the cache
  size_t misses = 0;         // requests that mapped a new block
  size_t released = 0;       // blocks unmapped: the cache was full, or they stayed unused too long
};

// Cached-size blocks are mapped and unmapped directly: they never sit in malloc's heap, so giving one back returns its
// pages at once and cannot leave holes that small allocations then pin.
void* MapBlock(size_t bytes) {
#if defined(_WIN32)
  return c10::alloc_cpu(bytes);
#else
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
#endif
}

void UnmapBlock(void* p, size_t bytes) {
#if defined(_WIN32)
  c10::free_cpu(p);
#else
  munmap(p, bytes);
#endif
}

// The freed blocks, by size (for best fit), by address (to join neighbours) and by age (oldest first, for eviction
// and decay). A block freed next to a free neighbour is joined with it, so memory freed by one request's shapes serves
// the next request's, whatever their sizes: a request takes the smallest free block that holds it and leaves the rest
// free. Blocks are runs of whole pages inside our own mappings, so joined and split ones are still unmapped by range.
class FreeBlocks {
 public:
  struct Block {
    void* p;
    size_t size;
  };

  // Adds a freed block, joined with the free blocks that end where it starts and start where it ends.
  void Add(Block block, Clock::time_point now) {
    char* start = static_cast<char*>(block.p);
    auto next = byAddress_.lower_bound(start);
    if (kJoinAndSplit && next != byAddress_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second->block.size == start) {
        Block left = Remove(prev->second);
        start = static_cast<char*>(left.p);
        block = {start, left.size + block.size};
      }
    }
    next = byAddress_.lower_bound(start + block.size);
    if (kJoinAndSplit && next != byAddress_.end() && next->first == start + block.size) block.size += Remove(next->second).size;
    byAge_.push_back({block, now, {}, {}});
    auto entry = std::prev(byAge_.end());
    entry->bySize = bySize_.emplace(block.size, entry);
    entry->byAddress = byAddress_.emplace(start, entry).first;
    bytes_ += block.size;
  }

  // The smallest free block of at least `bytes`, taken out whole; nullopt when none fits.
  std::optional<Block> TakeAtLeast(size_t bytes) {
    auto it = bySize_.lower_bound(bytes);
    if (it == bySize_.end()) return std::nullopt;
    if (!kJoinAndSplit && it->first > bytes + bytes / 4) return std::nullopt;  // unsplittable: at most a quarter more
    return Remove(it->second);
  }

  Block TakeOldest() { return Remove(byAge_.begin()); }
  bool OldestFreedBefore(Clock::time_point t) const { return !byAge_.empty() && byAge_.front().freedAt < t; }
  bool Empty() const { return byAge_.empty(); }
  size_t Bytes() const { return bytes_; }

 private:
  struct Entry;
  using AgeList = std::list<Entry>;
  using SizeMap = std::multimap<size_t, AgeList::iterator>;
  using AddressMap = std::map<char*, AgeList::iterator>;
  struct Entry {
    Block block;
    Clock::time_point freedAt;
    SizeMap::iterator bySize;
    AddressMap::iterator byAddress;
  };

  Block Remove(AgeList::iterator entry) {
    Block block = entry->block;
    bySize_.erase(entry->bySize);
    byAddress_.erase(entry->byAddress);
    byAge_.erase(entry);
    bytes_ -= block.size;
    return block;
  }

  AgeList byAge_;
  SizeMap bySize_;
  AddressMap byAddress_;
  size_t bytes_ = 0;
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(CacheSettings settings)
      : settings_(settings), sweepEvery_(std::min<Clock::duration>(settings.decay, std::chrono::seconds(1))) {}

  c10::DataPtr allocate(size_t n) override {
    void* p = n >= kMinCachedBytes ? Take((n + kPageBytes - 1) / kPageBytes * kPageBytes) : c10::alloc_cpu(n);
    return {p, p, &Release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }

  static void Release(void* p);

  // Unmaps every cached block, then hands malloc's free heap pages back to the kernel. Returns the bytes unmapped.
  size_t Empty() {
    std::vector<FreeBlocks::Block> blocks;
    size_t bytes = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bytes = free_.Bytes();
      while (!free_.Empty()) blocks.push_back(free_.TakeOldest());
    }
    for (const FreeBlocks::Block& b : blocks) UnmapBlock(b.p, b.size);
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    return bytes;
  }

  CacheCounters Counters() {
    std::lock_guard<std::mutex> lock(mutex_);
    CacheCounters counters = counters_;
    counters.cachedBytes = free_.Bytes();
    return counters;
  }

  // Returns true when the block was one of ours: it is then cached, or given back when the cache is full.
  bool Return(void* p) {
    std::vector<FreeBlocks::Block> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(p);
      if (it == live_.end()) return false;
      size_t size = it->second;
      live_.erase(it);
      counters_.liveBytes -= size;
      size_t cap = settings_.capBytes.value_or(counters_.peakLiveBytes);
      while (!free_.Empty() && free_.Bytes() + size > cap) evicted.push_back(free_.TakeOldest());
      if (size <= cap) {
        free_.Add({p, size}, Clock::now());
      } else {
        evicted.push_back({p, size});
      }
      counters_.released += evicted.size();
    }
    for (const FreeBlocks::Block& b : evicted) UnmapBlock(b.p, b.size);
    return true;
  }

 private:
  void* Take(size_t bytes) {
    ReleaseIdle();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (std::optional<FreeBlocks::Block> block = free_.TakeAtLeast(bytes)) {
        counters_.hits++;
        size_t rest = block->size - bytes;
        if (kJoinAndSplit && rest >= kMinCachedBytes) {
          free_.Add({static_cast<char*>(block->p) + bytes, rest}, Clock::now());
          block->size = bytes;
        }
        MarkLive(block->p, block->size);
        return block->p;
      }
      counters_.misses++;
    }
    void* p = AllocOrEmpty(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    MarkLive(p, bytes);
    return p;
  }

  void* AllocOrEmpty(size_t bytes) {
    void* p = MapBlock(bytes);
    if (p == nullptr && Empty() > 0) p = MapBlock(bytes);  // the cache held memory of other sizes: retry without it
    if (p == nullptr) throw std::runtime_error("CPU allocator: out of memory allocating " + std::to_string(bytes) + " bytes");
    return p;
  }

  void MarkLive(void* p, size_t size) {
    live_[p] = size;
    counters_.liveBytes += size;
    counters_.peakLiveBytes = std::max(counters_.peakLiveBytes, counters_.liveBytes);
  }

  // Gives back the blocks cached for longer than the decay time; looks at most once per sweepEvery_.
  void ReleaseIdle() {
    Clock::time_point now = Clock::now();
    std::vector<FreeBlocks::Block> idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (now - lastSweep_ < sweepEvery_) return;
      lastSweep_ = now;
      while (free_.OldestFreedBefore(now - settings_.decay)) idle.push_back(free_.TakeOldest());
      counters_.released += idle.size();
    }
    for (const FreeBlocks::Block& b : idle) UnmapBlock(b.p, b.size);
  }

  const CacheSettings settings_;
  const Clock::duration sweepEvery_;
  Clock::time_point lastSweep_ = Clock::now();
  std::mutex mutex_;
  FreeBlocks free_;
  std::unordered_map<void*, size_t> live_;  // blocks of cached size in use
  CacheCounters counters_;
};

// Never destroyed: tensors freed during process exit still find it.
CachingCpuAllocator* gCache = nullptr;

void CachingCpuAllocator::Release(void* p) {
  if (p == nullptr) return;
  if (gCache == nullptr || !gCache->Return(p)) c10::free_cpu(p);
}

// A non-negative number from the environment, or nullopt when unset or not a number.
std::optional<double> EnvNumber(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text, &end);
  if (*end != '\0' || !(value >= 0)) return std::nullopt;
  return value;
}

CacheSettings SettingsFromEnv() {
  CacheSettings settings;
  if (auto mb = EnvNumber("NODE_PEFT_CPU_CACHE_MB")) settings.capBytes = static_cast<size_t>(*mb * (1 << 20));
  double decaySeconds = EnvNumber("NODE_PEFT_CPU_CACHE_DECAY_S").value_or(10.0);
  settings.decay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(decaySeconds));
  return settings;
}

bool Install() {
  const char* optOut = std::getenv("NODE_PEFT_CPU_CACHE");
  if (optOut != nullptr && std::strcmp(optOut, "0") == 0) return false;
  gCache = new CachingCpuAllocator(SettingsFromEnv());
  c10::SetCPUAllocator(gCache, /*priority=*/1);
  return true;
}
}  // namespace

void RegisterCpuCache(Napi::Env env, Napi::Object exports) {
  static const bool installed = Install();
  // cpuCacheStats() -> null when the cache is off, else [cachedBytes, liveBytes, peakLiveBytes, hits, misses, released]
  Def(env, exports, "cpuCacheStats", [](Args& a) -> Napi::Value {
    if (!installed) return a.Env().Null();
    CacheCounters c = gCache->Counters();
    return ToJs(a.Env(), std::vector<int64_t>{static_cast<int64_t>(c.cachedBytes), static_cast<int64_t>(c.liveBytes),
                                              static_cast<int64_t>(c.peakLiveBytes), static_cast<int64_t>(c.hits),
                                              static_cast<int64_t>(c.misses), static_cast<int64_t>(c.released)});
  });
  // emptyCpuCache() -> bytes given back (0 when the cache is off)
  Def(env, exports, "emptyCpuCache", [](Args&) { return static_cast<int64_t>(installed ? gCache->Empty() : 0); });
}

}  // namespace np
