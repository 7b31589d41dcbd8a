#pragma once
/// \file affine_hook.hpp
/// Applies an affine map at strength lambda, in place, to activation buffers inside a forward pass.

#include <limits>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/affine_rows.hpp>
#include <act/hooks/row_modes.hpp>
#include <act/maps/affine_map.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// A functor holding an affine map's coefficients fused at a strength lambda:
/// x <- (1 - lambda) x + lambda (omega x + beta) for every x inside the support; everything else
/// (including NaN) is left untouched, bit for bit. lambda = 0 touches nothing.
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

  /// Throws act::invalid_argument for a malformed map or a non-finite lambda.
  template <class MapScalar>
  affine_hook(const affine_map<MapScalar>& map, double lambda);

  /// Number of neurons the hook expects per row.
  Eigen::Index dim() const { return beta_.size(); }
  double strength() const { return lambda_; }

  /// Changes lambda (re-fuses the coefficients: O(d)).
  void set_strength(double lambda);

 private:
  friend class row_modes<affine_hook>;

  detail::affine_kernel<Scalar> kernel() const {
    const float* packed = nullptr;
    if constexpr (std::is_same_v<Scalar, float>) packed = packed_.data();
    return {dim(), scale_.data(), shift_.data(), lower_.data(), upper_.data(), omega_minus_one_.data(), beta_.data(), packed};
  }

  /// T_lambda(m) - m = (scale - 1) m + shift, when m lies in the support.
  template <class C>
  bool spatial_displacement(Eigen::Index c, C m, C& delta) const {
    if (!(static_cast<C>(lower_[c]) <= m && m <= static_cast<C>(upper_[c]))) return false;
    delta = static_cast<C>(scale_[c] - Scalar(1)) * m + static_cast<C>(shift_[c]);
    return true;
  }

  double lambda_ = 0.0;
  vector_type omega_minus_one_, beta_, lower_, upper_;
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

template <class Scalar>
void affine_hook<Scalar>::set_strength(double lambda) {
  detail::check_strength("affine_hook lambda", lambda);
  lambda_ = lambda;
  const Scalar l = static_cast<Scalar>(lambda);
  scale_ = strength_scale(omega_minus_one_, l);
  shift_ = strength_shift(beta_, l);
  if constexpr (std::is_same_v<Scalar, float>)
    detail::pack_affine(packed_.storage(), dim(), scale_.data(), shift_.data(), lower_.data(), upper_.data(),
                        omega_minus_one_.data(), beta_.data());
}

/// `affine_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
affine_hook(const affine_map<MapScalar>&, double) -> affine_hook<MapScalar>;

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_AFFINE_HOOK)
