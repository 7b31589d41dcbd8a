#pragma once
/// \file quantile_hook.hpp
/// The quantile hook: the class (quantile_hook_decl.hpp, documented there) and its definitions, out of the class so
/// that they are not inline: linking act::act_compiled (detail/instantiations.hpp) then keeps their code out
/// of every translation unit.

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/quantile_rows.hpp>
#include <act/hooks/quantile_hook_decl.hpp>
#include <act/hooks/row_modes.hpp>

namespace act {

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

template <class Scalar>
void quantile_hook<Scalar>::set_strength(double lambda) {
  detail::check_strength("quantile_hook lambda", lambda);
  const Scalar l = static_cast<Scalar>(lambda);
  if (!std::isfinite(static_cast<double>(l)) || !std::isfinite(static_cast<double>(l * largest_shift_)))
    raise<non_finite_error>(
        "quantile_hook: strength {} is too large for this map: neuron {} would move a knot by {} x {}, which "
        "overflows",
        lambda, largest_shift_neuron_, lambda, static_cast<double>(largest_shift_));
  lambda_ = lambda;
}

template <class Scalar>
detail::quantile_kernel<Scalar> quantile_hook<Scalar>::kernel() const {
  return {dim_, k_, knots_.data() + 1, segments_.data(), lambda_, &search_};
}

template <class Scalar>
template <class C>
bool quantile_hook<Scalar>::spatial_displacement(Eigen::Index c, C m, C& delta) const {
  if (!std::isfinite(m)) return false;
  delta = static_cast<C>(lambda_) * kernel().displacement(c, m);
  return true;
}

}  // namespace act
