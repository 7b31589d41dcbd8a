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
/// Search: float maps on row-major float/half/bfloat16 rows use a per-neuron uniform index over the knot range
/// (quantile_search) and the vector code of quantile_level.inc, dispatched per act::simd level: O(1) to the
/// bucket and a step or two inside it. Other buffers binary-search (ceil(log2 K) steps, conditional moves;
/// row-major ones run 8 neighbouring searches side by side). Both find the same segment, so the bits agree.

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
#include <act/detail/kernels/simd.hpp>
#include <act/detail/kernels/storage.hpp>

namespace act::detail {

/// A float quantile map's search index as the vector kernels read it (non-owning; see quantile_search).
struct quantile_index {
  /// Neurons per entry of `steps`.
  static constexpr Eigen::Index step_group = 16;
  Eigen::Index neurons = 0;
  Eigen::Index k = 0;
  Eigen::Index buckets = 0;              ///< B: bucket indices run 0 .. B
  const float* knots = nullptr;          ///< [d x K], neuron-major; knots[-1] is readable
  const float* segments = nullptr;       ///< {g, h} pairs, K + 1 per neuron
  const float* origin = nullptr;         ///< x_0 per neuron (padded to whole step groups)
  const float* scale = nullptr;          ///< B / (x_{K-1} - x_0) per neuron, or 0 (padded likewise)
  const std::uint16_t* table = nullptr;  ///< B + 2 per neuron: entry b = number of knots in buckets < b
  const std::uint8_t* steps = nullptr;   ///< per step group: halving steps that cover its widest bucket
};

/// Bucket of v in a neuron's uniform index: trunc(clamp((v - x_0) scale, 0, B)), NaN -> 0. A non-decreasing
/// function of v, computed exactly so by the vector kernels; hence every knot in a bucket below v's is <= v
/// and every knot in a bucket above is > v, and only v's own bucket needs a search.
inline std::int32_t quantile_bucket(float v, float origin, float scale, float buckets) {
  float t = (v - origin) * scale;
  t = t > 0.0f ? t : 0.0f;
  t = t < buckets ? t : buckets;
  return static_cast<std::int32_t>(t);
}

/// Owns a float quantile map's search index (see quantile_index): per neuron B + 1 buckets of equal width
/// over [x_0, x_{K-1}], B = 2K (16 .. 8192), and the knot count below each bucket. Maps of Gaussian-like
/// quantiles put at most three knots in a bucket (two halving steps; 4K buckets measured no faster, their
/// table costing cache); a neuron with all knots equal puts all K in one, and
/// its group of 16 neurons then searches log2 K steps, as a binary search would.
class quantile_search {
 public:
  /// Builds the index of d neurons with k knots each (neuron-major at `knots`); leaves it unusable (empty)
  /// when the sizes exceed its 16- and 32-bit counts.
  void build(Eigen::Index d, Eigen::Index k, const float* knots) {
    *this = {};
    const Eigen::Index b = std::clamp<Eigen::Index>(2 * k, 16, 8192);
    constexpr auto most = static_cast<Eigen::Index>(std::numeric_limits<std::int32_t>::max());
    if (k > 65535 || d > most / (b + 2) || d > most / (k + 1)) return;
    const Eigen::Index groups = (d + quantile_index::step_group - 1) / quantile_index::step_group;
    buckets_ = b;
    origin_.assign(static_cast<std::size_t>(groups * quantile_index::step_group), 0.0f);
    scale_.assign(origin_.size(), 0.0f);
    table_.assign(static_cast<std::size_t>(d * (b + 2)), 0);
    steps_.assign(static_cast<std::size_t>(groups), 0);
    std::vector<std::int32_t> count(static_cast<std::size_t>(b + 1));
    for (Eigen::Index c = 0; c < d; ++c) {
      const float* x = knots + c * k;
      const float range = x[k - 1] - x[0];
      float scale = static_cast<float>(b) / range;
      if (!(range > 0.0f) || !std::isfinite(scale)) scale = 0.0f;
      origin_[static_cast<std::size_t>(c)] = x[0];
      scale_[static_cast<std::size_t>(c)] = scale;
      std::fill(count.begin(), count.end(), 0);
      for (Eigen::Index i = 0; i < k; ++i)
        ++count[static_cast<std::size_t>(quantile_bucket(x[i], x[0], scale, static_cast<float>(b)))];
      std::uint16_t* entry = table_.data() + c * (b + 2);
      std::int32_t below = 0, widest = 0;
      for (Eigen::Index j = 0; j <= b; ++j) {
        entry[j] = static_cast<std::uint16_t>(below);
        below += count[static_cast<std::size_t>(j)];
        widest = std::max(widest, count[static_cast<std::size_t>(j)]);
      }
      entry[b + 1] = static_cast<std::uint16_t>(below);
      std::uint8_t steps = 0;
      while ((std::int32_t{1} << steps) <= widest) ++steps;  // 2^steps - 1 >= widest
      std::uint8_t& group = steps_[static_cast<std::size_t>(c / quantile_index::step_group)];
      group = std::max(group, steps);
    }
  }

  bool usable() const { return buckets_ > 0; }

  /// The index over `knots` (with knots[-1] readable) and `segments` of the map it was built for.
  quantile_index view(Eigen::Index d, Eigen::Index k, const float* knots, const float* segments) const {
    return {d, k, buckets_, knots, segments, origin_.data(), scale_.data(), table_.data(), steps_.data()};
  }

 private:
  Eigen::Index buckets_ = 0;
  std::vector<float> origin_, scale_;
  std::vector<std::uint16_t> table_;
  std::vector<std::uint8_t> steps_;
};

}  // namespace act::detail

#define ACT_LEVEL_BODY <act/detail/kernels/quantile_level.inc>
#include <act/detail/kernels/for_each_level.inc>
#undef ACT_LEVEL_BODY

namespace act::detail {

/// One segment of a neuron's quantile map: T(x) - x = g (x - x_ref) + h.
template <class Scalar>
struct quantile_segment {
  Scalar g;  ///< slope - 1
  Scalar h;  ///< y_ref - x_ref
};

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
  /// The vector kernel, where it applies (float map, float compute, row-major, usable index); false otherwise.
  template <class T>
  bool vector_rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                   float l, const float* lambdas) const {
#if defined(ACT_VECTOR_KERNELS)
    if constexpr (std::is_same_v<Scalar, float> && std::is_same_v<compute_t<T>, float>) {
      if (col_stride != 1 || search == nullptr || !search->usable()) return false;
      const quantile_index q = search->view(neurons, k, knots, &segments[0].g);
      with_active_level([&](auto level) { quantile_rows(level, data, row_stride, begin, end, q, l, lambdas); });
      return true;
    }
#endif
    (void)data, (void)row_stride, (void)col_stride, (void)begin, (void)end, (void)l, (void)lambdas;
    return false;
  }
};

}  // namespace act::detail
