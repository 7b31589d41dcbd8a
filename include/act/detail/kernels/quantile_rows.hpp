#pragma once
/// \file quantile_rows.hpp
/// The kernels of quantile_hook: a quantile map applied in place to rows of a buffer at a strength; NaN and
/// +-Inf keep their bits.
///
/// Layout, for speed: per neuron, its K source knots contiguous (a binary search touches one cache-friendly
/// run) and K + 1 segments {g, h} with T(x) - x = g (x - x_ref) + h, where x_ref is the segment's left knot
/// (the first knot below the knots), g = slope - 1 (0 on the slope-1 extensions) and h = y_ref - x_ref.
/// Measuring from the segment's own knot keeps the result accurate on steep segments, where
/// slope * x - intercept would cancel.
///
/// Search: float maps on row- or column-major float/half/bfloat16 buffers use a per-neuron uniform index over the
/// knot range (quantile_search) and the vector code of quantile_level.inc, dispatched per act::simd level: O(1)
/// to the bucket and a step or two inside it. Other buffers binary-search (ceil(log2 K) steps, conditional
/// moves; row-major ones run 8 neighbouring searches side by side). Both find the same segment, so the bits
/// agree.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/quantile_search.hpp>
#include <act/detail/kernels/simd.hpp>
#include <act/detail/kernels/storage.hpp>

#define ACT_LEVEL_BODY <act/detail/kernels/quantile_level.inc>
#include <act/detail/kernels/for_each_level.inc>
#undef ACT_LEVEL_BODY

namespace act::detail {

/// A quantile map as the kernels read it (non-owning): [d x K] knots and [d x (K + 1)] segments, neuron-major.
template <class Scalar>
struct quantile_kernel {
  Eigen::Index neurons = 0;
  Eigen::Index k = 0;
  const Scalar* knots = nullptr;
  const quantile_segment<Scalar>* segments = nullptr;
  double lambda = 0.0;                      ///< the strength of rows()
  const quantile_search* search = nullptr;  ///< float maps: the index of the vector kernels (may be unusable)

  template <class T>
  using compute_t = typename storage_traits<std::remove_const_t<T>>::compute;

  /// T(v) - v for neuron c and finite v.
  template <class C>
  C displacement(Eigen::Index c, C v) const {
    const Scalar* x = knots + c * k;
    // Binary search for s = number of knots <= v (0 .. K).
    // A conditional select per step (a conditional move, not a branch).
    Eigen::Index lo = 0;
    for (Eigen::Index n = k; n > 1;) {
      const Eigen::Index half = n / 2;
      lo = static_cast<C>(x[lo + half]) <= v ? lo + half : lo;
      n -= half;
    }
    const Eigen::Index s = lo + static_cast<Eigen::Index>(static_cast<C>(x[lo]) <= v);
    return segment_displacement(c, s, v);
  }

  /// T(v) - v on segment s (0 .. K) of neuron c.
  template <class C>
  C segment_displacement(Eigen::Index c, Eigen::Index s, C v) const {
    const quantile_segment<Scalar>& seg = segments[c * (k + 1) + s];
    const C ref = static_cast<C>(knots[c * k + (s > 0 ? s - 1 : 0)]);
    return static_cast<C>(seg.g) * (v - ref) + static_cast<C>(seg.h);
  }

  template <class T, class C>
  void apply_one(T& slot, Eigen::Index c, C l) const {
    const C v = static_cast<C>(slot);
    if (!std::isfinite(v)) return;
    slot = static_cast<T>(displace(v, displacement(c, v), l));
  }

