#pragma once
/// \file quantile_hook.hpp
/// Applies a quantile (non-parametric) map at strength lambda, in place, to activation buffers.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/quantile_rows.hpp>
#include <act/hooks/row_modes.hpp>
#include <act/maps/quantile_map.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// A functor applying a quantile_map at strength lambda: x <- x + lambda (T(x) - x) for every finite
/// x; NaN and +-Inf are left untouched, bit for bit. lambda = 0 touches nothing. Same interface as
/// affine_hook (the row modes of act::row_modes), so a set of maps can hold either.
///
///     act::quantile_hook hook(fit.map, 1.0);     // fit.map: act::quantile_map<float>
///     hook(act::view(buf, tokens, d));           // float* / double* / Eigen::half* / Eigen::bfloat16*
///
/// The hook stores each neuron's knots and segments as detail/kernels/quantile_rows.hpp describes; each
/// element costs a search (for float maps on row-major buffers a uniform index and a step or two, vectorised)
/// and two multiply-adds. Lambda is applied at call time (one multiply), so
/// set_strength is O(1) and per_row shares the kernel.
/// `Scalar` is the arithmetic type of the coefficients (float by default; half and bfloat16 buffers
/// compute in float).
template <class Scalar = float>
class quantile_hook : public row_modes<quantile_hook<Scalar>> {
 public:
  static constexpr std::string_view name = "quantile_hook";
  /// A search per element makes this kernel several times slower than the affine one, so threads pay
  /// off on smaller buffers.
  static constexpr Eigen::Index min_elements_per_thread = Eigen::Index(1) << 14;

  quantile_hook() = default;

  /// Throws as quantile_map::validate for a malformed map, act::invalid_argument for a non-finite lambda,
  /// act::non_finite_error for a lambda the map cannot take (see set_strength).
  template <class MapScalar>
  quantile_hook(const quantile_map<MapScalar>& map, double lambda);

  /// Number of neurons the hook expects per row.
  Eigen::Index dim() const { return dim_; }
  /// Knots per neuron.
  Eigen::Index knots() const { return k_; }
  double strength() const { return lambda_; }

  /// Changes lambda (O(1): lambda is applied per element). A lambda at which the largest displacement
  /// lambda (T(a) - a) of a knot overflows would turn finite activations non-finite: it throws
  /// act::non_finite_error naming lambda and the neuron, and the hook keeps its strength.
  void set_strength(double lambda) {
    detail::check_strength("quantile_hook lambda", lambda);
    const Scalar l = static_cast<Scalar>(lambda);
    if (!std::isfinite(static_cast<double>(l)) || !std::isfinite(static_cast<double>(l * largest_shift_)))
      raise<non_finite_error>(
          "quantile_hook: strength {} is too large for this map: neuron {} would move a knot by {} x {}, which "
          "overflows",
          lambda, largest_shift_neuron_, lambda, static_cast<double>(largest_shift_));
    lambda_ = lambda;
  }

 private:
  friend class row_modes<quantile_hook>;

  detail::quantile_kernel<Scalar> kernel() const {
    return {dim_, k_, knots_.data() + 1, segments_.data(), lambda_, &search_};
  }

  /// lambda (T(m) - m) for a finite mean m.
  template <class C>
  bool spatial_displacement(Eigen::Index c, C m, C& delta) const {
    if (!std::isfinite(m)) return false;
    delta = static_cast<C>(lambda_) * kernel().displacement(c, m);
    return true;
  }

  double lambda_ = 0.0;
  Scalar largest_shift_ = 0;               ///< the largest |T(x_k) - x_k| over all knots
  Eigen::Index largest_shift_neuron_ = 0;  ///< whose knot it is
  Eigen::Index dim_ = 0;
  Eigen::Index k_ = 0;
  std::vector<Scalar> knots_;                               ///< a spare 0, then [d x K], neuron-major
  std::vector<detail::quantile_segment<Scalar>> segments_;  ///< [d x (K + 1)], neuron-major
  detail::quantile_search search_;                          ///< float hooks: the vector kernels' index
};

// Out of the class, so that it is not inline (see detail/instantiations.hpp).
template <class Scalar>
template <class MapScalar>
quantile_hook<Scalar>::quantile_hook(const quantile_map<MapScalar>& map, double lambda) {
  map.validate();
  dim_ = map.dim();
  k_ = map.knots();
  knots_.assign(static_cast<std::size_t>(dim_ * k_ + 1), Scalar(0));  // the spare makes knots[-1] readable
  segments_.resize(static_cast<std::size_t>(dim_ * (k_ + 1)));
  constexpr double most = static_cast<double>(std::numeric_limits<Scalar>::max());
  for (Eigen::Index c = 0; c < dim_; ++c) {
    const MapScalar* x = map.knots_source.col(c).data();
    const MapScalar* y = map.knots_target.col(c).data();
    Scalar* kx = knots_.data() + 1 + c * k_;
    detail::quantile_segment<Scalar>* seg = segments_.data() + c * (k_ + 1);
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
    // The displacement T(a) - a is linear between knots and constant beyond them: largest at a knot.
    for (Eigen::Index s = 0; s <= k_; ++s)
      if (!(std::abs(seg[s].h) <= largest_shift_)) {
        largest_shift_ = std::abs(seg[s].h);
        largest_shift_neuron_ = c;
      }
  }
  if constexpr (std::is_same_v<Scalar, float>) search_.build(dim_, k_, knots_.data() + 1);
  if (!std::isfinite(static_cast<double>(largest_shift_)))
    raise<non_finite_error>(
        "quantile_hook: neuron {} moves a knot farther than the largest number the map's type holds "
        "(T(a) - a overflows at every strength)",
        largest_shift_neuron_);
  set_strength(lambda);
}

/// `quantile_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
quantile_hook(const quantile_map<MapScalar>&, double) -> quantile_hook<MapScalar>;

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_QUANTILE_HOOK)
