#pragma once
/// \file itic.hpp
/// ITI-c: add a multiple of a logistic-regression probe's direction separating source from target.

#include <cmath>
#include <string_view>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/core/error.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of ITI-c.
struct itic_options {
  /// L2 penalty: the probe minimises mean log-loss + (l2 / 2) |w|^2 (the intercept is not
  /// penalised). Must be > 0: on separable data the unpenalised optimum is at infinity.
  double l2 = 1e-2;
  /// Fit the probe on features scaled to unit variance (pooled over source and target), so the
  /// penalty treats neurons alike; the direction is mapped back to activation units either way.
  bool standardize = true;
  /// Newton iterations at most, and the stopping test on max |gradient|.
  int max_iterations = 100;
  double tolerance = 1e-10;
  /// Where the vector is added; unbounded, as ITI adds it everywhere.
  act::support support = support::unbounded();
  /// Threads over neurons for the diagnostics (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// A fitted linear probe in activation units: x . normal + offset > 0 classifies x as target.
struct itic_probe {
  Eigen::VectorXd normal;  ///< probe weights (not normalised)
  double offset = 0.0;
  int iterations = 0;  ///< Newton iterations used
};

namespace detail {

/// Numerically stable log(1 + e^z).
inline double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

/// L2-regularised logistic regression on rows of `x` (a trailing column of ones carries the
/// intercept, which is not penalised) with labels y in {0, 1}. Newton's method with a backtracking
/// (Armijo) line search from theta = 0: deterministic, and quadratically convergent on this strictly
/// convex objective. Each step costs O(n d^2 + d^3). Returns theta = (w, b) and the iterations used.
template <class Matrix, class Vector>
auto fit_logistic(const Matrix& x1, const Vector& y, double l2, int max_iterations, double tolerance, int& iterations) {
  using vector = Eigen::Matrix<typename Matrix::Scalar, Eigen::Dynamic, 1>;
  using array = Eigen::Array<typename Matrix::Scalar, Eigen::Dynamic, 1>;
  using matrix = Eigen::Matrix<typename Matrix::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index n = x1.rows(), p = x1.cols();
  const double inv_n = 1.0 / static_cast<double>(n);
  vector penalty = vector::Constant(p, l2);
  penalty[p - 1] = 0.0;
  const auto objective = [&](const vector& theta) {
    const vector z = x1 * theta;
    double loss = 0;
    for (Eigen::Index i = 0; i < n; ++i) loss += softplus(z[i]) - y[i] * z[i];
    return loss * inv_n + 0.5 * theta.cwiseProduct(penalty).dot(theta);
  };
  vector theta = vector::Zero(p);
  double f = objective(theta);
  iterations = 0;
  for (; iterations < max_iterations; ++iterations) {
    const array z = (x1 * theta).array();
    const array prob = 1.0 / (1.0 + (-z).exp());
    const vector grad = x1.transpose() * (prob - y.array()).matrix() * inv_n + penalty.cwiseProduct(theta);
    if (grad.template lpNorm<Eigen::Infinity>() < tolerance) break;
    const array weight = prob * (1.0 - prob) * inv_n;
    matrix hessian = x1.transpose() * weight.matrix().asDiagonal() * x1;
    // The ridge only damps the step where the curvature vanishes (saturated probabilities, the
    // unpenalised intercept); the gradient, hence the optimum, is unchanged.
    hessian.diagonal() += penalty + vector::Constant(p, 1e-12);
    const vector step = -hessian.ldlt().solve(grad);
    const double slope = grad.dot(step);
    double t = 1.0, f_new = objective(theta + step);
    for (int halving = 0; halving < 60 && !(f_new <= f + 1e-4 * t * slope); ++halving) {
      t *= 0.5;
      f_new = objective(theta + t * step);
    }
    if (!(f_new < f)) break;  // no decrease left at double precision
    theta += t * step;
    f = f_new;
  }
  return theta;
}

}  // namespace detail

/// ITI-c (paper Table 1): a logistic-regression probe is trained to tell source (label 0) from target
/// (label 1) on all samples (see itic_options for the penalty and solver); u = its unit normal, which
/// points towards the target; s = the sample standard deviation (divisor n - 1) of all source and
/// target activations projected on u; beta = s u, omega = 1. A probe with zero normal (e.g. identical
/// samples) gives beta = 0.
///
/// lambda multiplies beta (a + lambda beta), unbounded: ITI's alpha (the paper's best ITI-c used ~5-8).
/// Throws act::invalid_argument for l2 <= 0, max_iterations < 1 or a negative tolerance, else as linear_act::fit.
class itic {
 public:
  static constexpr std::string_view name = "itic";
  static constexpr std::string_view title = "ITI-c";
  static constexpr bool additive = true;
  static constexpr bool per_neuron = false;  ///< the direction needs whole rows (all neurons of a sample)
  static constexpr strength_meaning strength = strength_meaning::multiplier;
  using options_type = itic_options;

