#include "distributed/buckets.h"

#include "core/error.h"

namespace minidl::distributed {

std::vector<std::vector<size_t>> plan_buckets(std::span<const int64_t> numels, int64_t bucket_bytes) {
  check(bucket_bytes > 0, "plan_buckets: bucket_bytes must be > 0, got ", bucket_bytes);
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i = numels.size(); i-- > 0;) {
    if (buckets.empty() || bytes >= bucket_bytes) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += numels[i] * static_cast<int64_t>(sizeof(float));
  }
  return buckets;
}

}  // namespace minidl::distributed
