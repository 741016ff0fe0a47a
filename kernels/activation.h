// The activation a layer's kernel can fuse into its epilogue (nn::functional::linear, conv2d). Its
// own header because the public API names it (nn/functional.h) and the rest of the kernel table is
// internal.
#pragma once

namespace minidl::kernels {

enum class Activation { none, relu };

}  // namespace minidl::kernels
