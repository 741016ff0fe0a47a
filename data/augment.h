// Data augmentation: random transformations of a training batch that leave its labels true, so
// the model sees a slightly different set each epoch and generalizes better.
#pragma once

#include <cstdint>

#include <minidl/core/generator.h>
#include <minidl/core/tensor.h>

namespace minidl::data {

/// Each image of `images` [B, …, H, W] moved by (dy, dx), both drawn uniformly from
/// [−max_shift, max_shift] by `gen` (per image in batch order, dy then dx: a seeded run repeats).
/// Pixels moved out are dropped and the ones uncovered take `fill` (the normalized background:
/// (0 − mean)/std for MNIST). A new tensor on the images' device; max_shift = 0 copies.
Tensor random_shift(const Tensor& images, int64_t max_shift, float fill, Generator& gen);

}  // namespace minidl::data
