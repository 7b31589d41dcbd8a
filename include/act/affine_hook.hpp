#pragma once
/// \file affine_hook.hpp
/// Applies an affine map at strength lambda, in place, to activation buffers inside a forward pass.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "activations.hpp"
#include "affine_map.hpp"
#include "detail/check.hpp"
#include "detail/storage.hpp"
#include "error.hpp"

namespace act {

/// A functor holding an affine map's coefficients fused at a strength lambda:
/// x <- (1 - lambda) x + lambda (omega x + beta) for every x inside the support; everything else
/// (including NaN) is left untouched, bit for bit. lambda = 0 touches nothing.
///
///     act::affine_hook hook(map, 0.5f);              // map: act::affine_map<float>
///     hook(act::view(buf, tokens, d));               // raw float* / Eigen::half* / Eigen::bfloat16*
///     hook(act::view(eigen_matrix));                 // any Eigen matrix with direct access
///
/// `Scalar` is the arithmetic type (float for float/half/bfloat16 buffers; double for double maps).
/// Construction copies the coefficients, so the hook outlives the map and is cheap to call.
template <class Scalar = float>
class affine_hook {
 public:
  using vector_type = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

  affine_hook() = default;

  /// Throws act::invalid_argument for a malformed map or a non-finite lambda.
  template <class MapScalar>
  affine_hook(const affine_map<MapScalar>& map, double lambda) {
    map.validate();
    omega_minus_one_ = map.omega.template cast<Scalar>() - Scalar(1);
    beta_ = map.beta.template cast<Scalar>();
    if (map.bounded()) {
      lower_ = map.lower.template cast<Scalar>();
      upper_ = map.upper.template cast<Scalar>();
    } else {
      // Infinite bounds keep one kernel for both cases; NaN still fails both comparisons.
      lower_ = vector_type::Constant(map.dim(), -std::numeric_limits<Scalar>::infinity());
      upper_ = vector_type::Constant(map.dim(), std::numeric_limits<Scalar>::infinity());
    }
    set_strength(lambda);
  }

  /// Number of neurons the hook expects per row.
  Eigen::Index dim() const { return beta_.size(); }
  double strength() const { return lambda_; }

  /// Changes lambda (re-fuses the coefficients: O(d)).
  void set_strength(double lambda) {
    detail::check_strength("affine_hook lambda", lambda);
    lambda_ = lambda;
    const Scalar l = static_cast<Scalar>(lambda);
    scale_ = Scalar(1) + l * omega_minus_one_;
    shift_ = l * beta_;
  }

  /// Every row of `x`.
  template <class T>
  void operator()(activations<T> x) const {
    check_cols(x, "affine_hook");
    if (lambda_ == 0.0) return;
    for_rows(x, [](Eigen::Index) { return true; });
  }

  /// Rows whose `mask` entry is non-zero; `mask` has one entry per row.
  template <class T>
  void masked(activations<T> x, const std::uint8_t* mask, std::size_t mask_size) const {
    check_cols(x, "affine_hook::masked");
    if (mask_size != static_cast<std::size_t>(x.rows))
      detail::raise<shape_error>("affine_hook::masked: mask has {} entries but the buffer has {} rows", mask_size, x.rows);
    if (lambda_ == 0.0) return;
    for_rows(x, [mask](Eigen::Index r) { return mask[r] != 0; });
  }
  template <class T>
  void masked(activations<T> x, const std::vector<std::uint8_t>& mask) const {
    masked(x, mask.data(), mask.size());
  }

  /// The last row of each sequence, for buffers packing sequences one after another:
  /// `lengths[k]` rows belong to sequence k, and the lengths add up to the buffer's rows.
  template <class T>
  void last_rows(activations<T> x, const Eigen::Index* lengths, std::size_t sequences) const {
    check_cols(x, "affine_hook::last_rows");
    Eigen::Index total = 0;
    for (std::size_t k = 0; k < sequences; ++k) {
      if (lengths[k] <= 0) detail::raise<invalid_argument>("affine_hook::last_rows: lengths[{}] = {}; need >= 1", k, lengths[k]);
      total += lengths[k];
    }
    if (total != x.rows)
      detail::raise<shape_error>("affine_hook::last_rows: {} lengths add up to {} rows but the buffer has {} rows",
                                 sequences, total, x.rows);
    if (lambda_ == 0.0) return;
    Eigen::Index end = 0;
    for (std::size_t k = 0; k < sequences; ++k) {
      end += lengths[k];
      apply_row_range(x, end - 1, end);
    }
  }
  template <class T>
  void last_rows(activations<T> x, const std::vector<Eigen::Index>& lengths) const {
    last_rows(x, lengths.data(), lengths.size());
  }

  /// One strength per row (a serving batch whose requests ask different strengths); the hook's own
  /// lambda is ignored. Rows with lambda = 0 are untouched.
  template <class T>
  void per_row(activations<T> x, const float* lambdas, std::size_t count) const {
    check_cols(x, "affine_hook::per_row");
    if (count != static_cast<std::size_t>(x.rows))
      detail::raise<shape_error>("affine_hook::per_row: {} strengths for a buffer of {} rows", count, x.rows);
    for (std::size_t r = 0; r < count; ++r)
      if (!std::isfinite(lambdas[r]))
        detail::raise<invalid_argument>("affine_hook::per_row: lambdas[{}] = {}; strengths must be finite", r, lambdas[r]);
    using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
    const Eigen::Index d = dim();
    for (Eigen::Index r = 0; r < x.rows; ++r) {
      const C l = static_cast<C>(lambdas[r]);
      if (l == C(0)) continue;
      T* row = x.data + r * x.row_stride;
      for (Eigen::Index c = 0; c < d; ++c) {
        T& slot = row[c * x.col_stride];
        const C v = static_cast<C>(slot);
        const C delta = static_cast<C>(omega_minus_one_[c]) * v + static_cast<C>(beta_[c]);
        const bool inside = static_cast<C>(lower_[c]) <= v && v <= static_cast<C>(upper_[c]);
        if (inside) slot = static_cast<T>(v + l * delta);
      }
    }
  }
  template <class T>
  void per_row(activations<T> x, const std::vector<float>& lambdas) const {
    per_row(x, lambdas.data(), lambdas.size());
  }

