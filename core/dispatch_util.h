// Internal: what every lowering file (core/dispatch.cpp, dispatch_conv.cpp, dispatch_lm.cpp,
// dispatch_optim.cpp) needs to hand tensors to a backend: their data as typed pointers, the backend
// of their device, a fresh result, and the version count of an in-place write. Not installed.
#pragma once

#include "core/backend_table.h"
#include "core/tensor_impl.h"

namespace minidl::dispatch {

/// The tensor's data as T*; nullptr for an undefined tensor (an optional operand: a layer without
/// bias, an optimizer slot it does not use), which the kernels take as "absent".
template <class T>
T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
}

/// The backend that runs ops on the tensor's device.
inline const kernels::Backend& backend(const Tensor& t) { return backend_for(t.device()); }

/// A new contiguous tensor on `device`, its values uninitialized: the kernel writes every one.
inline Tensor new_tensor(const Shape& shape, Device device, DType dtype = DType::float32) {
  return detail::make_tensor(shape, dtype, device);
}

/// Counts a write into a tensor the caller did not just make on its storage, so that autograd sees
/// in-place edits of values an op saved (autograd/node.h). Every in-place lowering calls it.
inline void bump_version(const Tensor& t) { detail::impl_of(t)->storage->bump_version(); }

}  // namespace minidl::dispatch
