#include "core/generator.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace minidl {

uint64_t Generator::splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Generator::Generator(uint64_t seed) {
  for (uint64_t& word : s_) word = splitmix64(seed);
}

void Generator::set_state(const std::array<uint64_t, 4>& state) {
  check(state[0] | state[1] | state[2] | state[3], "Generator: the all-zero state is invalid for xoshiro256**");
  s_ = state;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

float Generator::uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

double Generator::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

uint64_t Generator::below(uint64_t n) {
  check(n > 0, "Generator::below: n must be positive");
  // Reject the top 2^64 mod n values, the incomplete last copy of [0, n), so that x % n is uniform.
  const uint64_t rem = (UINT64_MAX % n + 1) % n;
  uint64_t x;
  do x = next_u64();
  while (x > UINT64_MAX - rem);
  return x % n;
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

std::array<double, 2> Generator::normal_pair() {
  const double u1 = 1.0 - uniform_double();  // (0, 1]: log(u1) is finite
  const double u2 = uniform_double();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * std::numbers::pi * u2;
  return {r * std::cos(theta), r * std::sin(theta)};
}

}  // namespace minidl
