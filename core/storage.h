// Storage: one block of device memory, shared by every tensor that views it. Tensors hold it
// through shared_ptr, so views (reshape, transpose, slice) are cheap and keep their base alive.
// It counts the in-place writes made to it (its version), which autograd checks before a backward
// reads values an op saved (autograd/node.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include <minidl/core/allocator.h>
#include <minidl/core/device.h>

namespace minidl {

class Storage {
 public:
  /// Uninitialized memory for `bytes` bytes on `device`, from the caching allocator.
  Storage(size_t bytes, Device device) : block_(allocate(device, bytes)), bytes_(bytes), device_(device) {}
  ~Storage() { deallocate(device_, block_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return block_.ptr; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

  /// In-place writes so far. Every view and detach() of a tensor shares its Storage, so a write
  /// through any of them counts. Bumped by core/dispatch's writing functions (copy_into, fill,
  /// binary_into, bias_activation_, sgd_step), which every in-place method goes through; writes
  /// through a raw data<T>() pointer are not counted (as PyTorch's data_ptr()).
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  Block block_;
  size_t bytes_;
  Device device_;
  uint64_t version_ = 0;
};

}  // namespace minidl
