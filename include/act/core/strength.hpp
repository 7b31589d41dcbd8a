#pragma once
/// \file strength.hpp
/// The strength rule of every act map, in the forms the code evaluates it:
///
///   T_lambda(a) = (1 - lambda) a + lambda T(a) = a + lambda (T(a) - a).
///
/// lambda = 0 is the identity, 1 full transport, > 1 extrapolates. For an affine T(a) = omega a + beta
/// the result at a fixed lambda is affine again, with scale 1 + lambda (omega - 1) and shift lambda beta
/// (this is what hooks precompute, what folds into a linear layer and what a control vector holds).
/// Every map, hook, kernel and tool evaluates the rule through these functions; they are templates, so
/// they also work on the kernels' vector types.

#include <cmath>
#include <cstddef>
#include <string_view>

#include <act/core/error.hpp>

namespace act {

/// What a method's strength lambda means.
enum class strength_meaning {
  /// T_lambda(a) = (1 - lambda) a + lambda T(a): 0 is the identity, 1 full transport (the AcT maps, AurA,
  /// Det0).
  interpolation,
  /// omega = 1, so T_lambda(a) = a + lambda beta, and lambda is read as the method's own unbounded
  /// multiplier of the added vector (ActAdd, CAA, PCA, ITI-c).
  multiplier,
};

/// (1 - lambda) a + lambda t for t = T(a): the paper's form, exact at lambda = 0 and lambda = 1.
template <class V, class S>
V blend(const V& a, const V& t, S lambda) {
  return V((S(1) - lambda) * a + lambda * t);
}

/// a + lambda d for the displacement d = T(a) - a: one multiply-add per element.
template <class V, class S>
V displace(const V& a, const V& d, S lambda) {
  return V(a + lambda * d);
}

/// Scale of an affine map at strength lambda, from omega - 1: 1 + lambda (omega - 1).
template <class V, class S>
V strength_scale(const V& omega_minus_one, S lambda) {
  return V(S(1) + lambda * omega_minus_one);
}

/// Shift of an affine map at strength lambda: lambda beta.
template <class V, class S>
V strength_shift(const V& beta, S lambda) {
  return V(lambda * beta);
}

/// An affine map at a fixed strength, applied: a scale + shift.
template <class V, class C>
V scale_shift(const V& a, const C& scale, const C& shift) {
  return V(a * scale + shift);
}

namespace detail {

/// A strength must be a finite number; `who` names the caller in the message.
inline void check_strength(std::string_view who, double lambda) {
  if (!std::isfinite(lambda)) raise<invalid_argument>("{}: strength must be finite, got {}", who, lambda);
}

/// Refuses the coefficients of an affine map fused at strength lambda (scale = 1 + lambda (omega - 1),
/// shift = lambda beta, any arrays with size() and []) when one is Inf or NaN: they would turn finite
/// activations non-finite. Throws non_finite_error naming `who`, lambda and the first such neuron.
template <class Array>
void check_fused(std::string_view who, double lambda, const Array& scale, const Array& shift) {
  for (decltype(scale.size()) j = 0; j < scale.size(); ++j) {
    const double a = static_cast<double>(scale[j]), b = static_cast<double>(shift[j]);
    if (!std::isfinite(a) || !std::isfinite(b))
      raise<non_finite_error>(
          "{}: strength {} is too large for this map: neuron {} gets the non-finite coefficients scale {}, "
          "shift {}",
          who, lambda, j, a, b);
  }
}

}  // namespace detail

/// Refuses the result of a map applied at strength lambda when it turned a finite input value into Inf or
/// NaN (finite coefficients can still overflow on large activations): `before(r, j)` and `after(r, j)` give
/// the [rows x cols] input and output. Throws non_finite_error naming `who`, lambda, the first such row and
/// neuron, and both values.
template <class Before, class After>
void check_applied(std::string_view who, double lambda, std::ptrdiff_t rows, std::ptrdiff_t cols, const Before& before,
                   const After& after) {
  for (std::ptrdiff_t r = 0; r < rows; ++r)
    for (std::ptrdiff_t j = 0; j < cols; ++j) {
      const double a = static_cast<double>(before(r, j)), b = static_cast<double>(after(r, j));
      if (std::isfinite(a) && !std::isfinite(b))
        raise<non_finite_error>("{} at strength {} turns the finite value {} (row {}, neuron {}) into {}", who, lambda,
                                a, r, j, b);
    }
}

}  // namespace act
