#pragma once
/// \file affine_rows.hpp
/// The kernels of affine_hook: an affine map at a fixed strength (or one strength per row) applied in place
/// to rows of a buffer, elements outside the support keeping their bits. Row-major float/half/bfloat16 rows
/// go through the vector kernel on packed coefficients (affine_level.inc, compiled per act::simd level and
/// dispatched at run time); other layouts through portable loops.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/affine_coefficients.hpp>
#include <act/detail/kernels/convert.hpp>
#include <act/detail/kernels/simd.hpp>
#include <act/detail/kernels/storage.hpp>

namespace act::detail {

/// Row maps for the portable kernels: `map(r)` is row r's element map f(c, v); `per_row` selects the
/// formula in the vector kernel.
template <class Scalar>
struct fused_map {
  static constexpr bool per_row = false;
  const Scalar* scale;
  const Scalar* shift;
  auto operator()(Eigen::Index) const {
    return [scale = scale, shift = shift](Eigen::Index c, auto v) {
      using C = decltype(v);
      return scale_shift(v, static_cast<C>(scale[c]), static_cast<C>(shift[c]));
    };
  }
};
template <class Scalar>
struct per_row_map {
  static constexpr bool per_row = true;
  const Scalar* omega_minus_one;
  const Scalar* beta;
  const float* lambdas;
  auto operator()(Eigen::Index r) const {
    return [wm1 = omega_minus_one, beta = beta, l = lambdas[r]](Eigen::Index c, auto v) {
      using C = decltype(v);
      return displace(v, static_cast<C>(wm1[c]) * v + static_cast<C>(beta[c]), static_cast<C>(l));
    };
  }
};

}  // namespace act::detail

#define ACT_LEVEL_BODY <act/detail/kernels/affine_level.inc>
#include <act/detail/kernels/for_each_level.inc>
#undef ACT_LEVEL_BODY

namespace act::detail {

/// An affine map at one strength as the kernels read it (non-owning): per neuron the fused scale and
/// shift, the support as inclusive bounds in float and in double (detail/kernels/bounds.hpp: open and
/// closed supports, NaN and +-Inf always outside), omega - 1 and beta (per-row mode), and for float
/// coefficients the packed copy of all six.
template <class Scalar>
struct affine_kernel {
  Eigen::Index neurons = 0;
  const Scalar* scale = nullptr;
  const Scalar* shift = nullptr;
  const float* lower_float = nullptr;
  const float* upper_float = nullptr;
  const double* lower_double = nullptr;
  const double* upper_double = nullptr;
  const Scalar* omega_minus_one = nullptr;
  const Scalar* beta = nullptr;
  const float* packed = nullptr;

  /// The inclusive bounds for values computed in C (float or double).
  template <class C>
  const C* lower_in() const {
    if constexpr (std::is_same_v<C, float>)
      return lower_float;
    else
      return lower_double;
  }
  template <class C>
  const C* upper_in() const {
    if constexpr (std::is_same_v<C, float>)
      return upper_float;
    else
      return upper_double;
  }

  static constexpr Eigen::Index group = affine_group;
  static constexpr Eigen::Index group_floats = affine_group_floats;
  static constexpr Eigen::Index pair_group = affine_pair_group;

  Eigen::Index dim() const { return neurons; }

  /// Rows [begin, end) at the fused strength.
  template <class T>
  void rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end) const {
    apply(data, row_stride, col_stride, begin, end, fused_map<Scalar>{scale, shift});
  }

  /// Rows [begin, end), row r at strength lambdas[r].
  template <class T>
  void rows_per_row(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                    const float* lambdas) const {
    apply(data, row_stride, col_stride, begin, end, per_row_map<Scalar>{omega_minus_one, beta, lambdas});
  }

 private:
  template <class T, class RowMap>
  void apply(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
             const RowMap& row_map) const {
    if (col_stride == 1)
      blocked_rows(data, begin, end, row_stride, row_map);
    else
      strided_rows(data, row_stride, col_stride, begin, end, row_map);
  }

