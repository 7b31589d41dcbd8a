#pragma once
/// \file radix_sort.hpp
/// Ascending sort of float/double samples by least-significant-digit radix sort on their bits:
/// fitting sorts every neuron's samples, and for the usual thousands of samples this is several
/// times faster than std::sort (benchmarks/bench_fit: BM_sort_columns vs BM_sort_columns_radix).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

namespace act::detail {

/// Unsigned integers whose order is the floating-point order of the values they came from:
/// negative values have all bits flipped, others only the sign bit. -0 sorts before +0; NaNs
/// (never passed here: samples are checked finite first) would sort to the ends.
template <class T>
struct ordered_bits {
  static_assert(std::is_floating_point_v<T> && (sizeof(T) == 4 || sizeof(T) == 8));
  using key = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static constexpr key sign = key(1) << (8 * sizeof(T) - 1);

  static key encode(T value) {
    key u;
    std::memcpy(&u, &value, sizeof u);
    return u ^ ((u & sign) ? ~key(0) : sign);
  }
  static T decode(key k) {
    const key u = k ^ ((k & sign) ? sign : ~key(0));
    T value;
    std::memcpy(&value, &u, sizeof value);
    return value;
  }
};

/// Reusable buffers for radix_sort (one per thread): keys, their scatter copy, and digit counts.
template <class T>
struct radix_buffers {
  using key = typename ordered_bits<T>::key;
  /// 11-bit digits: three passes for float, six for double; 2048 counts per digit stay in L1.
  static constexpr int digit_bits = 11;
  static constexpr int radix = 1 << digit_bits;
  static constexpr int digits = (8 * int(sizeof(key)) + digit_bits - 1) / digit_bits;
  std::vector<key> keys, scratch;
  std::vector<std::uint32_t> counts;
};

/// Below this many values std::sort is faster than clearing and summing the digit counts.
inline constexpr std::size_t radix_sort_min_size = 1024;

/// Sorts the n values at `first` ascending into out[0, n) (`first` may be `out`), as std::sort does
/// (zeros of either sign compare equal: their relative order is unspecified; the radix passes put -0
/// first), and returns whether all of them are finite. One pass encodes and counts every digit; then
/// one stable scatter pass per digit, skipped when all values share that digit (often the top one:
/// similar exponents). NaN and Inf encode to the lowest and highest keys, so the top digit's counts
/// tell whether any can be present; only then are the keys scanned. Values with a NaN or Inf are
/// sorted too, in an unspecified order.
template <class T>
bool radix_sort_into(const T* first, std::size_t n, T* out, radix_buffers<T>& buffers) {
  using bits = ordered_bits<T>;
  using key = typename bits::key;
  using buffers_type = radix_buffers<T>;
  constexpr int digit_bits = buffers_type::digit_bits, radix = buffers_type::radix, digits = buffers_type::digits;
  constexpr key digit_mask = radix - 1;
  constexpr int top_shift = digit_bits * (digits - 1);
  // The keys of -Inf and +Inf: finite values lie strictly between them.
  const key lowest_non_finite = bits::encode(-std::numeric_limits<T>::infinity());
  const key highest_non_finite = bits::encode(std::numeric_limits<T>::infinity());
  const auto finite_key = [&](key k) { return k > lowest_non_finite && k < highest_non_finite; };
  // Digit counts are 32-bit (half the cache of size_t's); a longer array goes to std::sort.
  if (n < radix_sort_min_size || n > std::numeric_limits<std::uint32_t>::max()) {
    bool finite = true;
    for (std::size_t i = 0; i < n; ++i) finite &= finite_key(bits::encode(first[i]));
    if (first != out) std::copy(first, first + n, out);
    if (finite) std::sort(out, out + n);
    return finite;
  }
  auto& keys = buffers.keys;
  auto& scratch = buffers.scratch;
  keys.resize(n);
  scratch.resize(n);
  buffers.counts.assign(static_cast<std::size_t>(digits * radix), 0);
  std::uint32_t* const counts = buffers.counts.data();
  for (std::size_t i = 0; i < n; ++i) {
    const key k = bits::encode(first[i]);
    keys[i] = k;
    for (int d = 0; d < digits; ++d) ++counts[d * radix + ((k >> (digit_bits * d)) & digit_mask)];
  }
  bool finite = true;
  {
    const std::uint32_t* const top = counts + (digits - 1) * radix;
    const int low_bucket = static_cast<int>(lowest_non_finite >> top_shift);
    const int high_bucket = static_cast<int>(highest_non_finite >> top_shift);
    std::size_t edge = 0;
    for (int b = 0; b <= low_bucket; ++b) edge += top[b];
    constexpr int top_buckets = 1 << (8 * int(sizeof(key)) - top_shift);  // the top digit is narrower
    for (int b = high_bucket; b < top_buckets; ++b) edge += top[b];
    if (edge != 0)
      for (std::size_t i = 0; i < n; ++i) finite &= finite_key(keys[i]);
  }
  // Passes of digits that every value shares are skipped (the order stays). The offsets of all digits are
  // summed side by side (independent chains); the last pass that runs writes decoded values to `out`.
  bool runs[digits];
  int last = -1;
  for (int d = 0; d < digits; ++d) {
    runs[d] = counts[d * radix + ((keys[0] >> (digit_bits * d)) & digit_mask)] != n;
    if (runs[d]) last = d;
  }
  std::uint32_t offset[digits] = {};
  for (int b = 0; b < radix; ++b)
    for (int d = 0; d < digits; ++d) offset[d] += std::exchange(counts[d * radix + b], offset[d]);
  const auto pass = [&](int d, const key* from, auto* to, auto convert) {
    const int shift = digit_bits * d;
    std::uint32_t* const count = counts + d * radix;
    for (std::size_t i = 0; i < n; ++i) to[count[(from[i] >> shift) & digit_mask]++] = convert(from[i]);
  };
  key* from = keys.data();
  key* to = scratch.data();
  for (int d = 0; d < last; ++d) {
    if (!runs[d]) continue;
    pass(d, from, to, [](key k) { return k; });
    std::swap(from, to);
  }
  if (last >= 0)
    pass(last, from, out, [](key k) { return bits::decode(k); });
  else
    for (std::size_t i = 0; i < n; ++i) out[i] = bits::decode(from[i]);
  return finite;
}

/// Sorts `values` ascending in place (radix_sort_into); NaN and Inf are allowed.
template <class T>
void radix_sort(std::vector<T>& values, radix_buffers<T>& buffers) {
  const std::size_t n = values.size();
  if (n < radix_sort_min_size) {
    std::sort(values.begin(), values.end());
    return;
  }
  radix_sort_into(values.data(), n, values.data(), buffers);
}

}  // namespace act::detail
