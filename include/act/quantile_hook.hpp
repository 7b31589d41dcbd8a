#pragma once
/// \file quantile_hook.hpp
/// Applies a quantile (non-parametric) map at strength lambda, in place, to activation buffers.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "activations.hpp"
#include "detail/check.hpp"
#include "detail/rows.hpp"
#include "detail/storage.hpp"
#include "error.hpp"
#include "quantile_map.hpp"

namespace act {

/// A functor applying a quantile_map at strength lambda: x <- x + lambda (T(x) - x) for every finite
/// x; NaN and +-Inf are left untouched, bit for bit. lambda = 0 touches nothing. Same interface as
/// affine_hook (operator(), masked, last_rows, per_row, channel_spatial), so a set of maps can hold either.
///
///     act::quantile_hook hook(fit.map, 1.0);     // fit.map: act::quantile_map<float>
///     hook(act::view(buf, tokens, d));           // float* / double* / Eigen::half* / Eigen::bfloat16*
///
/// Layout, for speed: per neuron, its K source knots contiguous (a binary search touches one
/// cache-friendly run) and K + 1 segments {g, h} with T(x) - x = g (x - x_ref) + h, where x_ref is
/// the segment's left knot (the first knot below the knots), g = slope - 1 (0 on the slope-1
/// extensions) and h = y_ref - x_ref. Measuring from the segment's own knot keeps the result
/// accurate on steep segments, where slope * x - intercept would cancel. Each element costs a
/// binary search (ceil(log2 K) steps, conditional moves; row-major buffers run 8 neighbouring
/// searches side by side) and two multiply-adds. Lambda is applied at call
/// time (one multiply), so set_strength is O(1) and per_row shares the kernel.
/// `Scalar` is the arithmetic type of the coefficients (float by default; half and bfloat16 buffers
/// compute in float).
template <class Scalar = float>
class quantile_hook {
 public:
  quantile_hook() = default;

  /// Throws as quantile_map::validate for a malformed map, act::invalid_argument for a non-finite lambda.
  template <class MapScalar>
  quantile_hook(const quantile_map<MapScalar>& map, double lambda) {
    map.validate();
    dim_ = map.dim();
    k_ = map.knots();
    knots_.resize(static_cast<std::size_t>(dim_ * k_));
    segments_.resize(static_cast<std::size_t>(dim_ * (k_ + 1)));
    constexpr double most = static_cast<double>(std::numeric_limits<Scalar>::max());
    for (Eigen::Index c = 0; c < dim_; ++c) {
      const MapScalar* x = map.knots_source.col(c).data();
      const MapScalar* y = map.knots_target.col(c).data();
      Scalar* kx = knots_.data() + c * k_;
      segment* seg = segments_.data() + c * (k_ + 1);
      for (Eigen::Index k = 0; k < k_; ++k) kx[k] = static_cast<Scalar>(x[k]);
      seg[0] = {Scalar(0), static_cast<Scalar>(static_cast<double>(y[0]) - static_cast<double>(x[0]))};
      for (Eigen::Index s = 1; s < k_; ++s) {
        const double x0 = static_cast<double>(x[s - 1]), x1 = static_cast<double>(x[s]);
        const double y0 = static_cast<double>(y[s - 1]), y1 = static_cast<double>(y[s]);
        // A zero-width segment (repeated knot) is never selected by the search; its g is unused.
        const double g = x1 > x0 ? std::clamp((y1 - y0) / (x1 - x0) - 1.0, -most, most) : 0.0;
        seg[s] = {static_cast<Scalar>(g), static_cast<Scalar>(y0 - x0)};
      }
      seg[k_] = {Scalar(0), static_cast<Scalar>(static_cast<double>(y[k_ - 1]) - static_cast<double>(x[k_ - 1]))};
    }
    set_strength(lambda);
  }

  /// Number of neurons the hook expects per row.
  Eigen::Index dim() const { return dim_; }
  /// Knots per neuron.
  Eigen::Index knots() const { return k_; }
  double strength() const { return lambda_; }

  /// Changes lambda (O(1): lambda is applied per element).
  void set_strength(double lambda) {
    detail::check_strength("quantile_hook lambda", lambda);
    lambda_ = lambda;
  }

