// The caching allocator behind every Storage. Freed blocks are kept in per-size free lists and
// handed out again, so a training loop that allocates the same shapes every step stops calling the
// system (or cudaMalloc) after its first step, and large buffers are not page-faulted in anew.
// Sizes are rounded up to one of four steps per power of two (at most 25% slack).
// Caching is off under AddressSanitizer (so use-after-free is still caught) and when the
// environment sets MINIDL_CACHING_ALLOCATOR=0.
#pragma once

#include <cstddef>
#include <cstdint>

#include <minidl/core/device.h>

namespace minidl {

struct MemoryStats {
  int64_t requests = 0;             // allocate() calls
  int64_t cache_hits = 0;           // requests served from the free lists
  int64_t backend_allocations = 0;  // requests that reached the backend (malloc, cudaMalloc)
  int64_t bytes_in_use = 0;         // held by live storages (rounded sizes)
  int64_t peak_bytes_in_use = 0;
  int64_t bytes_cached = 0;  // freed and kept for reuse
};

/// A block from allocate(): its pointer and the rounded size to hand back to deallocate().
struct Block {
  void* ptr = nullptr;
  size_t capacity = 0;
};

/// Returns at least `bytes` bytes on `device` (64-byte aligned on the CPU), uninitialized.
/// Throws Error naming the size and device when the backend is out of memory.
Block allocate(Device device, size_t bytes);
void deallocate(Device device, Block block);

MemoryStats memory_stats(Device device = Device::cpu());
/// Returns every cached block of `device` to the backend.
void empty_cache(Device device = Device::cpu());
bool caching_enabled();

}  // namespace minidl
