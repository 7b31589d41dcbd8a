// The radix sort used by every fit, against std::sort on awkward inputs.
#include <act/detail/numeric/radix_sort.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

/// Sorts with both and checks the radix result equals std::sort's value for value (-0 == +0, so
/// zeros of either sign may come in any order) and is a permutation of the input, bit for bit.
template <class T>
void check_against_std_sort(std::vector<T> values, act::detail::radix_buffers<T>& buffers) {
  auto expected = values;
  std::sort(expected.begin(), expected.end());
  auto got = values;
  act::detail::radix_sort(got, buffers);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == expected[i]);
  using key = typename act::detail::ordered_bits<T>::key;
  std::vector<key> in_bits(values.size()), out_bits(got.size());
  if (!values.empty()) {
    std::memcpy(in_bits.data(), values.data(), values.size() * sizeof(T));
    std::memcpy(out_bits.data(), got.data(), got.size() * sizeof(T));
  }
  std::sort(in_bits.begin(), in_bits.end());
  std::sort(out_bits.begin(), out_bits.end());
  REQUIRE(in_bits == out_bits);
}

}  // namespace

TEST_CASE_TEMPLATE("radix_sort equals std::sort", T, float, double) {
  std::mt19937 rng(41);
  act::detail::radix_buffers<T> buffers;  // reused across calls, as in the fits
  std::normal_distribution<T> normal(T(0.3), T(1.7));
  constexpr T inf = std::numeric_limits<T>::infinity();
  const T specials[] = {T(0),
                        -T(0),
                        inf,
                        -inf,
                        std::numeric_limits<T>::denorm_min(),
                        -std::numeric_limits<T>::denorm_min(),
                        std::numeric_limits<T>::min(),
                        std::numeric_limits<T>::max(),
                        std::numeric_limits<T>::lowest(),
                        T(1),
                        T(-1)};
  for (const std::size_t n : {0u, 1u, 2u, 1023u, 1024u, 1025u, 4096u, 100000u}) {
    CAPTURE(n);
    std::vector<T> v(n);
    for (auto& x : v) x = normal(rng);
    check_against_std_sort(v, buffers);
    // Heavy ties and special values mixed in.
    for (std::size_t i = 0; i < n; ++i)
      if (i % 3 == 0) v[i] = specials[i % (sizeof specials / sizeof specials[0])];
    check_against_std_sort(v, buffers);
    // Already sorted, reversed, all equal, all negative, one distinct value in a constant run.
    std::sort(v.begin(), v.end());
    check_against_std_sort(v, buffers);
    std::reverse(v.begin(), v.end());
    check_against_std_sort(v, buffers);
    check_against_std_sort(std::vector<T>(n, T(2.5)), buffers);
    for (auto& x : v) x = -std::abs(normal(rng)) - T(1);
    check_against_std_sort(v, buffers);
    std::vector<T> runs(n, T(7));
    if (n > 0) runs[n / 2] = T(-7);
    check_against_std_sort(runs, buffers);
    // Digits every value shares skip their pass: the top one ([1, 1.25) shares sign and exponent), the lowest
    // one (the low 11 bits cleared), both (only a middle pass runs and writes the result).
    using key = typename act::detail::ordered_bits<T>::key;
    const auto clear_low_bits = [](T x) {
      key u;
      std::memcpy(&u, &x, sizeof u);
      u &= ~key(0x7ff);
      std::memcpy(&x, &u, sizeof u);
      return x;
    };
    std::uniform_real_distribution<T> narrow(T(1), T(1.25));
    for (auto& x : v) x = narrow(rng);
    check_against_std_sort(v, buffers);
    for (auto& x : v) x = clear_low_bits(x);
    check_against_std_sort(v, buffers);
    for (auto& x : v) x = clear_low_bits(std::abs(normal(rng)));
    check_against_std_sort(v, buffers);
  }
}

TEST_CASE("ordered_bits order is the floating-point order") {
  using bits = act::detail::ordered_bits<float>;
  const float ascending[] = {-std::numeric_limits<float>::infinity(), -3.5f, -1e-30f, -0.0f, 0.0f, 1e-45f, 2.0f,
                             std::numeric_limits<float>::infinity()};
  for (std::size_t i = 1; i < sizeof ascending / sizeof ascending[0]; ++i) {
    REQUIRE(bits::encode(ascending[i - 1]) < bits::encode(ascending[i]));
    const float round_trip = bits::decode(bits::encode(ascending[i]));
    REQUIRE(std::memcmp(&round_trip, &ascending[i], sizeof(float)) == 0);
  }
}

TEST_CASE_TEMPLATE("radix_sort_into sorts from another buffer and tells whether every value is finite", T, float,
                   double) {
  std::mt19937 rng(43);
  act::detail::radix_buffers<T> buffers;
  std::normal_distribution<T> normal(T(-0.4), T(2.5));
  using limits = std::numeric_limits<T>;
  const T non_finite[] = {limits::quiet_NaN(), -limits::quiet_NaN(), limits::infinity(), -limits::infinity()};
  for (const std::size_t n : {2u, 5u, 1023u, 1024u, 4096u}) {
    CAPTURE(n);
    std::vector<T> v(n);
    for (auto& x : v) x = normal(rng);
    // The largest finite magnitudes share the top digit with the non-finite keys (for double).
    v[0] = limits::max();
    v[n - 1] = limits::lowest();
    std::vector<T> out(n), expected = v;
    std::sort(expected.begin(), expected.end());
    REQUIRE(act::detail::radix_sort_into(v.data(), n, out.data(), buffers));
    REQUIRE(out == expected);
    // Every pass skipped: the values still reach `out`.
    const std::vector<T> same(n, T(-3.25));
    std::fill(out.begin(), out.end(), T(0));
    REQUIRE(act::detail::radix_sort_into(same.data(), n, out.data(), buffers));
    REQUIRE(out == same);
    for (const T bad : non_finite)
      for (const std::size_t at : {std::size_t{0}, n / 2, n - 1}) {
        std::vector<T> w = v;
        w[at] = bad;
        CHECK_FALSE(act::detail::radix_sort_into(w.data(), n, out.data(), buffers));
      }
  }
}