  /// Rows [begin, end) of `x`. Row-major buffers go in blocks of rows by chunks of columns, so one
  /// chunk's knots and segments stay in cache across the block's rows.
  template <class T>
  void rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end) const {
    using C = compute_t<T>;
    const C l = static_cast<C>(lambda);
    if (vector_rows(data, row_stride, col_stride, begin, end, static_cast<float>(l), nullptr)) return;
    if (col_stride != 1) {
      for (Eigen::Index c = 0; c < neurons; ++c)
        for (Eigen::Index r = begin; r < end; ++r) apply_one(data[r * row_stride + c * col_stride], c, l);
      return;
    }
    constexpr Eigen::Index row_block = 16;
    constexpr Eigen::Index col_block = 32;
    for (Eigen::Index r0 = begin; r0 < end; r0 += row_block) {
      const Eigen::Index r1 = std::min(end, r0 + row_block);
      for (Eigen::Index c0 = 0; c0 < neurons; c0 += col_block) {
        const Eigen::Index c1 = std::min(neurons, c0 + col_block);
        for (Eigen::Index r = r0; r < r1; ++r) apply_columns(data + r * row_stride, c0, c1, l);
      }
    }
  }

  /// Columns [c0, c1) of one row. Groups of `lanes` neighbouring columns run their binary searches
  /// step by step side by side: the searches are independent, so the processor overlaps their load
  /// latencies instead of waiting on one dependent chain per element (several times faster).
  template <class T, class C>
  void apply_columns(T* row, Eigen::Index c0, Eigen::Index c1, C l) const {
    constexpr int lanes = 8;
    Eigen::Index c = c0;
    for (; c + lanes <= c1; c += lanes) {
      C v[lanes];
      const Scalar* x[lanes];
      Eigen::Index lo[lanes];
      for (int j = 0; j < lanes; ++j) {
        v[j] = static_cast<C>(row[c + j]);
        x[j] = knots + (c + j) * k;
        lo[j] = 0;
      }
      for (Eigen::Index n = k; n > 1;) {
        const Eigen::Index half = n / 2;
        for (int j = 0; j < lanes; ++j) lo[j] = static_cast<C>(x[j][lo[j] + half]) <= v[j] ? lo[j] + half : lo[j];
        n -= half;
      }
      for (int j = 0; j < lanes; ++j) {
        if (!std::isfinite(v[j])) continue;
        const Eigen::Index s = lo[j] + static_cast<Eigen::Index>(static_cast<C>(x[j][lo[j]]) <= v[j]);
        row[c + j] = static_cast<T>(displace(v[j], segment_displacement(c + j, s, v[j]), l));
      }
    }
    for (; c < c1; ++c) apply_one(row[c], c, l);
  }

  /// Rows [begin, end), row r at strength lambdas[r] (element by element).
  template <class T>
  void rows_per_row(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                    const float* lambdas) const {
    using C = compute_t<T>;
    if (vector_rows(data, row_stride, col_stride, begin, end, 0.0f, lambdas)) return;
    for (Eigen::Index r = begin; r < end; ++r) {
      const C l = static_cast<C>(lambdas[r]);
      T* row = data + r * row_stride;
      for (Eigen::Index c = 0; c < neurons; ++c) apply_one(row[c * col_stride], c, l);
    }
  }

 private:
  /// The vector kernel, where it applies (float map, float compute, row- or column-major, usable index); false
  /// otherwise.
  template <class T>
  bool vector_rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                   float l, const float* lambdas) const {
#if defined(ACT_VECTOR_KERNELS)
    if constexpr (std::is_same_v<Scalar, float> && std::is_same_v<compute_t<T>, float>) {
      if ((col_stride != 1 && row_stride != 1) || search == nullptr || !search->usable()) return false;
      const quantile_index q = search->view(neurons, k, knots, &segments[0].g);
      if (col_stride == 1)
        with_active_level([&](auto level) { quantile_rows(level, data, row_stride, begin, end, q, l, lambdas); });
      else
        with_active_level(
            [&](auto level) { quantile_rows_column_major(level, data, col_stride, begin, end, q, l, lambdas); });
      return true;
    }
#endif
    (void)data, (void)row_stride, (void)col_stride, (void)begin, (void)end, (void)l, (void)lambdas;
    return false;
  }
};

}  // namespace act::detail
