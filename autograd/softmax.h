// Softmax and log-softmax along one dim, computed stably (the max is subtracted first).
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace minidl