  /// Channel-spatial mode for feature maps: `data` holds `images` blocks of [channels x positions]
  /// (channel-major, e.g. C x H*W). Per image and channel, the spatial mean m is transported; when m
  /// lies in the support, T_lambda(m) - m is added to every position of that channel.
  template <class T>
  void channel_spatial(T* data, Eigen::Index images, Eigen::Index channels, Eigen::Index positions) const {
    if (channels != dim())
      detail::raise<shape_error>("affine_hook::channel_spatial: {} channels but the map has {} neurons", channels, dim());
    if (images < 0 || positions <= 0)
      detail::raise<shape_error>("affine_hook::channel_spatial: need images >= 0 and positions >= 1, got {} and {}", images,
                                 positions);
    if (lambda_ == 0.0) return;
    using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
    for (Eigen::Index i = 0; i < images; ++i)
      for (Eigen::Index c = 0; c < channels; ++c) {
        T* p = data + (i * channels + c) * positions;
        double sum = 0;
        for (Eigen::Index k = 0; k < positions; ++k) sum += static_cast<double>(static_cast<C>(p[k]));
        const C m = static_cast<C>(sum / static_cast<double>(positions));
        if (!(static_cast<C>(lower_[c]) <= m && m <= static_cast<C>(upper_[c]))) continue;
        const C delta = static_cast<C>(scale_[c] - Scalar(1)) * m + static_cast<C>(shift_[c]);
        for (Eigen::Index k = 0; k < positions; ++k) p[k] = static_cast<T>(static_cast<C>(p[k]) + delta);
      }
  }

 private:
  template <class T>
  void check_cols(const activations<T>& x, const char* who) const {
    if (x.cols != dim())
      detail::raise<shape_error>("{}: buffer is [{} x {}] but the map has {} neurons", who, x.rows, x.cols, dim());
  }

  /// Applies rows [begin, end) of `x`, all of which are selected.
  template <class T>
  void apply_row_range(const activations<T>& x, Eigen::Index begin, Eigen::Index end) const {
    if (x.col_stride == 1)
      apply_contiguous(x.data, begin, end, x.row_stride);
    else
      apply_strided(x, begin, end);
  }

  /// Applies the rows for which selected(r) holds, grouping consecutive selected rows.
  template <class T, class Selected>
  void for_rows(const activations<T>& x, Selected selected) const {
    Eigen::Index r = 0;
    while (r < x.rows) {
      while (r < x.rows && !selected(r)) ++r;
      const Eigen::Index begin = r;
      while (r < x.rows && selected(r)) ++r;
      if (begin < r) apply_row_range(x, begin, r);
    }
  }

  /// Row-major kernel. Rows go in small blocks and columns in chunks so that each chunk of the
  /// four coefficient arrays is loaded into L1 once per block of rows, not once per row.
  template <class T>
  void apply_contiguous(T* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride) const {
    using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
    constexpr Eigen::Index row_block = 8;
    constexpr Eigen::Index col_block = 1024;
    const Eigen::Index d = dim();
    const Scalar* scale = scale_.data();
    const Scalar* shift = shift_.data();
    const Scalar* lo = lower_.data();
    const Scalar* hi = upper_.data();
    for (Eigen::Index r0 = begin; r0 < end; r0 += row_block) {
      const Eigen::Index r1 = std::min(end, r0 + row_block);
      for (Eigen::Index c0 = 0; c0 < d; c0 += col_block) {
        const Eigen::Index c1 = std::min(d, c0 + col_block);
        for (Eigen::Index r = r0; r < r1; ++r) {
          T* row = data + r * row_stride;
          for (Eigen::Index c = c0; c < c1; ++c) {
            const T raw = row[c];
            const C v = static_cast<C>(raw);
            const C y = v * static_cast<C>(scale[c]) + static_cast<C>(shift[c]);
            const bool inside = static_cast<C>(lo[c]) <= v && v <= static_cast<C>(hi[c]);
            row[c] = inside ? static_cast<T>(y) : raw;
          }
        }
      }
    }
  }

  template <class T>
  void apply_strided(const activations<T>& x, Eigen::Index begin, Eigen::Index end) const {
    using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
    for (Eigen::Index c = 0; c < dim(); ++c) {
      const C s = static_cast<C>(scale_[c]), b = static_cast<C>(shift_[c]);
      const C lo = static_cast<C>(lower_[c]), hi = static_cast<C>(upper_[c]);
      for (Eigen::Index r = begin; r < end; ++r) {
        T& slot = x.data[r * x.row_stride + c * x.col_stride];
        const C v = static_cast<C>(slot);
        if (lo <= v && v <= hi) slot = static_cast<T>(v * s + b);
      }
    }
  }

  double lambda_ = 0.0;
  vector_type omega_minus_one_, beta_, lower_, upper_;
  vector_type scale_, shift_;
};

/// `affine_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
affine_hook(const affine_map<MapScalar>&, double) -> affine_hook<MapScalar>;

}  // namespace act
