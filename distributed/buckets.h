// Gradient buckets: which parameters' gradients travel together in one all-reduce. Many small
// messages pay the network's latency many times; one message for the whole model cannot start
// before the last gradient is known. Buckets of about `bucket_bytes` are the middle way, filled in
// the order backward() finishes gradients, so the first ones can travel while later ones are still
// being computed (docs/distributed.md has the timeline).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace minidl::distributed {

/// Parameter indices per bucket, in packing order. Parameters are taken from last to first — the
/// order a feed-forward model's backward pass finishes them — and a bucket closes once it holds at
/// least `bucket_bytes` of float32 gradients (so a parameter larger than that has a bucket of its
/// own, and a model smaller than that one bucket in all). `numels`: each parameter's element count.
std::vector<std::vector<size_t>> plan_buckets(std::span<const int64_t> numels, int64_t bucket_bytes);

}  // namespace minidl::distributed
