// Generator: the seeded random source behind randn, uniform, weight init and data shuffling.
// xoshiro256** seeded through splitmix64, with distributions written out here rather than taken
// from <random> (whose distributions differ between standard libraries), so a seed gives the same
// numbers on every platform and compiler. The integer stream and uniforms are exact; normals use
// double log/cos/sin, whose last-bit differences between C libraries vanish when rounded to float.
// reference: https://prng.di.unimi.it/xoshiro256starstar.c
#pragma once

#include <array>
#include <cstdint>

namespace minidl {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0);

  uint64_t next_u64();
  /// Uniform on [0, 1) with 24 random bits: every value is exactly representable as a float.
  float uniform();
  /// Uniform on [0, 1) with 53 random bits.
  double uniform_double();
  /// Uniform integer on [0, n) without modulo bias (rejection sampling); n > 0.
  uint64_t below(uint64_t n);
  /// Two independent standard normal samples (Box–Muller on two uniform_double() draws).
  std::array<double, 2> normal_pair();

  /// The full engine state, for checkpoints: set_state(state()) resumes the same sequence.
  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& state);

  /// splitmix64 step: advances x and returns the next output (used to expand a seed).
  static uint64_t splitmix64(uint64_t& x);

 private:
  std::array<uint64_t, 4> s_;
};

/// The generator used where none is passed (e.g. nn::Linear's initialization), seeded with 0.
/// Not thread-safe: seed it with manual_seed() and draw from one thread.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace minidl
