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

/// Advances `gen` exactly as random_shift of `images` images would, without moving any: a rank of
/// a data-parallel run shifts only its part of a batch, and skips the draws of the other ranks'
/// images before and after it, so that its images get the shifts a single process would give them.
void skip_random_shifts(Generator& gen, int64_t images, int64_t max_shift);

}  // namespace minidl::data
