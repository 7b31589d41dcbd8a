#pragma once
/// Seeded random numbers with our own distributions: the standard library's distributions are
/// implementation-defined, so they would make the data set and the weights depend on the compiler.
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace toy_diffusion {

/// splitmix64 generator.
class rng {
 public:
  explicit rng(std::uint64_t seed = 0) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), n > 0.
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }

  /// Standard normal (Box-Muller, one value per call).
  double normal() {
    double u1 = uniform();
    const double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

/// Seed of stream `index` under `base`: image i of a set gets the same noise whatever the batch.
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t index) {
  rng r(base ^ (0xA0761D6478BD642FULL * (index + 1)));
  r.next();
  return r.next();
}

}  // namespace toy_diffusion
