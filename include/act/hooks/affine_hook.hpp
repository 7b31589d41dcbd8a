#pragma once
/// \file affine_hook.hpp
/// Applies an affine map at strength lambda, in place, to activation buffers inside a forward pass.

#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/affine_rows.hpp>
#include <act/detail/kernels/bounds.hpp>
#include <act/hooks/row_modes.hpp>
#include <act/maps/affine_map.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// A functor holding an affine map's coefficients fused at a strength lambda:
/// x <- (1 - lambda) x + lambda (omega x + beta) for every x inside the support (open or closed, as the
/// map says); everything else (NaN and +-Inf included) is left untouched, bit for bit. lambda = 0 touches
/// nothing. The support test is exact in the type the values are computed in (float for float, half and
/// bfloat16 buffers, double for double ones) at the speed of one closed comparison (detail/kernels/bounds.hpp).
///
///     act::affine_hook hook(map, 0.5f);              // map: act::affine_map<float>
///     hook(act::view(buf, tokens, d));               // raw float* / Eigen::half* / Eigen::bfloat16*
///     hook(act::view(eigen_matrix));                 // any Eigen matrix with direct access
///
/// The row modes (masked, last_rows, per_row, threads, channel_spatial) are those of act::row_modes.
/// `Scalar` is the arithmetic type (float for float/half/bfloat16 buffers; double for double maps).
/// Construction copies the coefficients, so the hook outlives the map and is cheap to call.
template <class Scalar = float>
class affine_hook : public row_modes<affine_hook<Scalar>> {
 public:
  using vector_type = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  static constexpr std::string_view name = "affine_hook";
  /// Small buffers are not worth a thread start (tens of microseconds).
  static constexpr Eigen::Index min_elements_per_thread = Eigen::Index(1) << 16;

  affine_hook() = default;

  /// Throws act::invalid_argument for a malformed map or a non-finite lambda, act::non_finite_error when
  /// the coefficients at lambda overflow (see set_strength).
  template <class MapScalar>
  affine_hook(const affine_map<MapScalar>& map, double lambda);

  /// Number of neurons the hook expects per row.
  Eigen::Index dim() const { return beta_.size(); }
  double strength() const { return lambda_; }

  /// Changes lambda (re-fuses the coefficients: O(d)). A lambda at which a coefficient (scale or shift)
  /// overflows to Inf or NaN would turn finite activations non-finite: it throws act::non_finite_error
  /// naming lambda and the neuron, and the hook keeps its strength.
  void set_strength(double lambda);

 private:
  friend class row_modes<affine_hook>;

  detail::affine_kernel<Scalar> kernel() const {
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

  /// T_lambda(m) - m = (scale - 1) m + shift, when m lies in the support.
  template <class C>
  bool spatial_displacement(Eigen::Index c, C m, C& delta) const {
    const auto k = kernel();
    if (!(k.template lower_in<C>()[c] <= m && m <= k.template upper_in<C>()[c])) return false;
    delta = static_cast<C>(scale_[c] - Scalar(1)) * m + static_cast<C>(shift_[c]);
    return true;
  }

  double lambda_ = 0.0;
  vector_type omega_minus_one_, beta_;
  Eigen::ArrayXf lower_float_, upper_float_;    ///< inclusive bounds for values computed in float
  Eigen::ArrayXd lower_double_, upper_double_;  ///< and in double
  vector_type scale_, shift_;
  detail::packed_coefficients packed_;  ///< float hooks only: see detail::pack_affine
};

// Out of the class, so that these are not inline (see detail/instantiations.hpp).

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

/// `affine_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
affine_hook(const affine_map<MapScalar>&, double) -> affine_hook<MapScalar>;

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_AFFINE_HOOK)
