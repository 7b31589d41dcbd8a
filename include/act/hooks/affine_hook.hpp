#pragma once
/// \file affine_hook.hpp
/// The affine hook: the class (affine_hook_decl.hpp, documented there) and its definitions, out of the class so
/// that they are not inline: linking act::act_compiled (detail/instantiations.hpp) then keeps their code out
/// of every translation unit.

#include <limits>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/affine_rows.hpp>
#include <act/detail/kernels/bounds.hpp>
#include <act/hooks/affine_hook_decl.hpp>
#include <act/hooks/row_modes.hpp>

namespace act {

template <class Scalar>
template <class MapScalar>
affine_hook<Scalar>::affine_hook(const affine_map<MapScalar>& map, double lambda) {
  map.validate();
  omega_minus_one_ = map.omega.template cast<Scalar>() - Scalar(1);
  beta_ = map.beta.template cast<Scalar>();
  // An unbounded map is the closed support [-Inf, Inf]; the inclusive bounds then span the finite values,
  // so +-Inf keep their bits (omega = 0 would turn them into NaN) and one kernel serves both cases.
  const Eigen::Index d = map.dim();
  lower_float_.resize(d);
  upper_float_.resize(d);
  lower_double_.resize(d);
  upper_double_.resize(d);
  constexpr MapScalar inf = std::numeric_limits<MapScalar>::infinity();
  const support_bounds rule = map.bounded() ? map.bounds : support_bounds::closed;
  for (Eigen::Index j = 0; j < d; ++j) {
    const MapScalar lo = map.bounded() ? map.lower[j] : -inf, hi = map.bounded() ? map.upper[j] : inf;
    lower_float_[j] = detail::inclusive_lower<float>(lo, rule);
    upper_float_[j] = detail::inclusive_upper<float>(hi, rule);
    lower_double_[j] = detail::inclusive_lower<double>(lo, rule);
    upper_double_[j] = detail::inclusive_upper<double>(hi, rule);
  }
  set_strength(lambda);
}

template <class Scalar>
void affine_hook<Scalar>::set_strength(double lambda) {
  detail::check_strength("affine_hook lambda", lambda);
  const Scalar l = static_cast<Scalar>(lambda);
  vector_type scale = strength_scale(omega_minus_one_, l);
  vector_type shift = strength_shift(beta_, l);
  detail::check_fused("affine_hook", lambda, scale, shift);
  lambda_ = lambda;
  scale_ = std::move(scale);
  shift_ = std::move(shift);
  if constexpr (std::is_same_v<Scalar, float>)
    detail::pack_affine(packed_.storage(), dim(), scale_.data(), shift_.data(), lower_float_.data(),
                        upper_float_.data(), omega_minus_one_.data(), beta_.data());
}

template <class Scalar>
detail::affine_kernel<Scalar> affine_hook<Scalar>::kernel() const {
  const float* packed = nullptr;
  if constexpr (std::is_same_v<Scalar, float>) packed = packed_.data();
  return {dim(),
          scale_.data(),
          shift_.data(),
          lower_float_.data(),
          upper_float_.data(),
          lower_double_.data(),
          upper_double_.data(),
          omega_minus_one_.data(),
          beta_.data(),
          packed};
}

template <class Scalar>
template <class C>
bool affine_hook<Scalar>::spatial_displacement(Eigen::Index c, C m, C& delta) const {
  const auto k = kernel();
  if (!(k.template lower_in<C>()[c] <= m && m <= k.template upper_in<C>()[c])) return false;
  delta = static_cast<C>(scale_[c] - Scalar(1)) * m + static_cast<C>(shift_[c]);
  return true;
}

}  // namespace act
