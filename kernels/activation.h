// The activation a layer's kernel can fuse into its epilogue (nn::functional::linear; conv2d takes
// none and relu). Its own header because the public API names it (nn/functional.h) and the rest of
// the kernel table is internal.
#pragma once

namespace minidl::kernels {

/// gelu is the exact x·Φ(x) (nn::functional::gelu without the tanh approximation). Its backward
/// reads the value before the activation, which the epilogue then keeps; relu's reads its output.
enum class Activation { none, relu, gelu };

}  // namespace minidl::kernels
