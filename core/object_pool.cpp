#include "core/object_pool.h"

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace minidl::detail {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooling = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kPooling = false;
#else
constexpr bool kPooling = true;
#endif
#else
constexpr bool kPooling = true;
#endif

constexpr size_t kGranule = 32, kLargest = 1024, kChunk = 64 * 1024;
constexpr size_t kClasses = kLargest / kGranule;

struct FreeBlock {
  FreeBlock* next;
};

class Pool {
 public:
  void* allocate(size_t bytes) {
    const size_t cls = (bytes + kGranule - 1) / kGranule - 1;
    std::lock_guard lock(mu_);
    if (FreeBlock* b = free_[cls]) {
      free_[cls] = b->next;
      return b;
    }
    const size_t size = (cls + 1) * kGranule;
    if (chunk_left_ < size) {
      // The rest of the old chunk is dropped (< 1 KiB); chunks stay listed, so they are reachable.
      chunks_.push_back(static_cast<char*>(::operator new (kChunk, std::align_val_t{kGranule})));
      chunk_next_ = chunks_.back();
      chunk_left_ = kChunk;
    }
    void* p = chunk_next_;
    chunk_next_ += size;
    chunk_left_ -= size;
    return p;
  }

  void deallocate(void* p, size_t bytes) {
    const size_t cls = (bytes + kGranule - 1) / kGranule - 1;
    std::lock_guard lock(mu_);
    free_[cls] = new (p) FreeBlock{free_[cls]};
  }

 private:
  std::mutex mu_;
  std::array<FreeBlock*, kClasses> free_{};
  std::vector<char*> chunks_;
  char* chunk_next_ = nullptr;
  size_t chunk_left_ = 0;
};

// Never destroyed: objects owned by statics may be freed after main() returns.
Pool& pool() {
  static auto* p = new Pool;
  return *p;
}

}  // namespace

void* pool_allocate(size_t bytes) {
  if (!kPooling || bytes == 0 || bytes > kLargest) return ::operator new(bytes);
  return pool().allocate(bytes);
}

void pool_deallocate(void* ptr, size_t bytes) noexcept {
  if (!kPooling || bytes == 0 || bytes > kLargest) return ::operator delete(ptr);
  pool().deallocate(ptr, bytes);
}

}  // namespace minidl::detail
