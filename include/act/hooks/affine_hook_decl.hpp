#pragma once
/// \file affine_hook_decl.hpp
/// Declarations only (what <act/host.hpp> brings with act::act_compiled); programs include <act/hooks/affine_hook.hpp>.
/// Applies an affine map at strength lambda, in place, to activation buffers inside a forward pass.

#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/detail/kernels/affine_coefficients.hpp>
#include <act/hooks/row_modes_decl.hpp>
#include <act/maps/affine_map.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

namespace detail {
template <class Scalar>
struct affine_kernel;
}  // namespace detail

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

  /// The coefficients as the kernels read them.
  detail::affine_kernel<Scalar> kernel() const;

  /// T_lambda(m) - m = (scale - 1) m + shift, when m lies in the support.
  template <class C>
  bool spatial_displacement(Eigen::Index c, C m, C& delta) const;

  double lambda_ = 0.0;
  vector_type omega_minus_one_, beta_;
  Eigen::ArrayXf lower_float_, upper_float_;    ///< inclusive bounds for values computed in float
  Eigen::ArrayXd lower_double_, upper_double_;  ///< and in double
  vector_type scale_, shift_;
  detail::packed_coefficients packed_;  ///< float hooks only: see detail::pack_affine
};

/// `affine_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
affine_hook(const affine_map<MapScalar>&, double) -> affine_hook<MapScalar>;

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_AFFINE_HOOK)
