#pragma once
/// \file affine_estimator.hpp
/// The per-neuron loop every affine estimator shares: sorted columns, coupled moments, support
/// bounds and diagnostics, with the estimator supplying only omega and beta.

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "../linear_act.hpp"
#include "../support.hpp"
#include "check.hpp"
#include "columns.hpp"
#include "coupling.hpp"
#include "parallel.hpp"

namespace act::detail {

/// What an estimator sees of one neuron: both columns sorted ascending and their coupled moments.
template <class Scalar>
struct neuron_samples {
  Eigen::Index index = 0;
  const std::vector<Scalar>& source_sorted;
  const std::vector<Scalar>& target_sorted;
  const coupled_moments& moments;
};

/// The affine coefficients of one neuron.
struct affine_coefficients {
  double omega = 1.0;
  double beta = 0.0;
};

/// R^2 of the least-squares line through the coupled pairs (as linear_act reports it): 1 for a
/// constant target (exact fit), 0 when only the source is constant.
template <class Scalar>
double coupled_r2(const neuron_samples<Scalar>& s) {
  const auto& m = s.moments;
  if (s.target_sorted.front() == s.target_sorted.back()) return 1.0;
  if (s.source_sorted.front() == s.source_sorted.back()) return 0.0;
  return std::min(1.0, m.cov * m.cov / (m.var_a * m.var_b));
}

/// Diagnostics arrays sized for d neurons (filled per neuron by the estimators).
inline fit_diagnostics sized_diagnostics(Eigen::Index d) {
  return {Eigen::ArrayXd(d), Eigen::ArrayXd(d), Eigen::ArrayXd(d)};
}

/// Calls body(neuron_samples) for every neuron (column) of already validated inputs, on up to
/// `threads` threads over contiguous neuron ranges; `body` must be safe to call concurrently for
/// different neurons.
template <class DA, class DB, class Body>
void for_each_sorted_neuron(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target, int threads,
                            Body&& body) {
  using Scalar = typename DA::Scalar;
  parallel_for(source.cols(), threads, [&](Eigen::Index begin, Eigen::Index end) {
    sorted_columns<DA> source_columns(source);  // per-thread buffers, reused across neurons
    sorted_columns<DB> target_columns(target);
    for (Eigen::Index j = begin; j < end; ++j) {
      const std::vector<Scalar>& a = source_columns(j);
      const std::vector<Scalar>& b = target_columns(j);
      const auto m = coupled_moments_of_sorted(a, b);
      body(neuron_samples<Scalar>{j, a, b, m});
    }
  });
}

/// Validates the inputs as linear_act does, then per neuron asks `coefficients(neuron_samples)` for
/// omega and beta (omega >= 0, so the diagnostics' coupling stays optimal) and fills the support band
/// of the source and linear_act's diagnostics.
template <class DA, class DB, class Coefficients>
affine_fit<typename DA::Scalar> fit_affine_per_neuron(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target,
                                                      const support& band, int threads, Coefficients&& coefficients) {
  using Scalar = typename DA::Scalar;
  static_assert(std::is_same_v<Scalar, typename DB::Scalar>, "source and target must share a scalar type");
  static_assert(std::is_floating_point_v<Scalar>, "samples must be float or double");
  check_source_target(source, target);

  const Eigen::Index d = source.cols();
  affine_fit<Scalar> out;
  out.source_samples = source.rows();
  out.target_samples = target.rows();
  auto& map = out.map;
  map.omega.resize(d);
  map.beta.resize(d);
  if (band.bounded) {
    map.lower.resize(d);
    map.upper.resize(d);
  }
  out.diagnostics = sized_diagnostics(d);
  auto& diag = out.diagnostics;

  for_each_sorted_neuron(source, target, threads, [&](const neuron_samples<Scalar>& s) {
    const Eigen::Index j = s.index;
    const affine_coefficients c = coefficients(s);
    map.omega[j] = static_cast<Scalar>(c.omega);
    map.beta[j] = static_cast<Scalar>(c.beta);
    if (band.bounded) {
      map.lower[j] = static_cast<Scalar>(percentile_of_sorted(s.source_sorted, band.lower_percent));
      map.upper[j] = static_cast<Scalar>(percentile_of_sorted(s.source_sorted, band.upper_percent));
    }
    diag.r2[j] = coupled_r2(s);
    diag.w2_before[j] = std::sqrt(transported_w2_squared(s.moments, 1.0, 0.0));
    diag.w2_after[j] = std::sqrt(transported_w2_squared(s.moments, c.omega, c.beta));
  });
  return out;
}

/// One score per neuron from its sorted samples, `score(neuron_samples) -> double`, after validating
/// the inputs as linear_act does.
template <class DA, class DB, class Score>
Eigen::ArrayXd score_per_neuron(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target, int threads,
                                Score&& score) {
  using Scalar = typename DA::Scalar;
  check_source_target(source, target);
  Eigen::ArrayXd out(source.cols());
  for_each_sorted_neuron(source, target, threads, [&](const neuron_samples<Scalar>& s) { out[s.index] = score(s); });
  return out;
}

/// Per-column means in double, as a column vector of length d.
template <class Derived>
Eigen::VectorXd column_means(const Eigen::MatrixBase<Derived>& x) {
  return x.template cast<double>().colwise().mean().transpose();
}

/// Sample standard deviation (divisor n - 1) of n >= 2 values from their population variance (divisor n).
inline double sample_sd(double population_variance, std::size_t n) {
  return std::sqrt(population_variance * static_cast<double>(n) / static_cast<double>(n - 1));
}

}  // namespace act::detail
