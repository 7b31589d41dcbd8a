#pragma once
/// \file quantile_hook_decl.hpp
/// Declarations only (what <act/host.hpp> brings with act::act_compiled); programs include
/// <act/hooks/quantile_hook.hpp>.
/// Applies a quantile (non-parametric) map at strength lambda, in place, to activation buffers.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <act/detail/kernels/quantile_search.hpp>
#include <act/hooks/row_modes_decl.hpp>
#include <act/maps/quantile_map.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

namespace detail {
template <class Scalar>
struct quantile_kernel;
}  // namespace detail

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
  void set_strength(double lambda);

 private:
  friend class row_modes<quantile_hook>;

  /// The tables as the kernels read them.
  detail::quantile_kernel<Scalar> kernel() const;

  /// lambda (T(m) - m) for a finite mean m.
  template <class C>
  bool spatial_displacement(Eigen::Index c, C m, C& delta) const;

  double lambda_ = 0.0;
  Scalar largest_shift_ = 0;               ///< the largest |T(x_k) - x_k| over all knots
  Eigen::Index largest_shift_neuron_ = 0;  ///< whose knot it is
  Eigen::Index dim_ = 0;
  Eigen::Index k_ = 0;
  std::vector<Scalar> knots_;                               ///< a spare 0, then [d x K], neuron-major
  std::vector<detail::quantile_segment<Scalar>> segments_;  ///< [d x (K + 1)], neuron-major
  detail::quantile_search search_;                          ///< float hooks: the vector kernels' index
};

template <class MapScalar>
quantile_hook(const quantile_map<MapScalar>&, double) -> quantile_hook<MapScalar>;

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_QUANTILE_HOOK)
