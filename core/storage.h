// Storage: one block of device memory, shared by every tensor that views it. Tensors hold it
// through shared_ptr, so views (reshape, transpose, slice) are cheap and keep their base alive.
#pragma once

#include <cstddef>

#include "core/allocator.h"
#include "core/device.h"

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

 private:
  Block block_;
  size_t bytes_;
  Device device_;
};

}  // namespace minidl
