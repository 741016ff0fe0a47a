#include "core/allocator.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/backend_table.h"
#include "core/error.h"

namespace minidl {

namespace {

// 512 bytes minimum, then four steps per power of two: 2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k.
size_t round_size(size_t bytes) {
  if (bytes <= 512) return 512;
  const int k = 63 - __builtin_clzll(bytes - 1);  // 2^k < bytes <= 2^(k+1)
  const size_t step = size_t{1} << (k - 2);
  return (bytes + step - 1) / step * step;
}

bool caching_default() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#else
  const char* env = std::getenv("MINIDL_CACHING_ALLOCATOR");
  return !(env && std::strcmp(env, "0") == 0);
#endif
}

class CachingAllocator {
 public:
  explicit CachingAllocator(Device device) : device_(device), caching_(caching_default()) {}

  Block allocate(size_t bytes) {
    if (bytes == 0) return {};
    const size_t capacity = round_size(bytes);
    std::unique_lock lock(mu_);
    ++stats_.requests;
    void* ptr = nullptr;
    if (auto it = free_.find(capacity); it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      ++stats_.cache_hits;
      stats_.bytes_cached -= static_cast<int64_t>(capacity);
    } else {
      lock.unlock();
      ptr = backend_for(device_).allocate(capacity);
      if (!ptr && caching_) {  // out of memory: give the cache back and try once more
        empty_cache();
        ptr = backend_for(device_).allocate(capacity);
      }
      check(ptr != nullptr, "allocate: out of memory allocating ", bytes, " bytes on ", device_);
      lock.lock();
      ++stats_.backend_allocations;
    }
    stats_.bytes_in_use += static_cast<int64_t>(capacity);
    stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
    return {ptr, capacity};
  }

  void deallocate(Block block) {
    if (!block.ptr) return;
    std::unique_lock lock(mu_);
    stats_.bytes_in_use -= static_cast<int64_t>(block.capacity);
    if (caching_) {
      free_[block.capacity].push_back(block.ptr);
      stats_.bytes_cached += static_cast<int64_t>(block.capacity);
      return;
    }
    lock.unlock();
    backend_for(device_).deallocate(block.ptr, block.capacity);
  }

  void empty_cache() {
    std::unordered_map<size_t, std::vector<void*>> blocks;
    {
      std::lock_guard lock(mu_);
      blocks.swap(free_);
      stats_.bytes_cached = 0;
    }
    for (auto& [capacity, ptrs] : blocks)
      for (void* p : ptrs) backend_for(device_).deallocate(p, capacity);
  }

  MemoryStats stats() {
    std::lock_guard lock(mu_);
    return stats_;
  }

  bool caching() const { return caching_; }

 private:
  Device device_;
  bool caching_;
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // capacity -> cached blocks
  MemoryStats stats_;
};

constexpr int kMaxCudaDevices = 16;

// Never destroyed: storages owned by static objects may be freed after main() returns.
CachingAllocator& allocator_for(Device device) {
  if (device.is_cpu()) {
    static auto* cpu = new CachingAllocator(Device::cpu());
    return *cpu;
  }
  check(device.index >= 0 && device.index < kMaxCudaDevices, "allocate: device index out of range: ", device);
  static std::array<CachingAllocator*, kMaxCudaDevices> cuda{};
  static std::mutex mu;
  std::lock_guard lock(mu);
  CachingAllocator*& a = cuda[static_cast<size_t>(device.index)];
  if (!a) a = new CachingAllocator(device);
  return *a;
}

}  // namespace

Block allocate(Device device, size_t bytes) { return allocator_for(device).allocate(bytes); }
void deallocate(Device device, Block block) { allocator_for(device).deallocate(block); }
MemoryStats memory_stats(Device device) { return allocator_for(device).stats(); }
void empty_cache(Device device) { allocator_for(device).empty_cache(); }
bool caching_enabled() { return allocator_for(Device::cpu()).caching(); }

}  // namespace minidl
