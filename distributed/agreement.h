// Ranks that must agree. Data parallelism is correct only when every rank runs the same model, the
// same optimizer with the same settings, on shares of the same data: a rank started with other
// flags used to crash the job (rank 0 SIGSEGV on a parameter of another size) or, worse, train
// replicas that drift apart without a word. Two checks make that impossible:
//   - at start, check_ranks_agree compares every rank's fingerprint (named fields: the settings,
//     the parameters' shapes, the data's sizes and a hash of it) and every rank stops with the same
//     message naming the first field that differs and each rank's value;
//   - during training, check_replicas_agree compares a hash of every rank's parameters (bitwise:
//     replicas apply the same all-reduced update, so they are bit-for-bit equal) and stops naming
//     where they parted.
// Both are collectives: every rank must call them at the same point. In a world of one they return.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace minidl::distributed {

using Fingerprint = std::vector<std::pair<std::string, std::string>>;  // (field, value), in one order

/// Throws Error "ranks disagree on <field>: rank 0 has <v0>, rank 1 has <v1>…" on every rank when
/// the ranks' fingerprints differ (values are shortened to 200 characters).
void check_ranks_agree(const Fingerprint& mine);

/// FNV-1a over the parameters' bytes, in order (copied to the host).
uint64_t parameters_hash(const std::vector<Tensor>& parameters);

/// Throws Error on every rank when the ranks' `hash`es differ, naming `where` ("after step 938,
/// epoch 1") and the ranks that differ from rank 0.
void check_replicas_agree(uint64_t hash, const std::string& where);

}  // namespace minidl::distributed