  /// Every row of `x`.
  template <class T>
  void operator()(activations<T> x) const {
    check_cols(x, "quantile_hook");
    if (lambda_ == 0.0) return;
    apply_rows(x, 0, x.rows);
  }

  /// Every row of `x`, split into contiguous row ranges over up to `threads` threads (0 = all cores).
  /// Bit-identical to the single-threaded call.
  template <class T>
  void operator()(activations<T> x, int threads) const {
    check_cols(x, "quantile_hook");
    if (lambda_ == 0.0) return;
    // A search per element makes this kernel several times slower than the affine one, so threads
    // pay off on smaller buffers.
    constexpr Eigen::Index min_elements_per_thread = Eigen::Index(1) << 14;
    detail::for_rows_threaded(x.rows, x.cols, threads, min_elements_per_thread,
                              [&](Eigen::Index begin, Eigen::Index end) { apply_rows(x, begin, end); });
  }

  /// Rows whose `mask` entry is non-zero; `mask` has one entry per row.
  template <class T>
  void masked(activations<T> x, const std::uint8_t* mask, std::size_t mask_size) const {
    check_cols(x, "quantile_hook::masked");
    detail::check_mask_size("quantile_hook::masked", mask_size, x.rows);
    if (lambda_ == 0.0) return;
    detail::for_selected_runs(
        x.rows, [mask](Eigen::Index r) { return mask[r] != 0; }, [&](Eigen::Index b, Eigen::Index e) { apply_rows(x, b, e); });
  }
  template <class T>
  void masked(activations<T> x, const std::vector<std::uint8_t>& mask) const {
    masked(x, mask.data(), mask.size());
  }

  /// The last row of each packed sequence: `lengths[k]` rows belong to sequence k, adding up to the rows.
  template <class T>
  void last_rows(activations<T> x, const Eigen::Index* lengths, std::size_t sequences) const {
    check_cols(x, "quantile_hook::last_rows");
    detail::check_sequence_lengths("quantile_hook::last_rows", lengths, sequences, x.rows);
    if (lambda_ == 0.0) return;
    Eigen::Index end = 0;
    for (std::size_t k = 0; k < sequences; ++k) {
      end += lengths[k];
      apply_rows(x, end - 1, end);
    }
  }
  template <class T>
  void last_rows(activations<T> x, const std::vector<Eigen::Index>& lengths) const {
    last_rows(x, lengths.data(), lengths.size());
  }

  /// One strength per row; the hook's own lambda is ignored. Rows with lambda = 0 are untouched.
  template <class T>
  void per_row(activations<T> x, const float* lambdas, std::size_t count) const {
    check_cols(x, "quantile_hook::per_row");
    detail::check_row_strengths("quantile_hook::per_row", lambdas, count, x.rows);
    using C = compute_t<T>;
    for (Eigen::Index r = 0; r < x.rows; ++r) {
      const C l = static_cast<C>(lambdas[r]);
      if (l == C(0)) continue;
      T* row = x.data + r * x.row_stride;
      for (Eigen::Index c = 0; c < dim_; ++c) apply_one(row[c * x.col_stride], c, l);
    }
  }
  template <class T>
  void per_row(activations<T> x, const std::vector<float>& lambdas) const {
    per_row(x, lambdas.data(), lambdas.size());
  }

  /// Channel-spatial mode for feature maps: `data` holds `images` blocks of [channels x positions]
  /// (channel-major). Per image and channel the spatial mean m is transported and T_lambda(m) - m is
  /// added to every position of that channel.
  template <class T>
  void channel_spatial(T* data, Eigen::Index images, Eigen::Index channels, Eigen::Index positions) const {
    if (channels != dim_)
      detail::raise<shape_error>("quantile_hook::channel_spatial: {} channels but the map has {} neurons", channels, dim_);
    if (images < 0 || positions <= 0)
      detail::raise<shape_error>("quantile_hook::channel_spatial: need images >= 0 and positions >= 1, got {} and {}", images,
                                 positions);
    if (lambda_ == 0.0) return;
    using C = compute_t<T>;
    const C l = static_cast<C>(lambda_);
    for (Eigen::Index i = 0; i < images; ++i)
      for (Eigen::Index c = 0; c < channels; ++c) {
        T* p = data + (i * channels + c) * positions;
        double sum = 0;
        for (Eigen::Index k = 0; k < positions; ++k) sum += static_cast<double>(static_cast<C>(p[k]));
        const C m = static_cast<C>(sum / static_cast<double>(positions));
        if (!std::isfinite(m)) continue;
        const C delta = l * displacement(c, m);
        for (Eigen::Index k = 0; k < positions; ++k) p[k] = static_cast<T>(static_cast<C>(p[k]) + delta);
      }
  }

