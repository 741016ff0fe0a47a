#include "data/augment.h"

#include <algorithm>
#include <utility>

#include "core/dispatch.h"
#include "core/grad_mode.h"

namespace minidl::data {

namespace {
// One image's (dy, dx): the only draws random_shift makes, shared with skip_random_shifts.
std::pair<int64_t, int64_t> draw_shift(Generator& gen, int64_t max_shift) {
  const int64_t dy = static_cast<int64_t>(gen.below(static_cast<uint64_t>(2 * max_shift + 1))) - max_shift;
  const int64_t dx = static_cast<int64_t>(gen.below(static_cast<uint64_t>(2 * max_shift + 1))) - max_shift;
  return {dy, dx};
}
}  // namespace

void skip_random_shifts(Generator& gen, int64_t images, int64_t max_shift) {
  check(max_shift >= 0, "skip_random_shifts: max_shift must be >= 0, got ", max_shift);
  for (int64_t b = 0; b < images; ++b) draw_shift(gen, max_shift);
}

Tensor random_shift(const Tensor& images, int64_t max_shift, float fill, Generator& gen) {
  dispatch::check_float(images, "random_shift");
  check(images.dim() >= 3, "random_shift: expected images [B, …, H, W], got ", images.shape());
  check(max_shift >= 0, "random_shift: max_shift must be >= 0, got ", max_shift);
  NoGradGuard no_grad;
  const int64_t h = images.size(-2), w = images.size(-1);
  Tensor out = Tensor::full(images.shape(), fill, {.device = images.device()});
  for (int64_t b = 0; b < images.size(0); ++b) {
    const auto [dy, dx] = draw_shift(gen, max_shift);
    if (std::abs(dy) >= h || std::abs(dx) >= w) continue;  // moved out entirely: all background
    // Pixel (y, x) goes to (y + dy, x + dx): the destination rows [max(dy, 0), h + min(dy, 0)).
    const Tensor dst = out.slice(0, b, b + 1)
                           .slice(-2, std::max<int64_t>(dy, 0), h + std::min<int64_t>(dy, 0))
                           .slice(-1, std::max<int64_t>(dx, 0), w + std::min<int64_t>(dx, 0));
    const Tensor src = images.slice(0, b, b + 1)
                           .slice(-2, std::max<int64_t>(-dy, 0), h - std::max<int64_t>(dy, 0))
                           .slice(-1, std::max<int64_t>(-dx, 0), w - std::max<int64_t>(dx, 0));
    dispatch::copy_into(dst, src, "random_shift");
  }
  return out;
}

}  // namespace minidl::data
