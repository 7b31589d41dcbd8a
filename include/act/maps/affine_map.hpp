#pragma once
/// \file affine_map.hpp
/// The per-neuron affine transport map T(a) = omega * a + beta, trusted on [lower, upper].

#include <cmath>
#include <limits>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>

namespace act {

/// Coefficients of T_lambda(a) = (1 - lambda) a + lambda T(a) = scale * a + shift, one per neuron.
template <class Scalar>
struct fused_coefficients {
  Eigen::Array<Scalar, Eigen::Dynamic, 1> scale;  ///< 1 + lambda (omega - 1)
  Eigen::Array<Scalar, Eigen::Dynamic, 1> shift;  ///< lambda beta
};

/// One affine map per neuron, with an optional transport support outside which activations pass unchanged.
///
///     act::affine_map<float> m = act::affine_map<float>::identity(4);
///     m.beta.setConstant(0.5f);             // a pure shift
///     float y = m.transport(0, 1.0f, 0.5);  // 1.25
///
/// `lower`/`upper` are empty for an unbounded support (the map applies to every finite value). A bounded
/// support is the open interval (lower, upper) by default, the reference's strict test, or the closed
/// [lower, upper] (`bounds`). NaN and +-Inf are never inside: they keep their bits under every map.
template <class Scalar>
struct affine_map {
  using scalar_type = Scalar;
  using vector_type = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

  vector_type omega;                             ///< slope per neuron
  vector_type beta;                              ///< intercept per neuron
  vector_type lower;                             ///< support lower bound per neuron, or empty (unbounded)
  vector_type upper;                             ///< support upper bound per neuron, or empty (unbounded)
  support_bounds bounds = support_bounds::open;  ///< whether a bounded support contains lower and upper

  /// The identity map (omega = 1, beta = 0) on d neurons, unbounded.
  static affine_map identity(Eigen::Index d) {
    affine_map m;
    m.omega = vector_type::Ones(d);
    m.beta = vector_type::Zero(d);
    return m;
  }

  /// Number of neurons.
  Eigen::Index dim() const { return omega.size(); }

  /// True when the map carries a support interval.
  bool bounded() const { return lower.size() != 0; }

  /// Coefficients of the map at strength lambda: scale = 1 + lambda (omega - 1), shift = lambda beta.
  /// Throws act::invalid_argument for a non-finite lambda and act::non_finite_error when a coefficient
  /// overflows (lambda too large for this map, in Scalar).
  fused_coefficients<Scalar> at_strength(double lambda) const {
    detail::check_strength("affine_map::at_strength lambda", lambda);
    const Scalar l = static_cast<Scalar>(lambda);
    fused_coefficients<Scalar> c{strength_scale<vector_type>(omega - Scalar(1), l),
                                 strength_shift<vector_type>(beta, l)};
    detail::check_fused("affine_map::at_strength", lambda, c.scale, c.shift);
    return c;
  }

  /// Whether activation `a` of `neuron` lies in the support.
  bool in_support(Eigen::Index neuron, Scalar a) const {
    if (!std::isfinite(a)) return false;
    if (!bounded()) return true;
    if (bounds == support_bounds::open) return lower[neuron] < a && a < upper[neuron];
    return lower[neuron] <= a && a <= upper[neuron];
  }

  /// Reference evaluation of T_lambda for one neuron (hooks do the same over whole buffers, faster).
  Scalar transport(Eigen::Index neuron, Scalar a, double lambda = 1.0) const {
    if (!in_support(neuron, a)) return a;
    return blend(a, omega[neuron] * a + beta[neuron], static_cast<Scalar>(lambda));
  }

  /// The same map in another scalar type.
  template <class Other>
  affine_map<Other> cast() const {
    return {omega.template cast<Other>(), beta.template cast<Other>(), lower.template cast<Other>(),
            upper.template cast<Other>(), bounds};
  }

  /// Throws act::invalid_argument unless the map is well formed: d >= 1, equal lengths, finite
  /// coefficients, support bounds both present or both absent, not NaN, lower <= upper.
  void validate() const {
    const auto d = omega.size();
    if (d == 0) raise<invalid_argument>("affine_map: omega is empty (d = 0)");
    if (beta.size() != d) raise<shape_error>("affine_map: omega has {} entries but beta has {}", d, beta.size());
    if (lower.size() != upper.size())
      raise<shape_error>("affine_map: lower has {} entries but upper has {}", lower.size(), upper.size());
    if (bounded() && lower.size() != d)
      raise<shape_error>("affine_map: support has {} entries but omega has {}", lower.size(), d);
    for (Eigen::Index j = 0; j < d; ++j) {
      if (!std::isfinite(static_cast<double>(omega[j])) || !std::isfinite(static_cast<double>(beta[j])))
        raise<non_finite_error>("affine_map: non-finite coefficient at neuron {} (omega {}, beta {})", j,
                                static_cast<double>(omega[j]), static_cast<double>(beta[j]));
      if (bounded() && !(lower[j] <= upper[j]))
        raise<invalid_argument>("affine_map: support at neuron {} is [{}, {}]; need lower <= upper", j,
                                static_cast<double>(lower[j]), static_cast<double>(upper[j]));
    }
  }
};

}  // namespace act