  /// Row-major kernel over rows [begin, end). `row_map(r)` gives the element map of row r,
  /// called as f(c, v) -> transported value of neuron c. Float-coefficient hooks on float, half and bfloat16
  /// rows run the vector kernel (affine_level.inc); the rest the portable loops.
  template <class T, class RowMap>
  void blocked_rows(T* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride,
                    const RowMap& row_map) const {
    using C = typename storage_traits<std::remove_const_t<T>>::compute;
#if defined(ACT_VECTOR_KERNELS)
    if constexpr (std::is_same_v<Scalar, float> && std::is_same_v<C, float>) {
      const float* lambdas = nullptr;
      if constexpr (RowMap::per_row) lambdas = row_map.lambdas;
      with_active_level([&](auto level) {
        affine_rows(level, std::bool_constant<RowMap::per_row>{}, data, row_stride, begin, end, dim(), packed, lambdas);
      });
    } else  // the portable loops are not compiled where the vector kernel serves
#endif
    {
      portable_rows(data, begin, end, row_stride, row_map);
    }
  }

  /// The portable row-major loops.
  ///
  /// At d = 4096 the four coefficient arrays (64 KB in float) do not fit L1: a loop that walks one
  /// whole row at a time reloads them from L2 for every row and runs at about half of memory speed.
  /// So rows go in blocks of `row_block` and columns in chunks of `col_chunk`: each chunk of
  /// coefficients is loaded into L1 once and reused across the rows of the block.
  /// The loop bodies are branch-free selects, so the compiler vectorises them (SSE2 upwards).
  template <class T, class RowMap>
  void portable_rows(T* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride,
                     const RowMap& row_map) const {
    using S = std::remove_const_t<T>;
    using C = typename storage_traits<S>::compute;
    constexpr Eigen::Index row_block = 8;
    constexpr Eigen::Index col_chunk = is_16bit_v<S> ? 512 : 1024;
    const Eigen::Index d = dim();
    const C* lo = lower_in<C>();
    const C* hi = upper_in<C>();
    for (Eigen::Index r0 = begin; r0 < end; r0 += row_block) {
      const Eigen::Index r1 = std::min(end, r0 + row_block);
      for (Eigen::Index c0 = 0; c0 < d; c0 += col_chunk) {
        const Eigen::Index n = std::min(d, c0 + col_chunk) - c0;
        const C* lo_c = lo + c0;
        const C* hi_c = hi + c0;
        for (Eigen::Index r = r0; r < r1; ++r) {
          const auto f = row_map(r);
          S* row = data + r * row_stride + c0;
          if constexpr (is_16bit_v<S>) {
            // Widen a chunk to float, transport, narrow, then select per element between the new
            // bits and the original bits: elements outside the support (NaN and +-Inf included) keep theirs.
            alignas(64) std::uint16_t raw[col_chunk], out[col_chunk];
            alignas(64) float v[col_chunk], y[col_chunk];
            std::memcpy(raw, row, static_cast<std::size_t>(n) * sizeof(S));
            widen<S>(raw, v, n);
            for (Eigen::Index c = 0; c < n; ++c) y[c] = f(c0 + c, v[c]);
            narrow<S>(y, out, n);
            for (Eigen::Index c = 0; c < n; ++c) {
              const bool inside = (lo_c[c] <= v[c]) & (v[c] <= hi_c[c]);
              const auto keep_new = static_cast<std::uint16_t>(-static_cast<std::uint16_t>(inside));
              out[c] = static_cast<std::uint16_t>((out[c] & keep_new) | (raw[c] & ~keep_new));
            }
            std::memcpy(row, out, static_cast<std::size_t>(n) * sizeof(S));
          } else {
            for (Eigen::Index c = 0; c < n; ++c) {
              const C v = row[c];
              const C y = f(c0 + c, v);
              // Bitwise & (not &&) keeps the body branch-free; NaN fails both comparisons.
              const bool inside = (lo_c[c] <= v) & (v <= hi_c[c]);
              row[c] = select_bits(inside, y, v);
            }
          }
        }
      }
    }
  }

  /// Any-stride fallback (column-major buffers): neuron by neuron.
  template <class T, class RowMap>
  void strided_rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                    const RowMap& row_map) const {
    using C = typename storage_traits<std::remove_const_t<T>>::compute;
    for (Eigen::Index c = 0; c < dim(); ++c) {
      const C lo = lower_in<C>()[c], hi = upper_in<C>()[c];
      for (Eigen::Index r = begin; r < end; ++r) {
        T& slot = data[r * row_stride + c * col_stride];
        const C v = static_cast<C>(slot);
        if (lo <= v && v <= hi) slot = static_cast<T>(row_map(r)(c, v));
      }
    }
  }
};

}  // namespace act::detail
