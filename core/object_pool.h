// Recycled memory for the small objects every op makes: TensorImpls, Storages and autograd nodes
// (with their closures), each with its shared_ptr control block. A training step creates and frees
// the same few dozen of these every time, so after the first step they come from per-size free
// lists and the step makes no heap allocation at all (tests/test_steady_state.cpp counts).
//
//   auto impl = std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>{});
//
// Blocks are carved from 64 KiB chunks in size classes of 32 bytes up to 1 KiB (larger requests go
// to operator new) and are never returned to the system: the pool holds at most what the busiest
// moment needed. Under AddressSanitizer every request goes to operator new instead, so
// use-after-free of these objects is still caught.
#pragma once

#include <cstddef>

namespace minidl {

namespace detail {
void* pool_allocate(size_t bytes);
void pool_deallocate(void* ptr, size_t bytes) noexcept;
}  // namespace detail

template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) {}  // NOLINT: rebinding, as allocate_shared needs
  T* allocate(size_t n) { return static_cast<T*>(detail::pool_allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { detail::pool_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const {
    return true;
  }
};

}  // namespace minidl
