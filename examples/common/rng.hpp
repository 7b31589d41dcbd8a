#pragma once
/// Small seeded random source with its own distributions, shared by the toy models.
/// The standard library's distributions are implementation-defined, so the same seed could give a
/// different corpus, data set or weights with another standard library; these do not.
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace examples_common {

/// splitmix64: a fast, well-mixed 64-bit generator; also used to derive independent sub-seeds.
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
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n), of n's type; n must be positive. The tiny modulo bias is irrelevant here.
  template <class Int>
  Int below(Int n) {
    static_assert(std::is_integral_v<Int>, "rng::below takes an integer");
    return static_cast<Int>(next() % static_cast<std::uint64_t>(n));
  }

  bool chance(double p) { return uniform() < p; }

  /// Standard normal by Box-Muller (one value per call keeps the state simple).
  double normal() {
    double u1 = uniform();
    const double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

/// The seed of stream `index` under `base`, so that e.g. continuation or image i is reproducible
/// whatever the batch it is generated in. `mix` is an odd 64-bit constant; each model keeps its own
/// (its data and committed weights were made with it).
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t index, std::uint64_t mix) {
  rng r(base ^ (mix * (index + 1)));
  r.next();
  return r.next();
}

}  // namespace examples_common
