#pragma once
/// \file column_sort.hpp
/// Sorting the columns of a row-major block of floats in place, all columns at once, by a sorting network run
/// down the rows (column_sort_level.inc, compiled per act::simd level), one column per vector lane. Fits sort
/// every neuron's samples: this sorts 32 neurons at once, in a row-major block (numeric/columns.hpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <act/detail/kernels/simd.hpp>

#define ACT_LEVEL_BODY <act/detail/kernels/column_sort_level.inc>
#include <act/detail/kernels/for_each_level.inc>
#undef ACT_LEVEL_BODY

namespace act::detail {

/// The value that pads a block to a power of two rows: the NaN whose key (ordered_bits) is the largest.
inline float column_sort_padding() {
  constexpr std::uint32_t bits = 0x7fffffffu;
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

/// Sorts each column of the row-major block `values` (`rows` rows of `width` floats, row stride `width`)
/// ascending in the order of ordered_bits<float> (radix_sort.hpp): -0 before +0, NaNs at the ends by sign.
/// `rows` must be a power of two (pad with column_sort_padding()) and `width` a multiple of 32. Returns false,
/// and leaves the block as it was, where the active level has no vector min and max (the baseline level): the
/// caller sorts otherwise.
inline bool sort_float_columns(float* values, std::size_t rows, std::size_t width) {
#if defined(ACT_VECTOR_KERNELS)
  return with_active_level([&](auto level) { return sort_float_columns(level, values, rows, width); });
#else
  (void)values, (void)rows, (void)width;
  return false;
#endif
}

}  // namespace act::detail