  itic_options options;

  itic() = default;
  explicit itic(itic_options opts) : options(opts) {}

  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;

  /// The probe the fit uses, in activation units.
  template <class DA, class DB>
  itic_probe probe(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
    detail::check_source_target(source, target);
    if (!(options.l2 > 0.0 && std::isfinite(options.l2)))
      raise<invalid_argument>("itic: l2 must be a finite number > 0, got {}", options.l2);
    if (options.max_iterations < 1)
      raise<invalid_argument>("itic: max_iterations must be >= 1, got {}", options.max_iterations);
    if (!(options.tolerance >= 0.0)) raise<invalid_argument>("itic: tolerance must be >= 0, got {}", options.tolerance);
    using W = detail::work_scalar_t<typename DA::Scalar>;
    using row_vector = detail::work_row_vector<typename DA::Scalar>;
    const Eigen::Index na = source.rows(), nb = target.rows(), d = source.cols();
    detail::work_matrix<typename DA::Scalar> x1(na + nb, d + 1);
    x1.topLeftCorner(na, d) = source.template cast<W>();
    x1.bottomLeftCorner(nb, d) = target.template cast<W>();
    x1.col(d).setOnes();
    detail::work_vector<typename DA::Scalar> y(na + nb);
    y.head(na).setZero();
    y.tail(nb).setOnes();

    row_vector mean = row_vector::Zero(d);
    row_vector scale = row_vector::Ones(d);
    if (options.standardize) {
      mean = x1.leftCols(d).colwise().mean();
      x1.leftCols(d).rowwise() -= mean;
      const row_vector sd = (x1.leftCols(d).colwise().squaredNorm() / static_cast<W>(na + nb)).cwiseSqrt();
      // A constant neuron is 0 after centring; any scale leaves it 0, and 1 avoids dividing by zero.
      scale = (sd.array() > W(0)).select(sd, W(1));
      x1.leftCols(d).array().rowwise() /= scale.array();
    }
    itic_probe out;
    const auto theta =
        detail::fit_logistic(x1, y, options.l2, options.max_iterations, options.tolerance, out.iterations);
    // w . (x - mean) / scale + b = (w / scale) . x + (b - (w / scale) . mean)
    out.normal = theta.head(d).cwiseQuotient(scale.transpose());
    out.offset = theta[d] - out.normal.dot(mean.transpose());
    return out;
  }

 private:
  template <class DA, class DB>
  detail::work_vector<typename DA::Scalar> shift(const Eigen::MatrixBase<DA>& source,
                                                 const Eigen::MatrixBase<DB>& target) const {
    using W = detail::work_scalar_t<typename DA::Scalar>;
    using vector = detail::work_vector<typename DA::Scalar>;
    const itic_probe p = probe(source, target);
    const vector normal = p.normal.template cast<W>();
    const W norm = normal.norm();
    if (!(norm > W(0))) return vector::Zero(source.cols());
    const vector u = normal / norm;
    const Eigen::Index na = source.rows(), nb = target.rows();
    vector projected(na + nb);
    projected.head(na) = source.template cast<W>() * u;
    projected.tail(nb) = target.template cast<W>() * u;
    const W m = projected.mean();
    const double sd = detail::sample_sd((projected.array() - m).square().mean(), static_cast<std::size_t>(na + nb));
    return u * sd;
  }
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> itic::fit(const Eigen::MatrixBase<DA>& source,
                                          const Eigen::MatrixBase<DB>& target) const {
  const auto beta = shift(source, target);
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [&](const auto& s) {
    return detail::affine_coefficients{1.0, beta[s.index]};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_ITIC(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::itic, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_ITIC)
