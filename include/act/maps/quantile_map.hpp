#pragma once
/// \file quantile_map.hpp
/// The non-parametric per-neuron transport map: monotone piecewise-linear through matched quantile knots.

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/maps/affine_map.hpp>

namespace act {

/// One monotone piecewise-linear map per neuron through K knots (x_k, y_k) = (knots_source(k, j),
/// knots_target(k, j)), both columns ascending: matched quantiles of source and target.
///
///   T(a) = y_{k} + (y_{k+1} - y_k) (a - x_k) / (x_{k+1} - x_k)   for x_k <= a < x_{k+1},
///   T(a) = a + (y_0 - x_0)                                        for a < x_0,
///   T(a) = a + (y_{K-1} - x_{K-1})                                for a >= x_{K-1}.
///
/// Outside the knots the map extends with slope 1 (a constant shift by the end knot's
/// displacement): continuous, monotone, and it does not extrapolate the steepest, least reliable
/// end segments (their slopes come from the two most extreme samples). At a repeated source knot
/// value the map takes the segment to its right; maps from quantile_act average the targets of
/// repeated source knots, so they are continuous there. The strength formula is the AcT one,
/// T_lambda(a) = (1 - lambda) a + lambda T(a). NaN and +-Inf pass unchanged (the slope-1
/// extension leaves infinities infinite anyway).
///
/// Storage is column-major [K x d], so each neuron's knots are contiguous.
template <class Scalar>
struct quantile_map {
  using scalar_type = Scalar;
  using matrix_type = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  matrix_type knots_source;  ///< [K x d], column j ascending: source quantiles of neuron j
  matrix_type knots_target;  ///< [K x d], column j ascending: target quantiles at the same levels

  /// Number of neurons.
  Eigen::Index dim() const { return knots_source.cols(); }
  /// Knots per neuron (K).
  Eigen::Index knots() const { return knots_source.rows(); }

  /// T(a) for `neuron` and finite a, evaluated in double.
  double value(Eigen::Index neuron, double a) const {
    const Scalar* x = knots_source.col(neuron).data();
    // s = number of knots <= a: the segment index, 0 (below) .. K (at or above the last knot).
    const Eigen::Index s =
        std::upper_bound(x, x + knots(), a, [](double v, Scalar knot) { return v < static_cast<double>(knot); }) - x;
    return value_in_segment(neuron, s, a);
  }

  /// T(a) for an `a` in segment s of the neuron's map, s = the number of its knots <= a (as value finds it).
  double value_in_segment(Eigen::Index neuron, Eigen::Index s, double a) const {
    const Scalar* x = knots_source.col(neuron).data();
    const Scalar* y = knots_target.col(neuron).data();
    const Eigen::Index k = knots();
    if (s == 0) return a + (static_cast<double>(y[0]) - static_cast<double>(x[0]));
    if (s == k) return a + (static_cast<double>(y[k - 1]) - static_cast<double>(x[k - 1]));
    const double x0 = static_cast<double>(x[s - 1]), x1 = static_cast<double>(x[s]);
    const double y0 = static_cast<double>(y[s - 1]), y1 = static_cast<double>(y[s]);
    return y0 + (y1 - y0) * ((a - x0) / (x1 - x0));
  }

  /// Reference evaluation of T_lambda = (1 - lambda) a + lambda T(a) for one neuron, computed in
  /// double (lambda = 1 gives T(a) exactly). Hooks do the same over whole buffers, faster.
  Scalar transport(Eigen::Index neuron, Scalar a, double lambda = 1.0) const {
    const double v = static_cast<double>(a);
    if (!std::isfinite(v)) return a;
    return static_cast<Scalar>(blend(v, value(neuron, v), lambda));
  }

  /// The same map in another scalar type.
  template <class Other>
  quantile_map<Other> cast() const {
    return {knots_source.template cast<Other>(), knots_target.template cast<Other>()};
  }

  /// Throws unless the map is well formed: K >= 1 knots and d >= 1 neurons, the same shape for
  /// source and target knots (act::shape_error), finite knots (act::non_finite_error) and each
  /// column ascending (act::invalid_argument); every message names the matrix, knot and neuron.
  void validate() const {
    if (knots_source.rows() == 0 || knots_source.cols() == 0)
      raise<invalid_argument>("quantile_map: knots_source is [{} x {}]; need K >= 1 knots and d >= 1 neurons",
                              knots_source.rows(), knots_source.cols());
    if (knots_target.rows() != knots_source.rows() || knots_target.cols() != knots_source.cols())
      raise<shape_error>("quantile_map: knots_source is [{} x {}] but knots_target is [{} x {}]", knots_source.rows(),
                         knots_source.cols(), knots_target.rows(), knots_target.cols());
    check_column_order("knots_source", knots_source);
    check_column_order("knots_target", knots_target);
  }

 private:
  static void check_column_order(const char* which, const matrix_type& m) {
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      for (Eigen::Index k = 0; k < m.rows(); ++k) {
        const double v = static_cast<double>(m(k, j));
        if (!std::isfinite(v))
          raise<non_finite_error>("quantile_map: {} has non-finite value {} at knot {}, neuron {}", which, v, k, j);
        if (k > 0 && !(m(k - 1, j) <= m(k, j)))
          raise<invalid_argument>("quantile_map: {} is not ascending at neuron {}: knot {} is {} but knot {} is {}",
                                  which, j, k - 1, static_cast<double>(m(k - 1, j)), k, v);
      }
  }
};

/// Per neuron, the least-squares line through a quantile map's knots (x_k, y_k): the affine summary map
/// files store beside the knots for readers that only know affine maps. Unbounded. A slope or intercept
/// beyond Scalar's range (knots nearly equal in x but far apart in y) is clamped to its largest finite value,
/// so that the summary of any valid map is finite and the file that holds it reads back.
template <class Scalar>
affine_map<Scalar> least_squares_line(const quantile_map<Scalar>& q) {
  using vector = Eigen::Array<double, Eigen::Dynamic, 1>;
  constexpr double most = static_cast<double>(std::numeric_limits<Scalar>::max());
  affine_map<Scalar> line = affine_map<Scalar>::identity(q.dim());
  for (Eigen::Index j = 0; j < q.dim(); ++j) {
    const vector x = q.knots_source.col(j).template cast<double>().array();
    const vector y = q.knots_target.col(j).template cast<double>().array();
    const double mx = x.mean(), my = y.mean();
    const double sxx = (x - mx).square().sum(), sxy = ((x - mx) * (y - my)).sum();
    const double slope = std::clamp(sxx > 0 ? sxy / sxx : 1.0, -most, most);  // one knot, or all equal: a shift
    line.omega[j] = static_cast<Scalar>(slope);
    line.beta[j] = static_cast<Scalar>(std::clamp(my - slope * mx, -most, most));
  }
  return line;
}

}  // namespace act
