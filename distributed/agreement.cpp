#include "distributed/agreement.h"

#include <cstring>

#include "distributed/collectives.h"
#include "distributed/world.h"

namespace minidl::distributed {

namespace {

// The fingerprint as one string: "field\x1fvalue\x1e…", fields in the caller's order.
std::string serialize(const Fingerprint& f) {
  std::string s;
  for (const auto& [field, value] : f) s += field + '\x1f' + value + '\x1e';
  return s;
}

Fingerprint parse(const std::string& s) {
  Fingerprint f;
  size_t at = 0;
  while (at < s.size()) {
    const size_t unit = s.find('\x1f', at), record = s.find('\x1e', at);
    if (unit == std::string::npos || record == std::string::npos || unit > record) break;
    f.emplace_back(s.substr(at, unit - at), s.substr(unit + 1, record - unit - 1));
    at = record + 1;
  }
  return f;
}

// Rank `root`'s string on every rank: its length, then its bytes packed into 64-bit words.
std::string broadcast_string(const std::string& mine, int root) {
  uint64_t size = mine.size();
  broadcast(std::span<uint64_t>(&size, 1), root);
  std::vector<uint64_t> words((size + 7) / 8, 0);
  if (rank() == root) std::memcpy(words.data(), mine.data(), mine.size());
  broadcast(std::span<uint64_t>(words), root);
  std::string out(size, '\0');
  std::memcpy(out.data(), words.data(), size);
  return out;
}

std::string shortened(const std::string& value) {
  return value.size() <= 200 ? value : value.substr(0, 200) + "… (" + std::to_string(value.size()) + " characters)";
}

}  // namespace

void check_ranks_agree(const Fingerprint& mine) {
  if (world_size() <= 1) return;
  const std::string text = serialize(mine);
  std::vector<Fingerprint> all;  // every rank's, on every rank: each computes the same verdict
  for (int r = 0; r < world_size(); ++r) all.push_back(parse(broadcast_string(text, r)));
  const Fingerprint& first = all[0];
  for (size_t i = 0;; ++i) {
    size_t ended = 0;
    bool differs = false;
    for (const Fingerprint& f : all) {
      ended += i >= f.size();
      differs = differs || (i < f.size() && i < first.size() && f[i] != first[i]);
    }
    if (ended == all.size()) return;  // every field alike
    if (!differs && ended == 0) continue;
    std::string message = "the ranks must run the same training, and they disagree on ";
    message += i < first.size() ? first[i].first : "the number of settings";
    for (size_t r = 0; r < all.size(); ++r)
      message += str_cat(r ? ", " : ": ", "rank ", r, " has ",
                         i < all[r].size() ? "'" + shortened(all[r][i].second) + "'" : "nothing");
    message += " (start every rank with the same flags and data)";
    throw Error(message);
  }
}

uint64_t parameters_hash(const std::vector<Tensor>& parameters) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const Tensor& p : parameters) {
    const std::vector<float> values = p.to_vector();
    const auto* bytes = reinterpret_cast<const uint8_t*>(values.data());
    for (size_t i = 0; i < values.size() * sizeof(float); ++i) h = (h ^ bytes[i]) * 0x100000001b3ull;
  }
  return h;
}

void check_replicas_agree(uint64_t hash, const std::string& where) {
  if (world_size() <= 1) return;
  uint64_t root = hash;
  broadcast(std::span<uint64_t>(&root, 1), 0);
  std::vector<int32_t> differs(static_cast<size_t>(world_size()), 0);
  differs[static_cast<size_t>(rank())] = root != hash;
  all_reduce(std::span<int32_t>(differs), ReduceOp::sum);
  std::string ranks;
  for (size_t r = 0; r < differs.size(); ++r)
    if (differs[r]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  check(ranks.empty(), "the replicas drifted apart ", where, ": the parameters of rank", ranks.find(',') ==
        std::string::npos ? " " : "s ", ranks, " differ from rank 0's (a rank trained on other data or settings, or "
        "its memory was corrupted)");
}

}  // namespace minidl::distributed
