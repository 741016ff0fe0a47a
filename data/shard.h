// A process's share of a batch in data-parallel training (the distributed sampler): the batch is
// the one a single process would take — same size, same shuffled order — cut into `count`
// contiguous parts, part `index` for this process. So the parts, in rank order, are the
// single-process batch, and the ranks never see the same example twice in an epoch.
//
// The remainder rule: a batch of n examples gives each part n / count examples, and the first
// n mod count parts one more (64 over 3 ranks: 22, 21, 21). Parts never differ by more than one, and
// distributed::DataParallel weighs each rank's gradient by its part's size, so unequal parts still add up
// to the whole batch's gradient exactly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include <minidl/core/error.h>

namespace minidl::data {

struct Shard {
  int index = 0;  // this process's part: distributed::rank()
  int count = 1;  // parts: distributed::world_size()
};

/// Rows [first, last) of a batch of n rows that `shard` takes.
inline std::pair<int64_t, int64_t> shard_range(int64_t n, Shard shard) {
  check(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count, "shard: part ", shard.index, " of ",
        shard.count, " does not exist");
  const int64_t base = n / shard.count, extra = n % shard.count, i = shard.index;
  const int64_t first = i * base + std::min<int64_t>(i, extra);
  return {first, first + base + (i < extra ? 1 : 0)};
}

}  // namespace minidl::data