 private:
  struct segment {
    Scalar g;  ///< slope - 1
    Scalar h;  ///< y_ref - x_ref
  };

  template <class T>
  using compute_t = typename detail::storage_traits<std::remove_const_t<T>>::compute;

  template <class T>
  void check_cols(const activations<T>& x, const char* who) const {
    if (x.cols != dim_) detail::raise<shape_error>("{}: buffer is [{} x {}] but the map has {} neurons", who, x.rows, x.cols, dim_);
  }

  /// T(v) - v for neuron c and finite v.
  template <class C>
  C displacement(Eigen::Index c, C v) const {
    const Scalar* x = knots_.data() + c * k_;
    // Binary search for s = number of knots <= v (0 .. K).
    // A conditional select per step (a conditional move, not a branch).
    Eigen::Index lo = 0;
    for (Eigen::Index n = k_; n > 1;) {
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
    const segment& seg = segments_[static_cast<std::size_t>(c * (k_ + 1) + s)];
    const C ref = static_cast<C>(knots_[static_cast<std::size_t>(c * k_ + (s > 0 ? s - 1 : 0))]);
    return static_cast<C>(seg.g) * (v - ref) + static_cast<C>(seg.h);
  }

  template <class T, class C>
  void apply_one(T& slot, Eigen::Index c, C l) const {
    const C v = static_cast<C>(slot);
    if (!std::isfinite(v)) return;
    slot = static_cast<T>(v + l * displacement(c, v));
  }

  /// Rows [begin, end) of `x`. Row-major buffers go in blocks of rows by chunks of columns, so one
  /// chunk's knots and segments stay in cache across the block's rows.
  template <class T>
  void apply_rows(const activations<T>& x, Eigen::Index begin, Eigen::Index end) const {
    using C = compute_t<T>;
    const C l = static_cast<C>(lambda_);
    if (x.col_stride != 1) {
      for (Eigen::Index c = 0; c < dim_; ++c)
        for (Eigen::Index r = begin; r < end; ++r) apply_one(x.data[r * x.row_stride + c * x.col_stride], c, l);
      return;
    }
    constexpr Eigen::Index row_block = 16;
    constexpr Eigen::Index col_block = 32;
    for (Eigen::Index r0 = begin; r0 < end; r0 += row_block) {
      const Eigen::Index r1 = std::min(end, r0 + row_block);
      for (Eigen::Index c0 = 0; c0 < dim_; c0 += col_block) {
        const Eigen::Index c1 = std::min(dim_, c0 + col_block);
        for (Eigen::Index r = r0; r < r1; ++r) apply_columns(x.data + r * x.row_stride, c0, c1, l);
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
        x[j] = knots_.data() + (c + j) * k_;
        lo[j] = 0;
      }
      for (Eigen::Index n = k_; n > 1;) {
        const Eigen::Index half = n / 2;
        for (int j = 0; j < lanes; ++j) lo[j] = static_cast<C>(x[j][lo[j] + half]) <= v[j] ? lo[j] + half : lo[j];
        n -= half;
      }
      for (int j = 0; j < lanes; ++j) {
        if (!std::isfinite(v[j])) continue;
        const Eigen::Index s = lo[j] + static_cast<Eigen::Index>(static_cast<C>(x[j][lo[j]]) <= v[j]);
        row[c + j] = static_cast<T>(v[j] + l * segment_displacement(c + j, s, v[j]));
      }
    }
    for (; c < c1; ++c) apply_one(row[c], c, l);
  }

  double lambda_ = 0.0;
  Eigen::Index dim_ = 0;
  Eigen::Index k_ = 0;
  std::vector<Scalar> knots_;      ///< [d x K], neuron-major
  std::vector<segment> segments_;  ///< [d x (K + 1)], neuron-major
};

/// `quantile_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
quantile_hook(const quantile_map<MapScalar>&, double) -> quantile_hook<MapScalar>;

}  // namespace act
