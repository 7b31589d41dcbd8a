#pragma once
/// \file per_neuron.hpp
/// The per-neuron loop every estimator shares: validated inputs, each neuron's samples sorted with their
/// coupled moments, the support band and the diagnostics. An affine estimator supplies only omega and
/// beta per neuron (fit_affine_per_neuron); quantile_act walks the same loop (for_each_sorted_neuron).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/core/support.hpp>
#include <act/detail/kernels/parallel.hpp>
#include <act/detail/numeric/columns.hpp>
#include <act/detail/numeric/coupling.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/maps/fit_result.hpp>

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
  bool low_spread = false;  ///< the neuron fell below its method's spread floor: a fallback, flagged in the diagnostics
};

/// R^2 of the least-squares line through the coupled pairs: 1 for a constant target (exact fit), 0 when
/// only the source is constant.
template <class Scalar>
double coupled_r2(const neuron_samples<Scalar>& s) {
  const auto& m = s.moments;
  if (s.target_sorted.front() == s.target_sorted.back()) return 1.0;
  if (s.source_sorted.front() == s.source_sorted.back()) return 0.0;
  return std::min(1.0, m.cov * m.cov / (m.var_a * m.var_b));
}

/// When a fit checks that the samples are finite: before anything else, or while sorting them
/// (for_each_sorted_neuron), which saves a pass over the inputs. The error is the same; while_sorting
/// suits only fits whose per-neuron work cannot throw, as it runs for the neurons before the first
/// non-finite one.
enum class finite_check { up_front, while_sorting };

/// A result for validated inputs: sample counts set, diagnostics sized for d neurons (the estimator
/// sizes and fills the map).
template <class Map, class DA, class DB>
fit_result<Map> start_fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target,
                          finite_check check = finite_check::up_front) {
  static_assert(std::is_same_v<typename DA::Scalar, typename DB::Scalar>, "source and target must share a scalar type");
  static_assert(std::is_floating_point_v<typename DA::Scalar>, "samples must be float or double");
  if (check == finite_check::up_front)
    check_source_target(source, target);
  else
    check_source_target_shapes(source, target);
  const Eigen::Index d = source.cols();
  fit_result<Map> out;
  out.source_samples = source.rows();
  out.target_samples = target.rows();
  out.diagnostics = {Eigen::ArrayXd(d), Eigen::ArrayXd(d), Eigen::ArrayXd(d),
                     Eigen::Array<bool, Eigen::Dynamic, 1>::Zero(d)};
  return out;
}

/// R^2 and W2 before transport of neuron s.index; W2 after is the caller's (it depends on the map).
template <class Scalar>
void record_coupling(fit_diagnostics& diag, const neuron_samples<Scalar>& s) {
  diag.r2[s.index] = coupled_r2(s);
  diag.w2_before[s.index] = std::sqrt(transported_w2_squared(s.moments, 1.0, 0.0));
}

/// Calls body(neuron_samples) for every neuron (column) of inputs whose shapes are checked, on up to
/// `threads` threads over contiguous neuron ranges; `body` must be safe to call concurrently for
/// different neurons. The sorts tell whether a column holds a NaN or Inf: the first one met stops
/// every thread before its neuron's body, and check_finite then throws for the inputs as a whole (the
/// same error as checking them up front, without a separate pass over them).
template <class DA, class DB, class Body>
void for_each_sorted_neuron(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target, int threads,
                            Body&& body) {
  using Scalar = typename DA::Scalar;
  std::atomic<bool> non_finite{false};
  parallel_for(source.cols(), threads, [&](Eigen::Index begin, Eigen::Index end) {
    sorted_columns<DA> source_columns(source);  // per-thread buffers, reused across neurons
    sorted_columns<DB> target_columns(target);
    for (Eigen::Index j = begin; j < end; ++j) {
      if (!source_columns.sort(j) || !target_columns.sort(j)) non_finite.store(true, std::memory_order_relaxed);
      if (non_finite.load(std::memory_order_relaxed)) return;
      const std::vector<Scalar>& a = source_columns.sorted();
      const std::vector<Scalar>& b = target_columns.sorted();
      const auto m = coupled_moments_of_sorted(a, b);
      body(neuron_samples<Scalar>{j, a, b, m});
    }
  });
  if (non_finite.load()) {
    check_finite("source", source);
    check_finite("target", target);
  }
}

/// Validates the inputs, then per neuron asks `coefficients(neuron_samples)` for omega and beta
/// (omega >= 0, so the diagnostics' coupling stays optimal) and fills the support band of the source and
/// the diagnostics. With finite_check::while_sorting, `coefficients` must not throw.
template <finite_check Check = finite_check::up_front, class DA, class DB, class Coefficients>
affine_fit<typename DA::Scalar> fit_affine_per_neuron(const Eigen::MatrixBase<DA>& source,
                                                      const Eigen::MatrixBase<DB>& target, const support& band,
                                                      int threads, Coefficients&& coefficients) {
  using Scalar = typename DA::Scalar;
  auto out = start_fit<affine_map<Scalar>>(source, target, Check);
  const Eigen::Index d = source.cols();
  auto& map = out.map;
  map.omega.resize(d);
  map.beta.resize(d);
  if (band.bounded) {
    map.lower.resize(d);
    map.upper.resize(d);
    map.bounds = band.bounds;
  }
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
    record_coupling(diag, s);
    diag.low_spread[j] = c.low_spread;
    diag.w2_after[j] = std::sqrt(transported_w2_squared(s.moments, c.omega, c.beta));
  });
  return out;
}

/// One score per neuron from its sorted samples, `score(neuron_samples) -> double`, after validating
/// the inputs.
template <class DA, class DB, class Score>
Eigen::ArrayXd score_per_neuron(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target, int threads,
                                Score&& score) {
  using Scalar = typename DA::Scalar;
  check_source_target(source, target);
  Eigen::ArrayXd out(source.cols());
  for_each_sorted_neuron(source, target, threads, [&](const neuron_samples<Scalar>& s) { out[s.index] = score(s); });
  return out;
}

/// Sample standard deviation (divisor n - 1) of n >= 2 values from their population variance (divisor n).
inline double sample_sd(double population_variance, std::size_t n) {
  return std::sqrt(population_variance * static_cast<double>(n) / static_cast<double>(n - 1));
}

/// The default spread floor (the reference implementation's): see low_spread_source and low_spread_either.
inline constexpr double default_min_std = 1e-4;

/// Throws act::invalid_argument unless min_std is finite and >= 0.
inline void check_min_std(const char* method, double min_std) {
  if (!(min_std >= 0.0 && std::isfinite(min_std)))
    raise<invalid_argument>("{}: min_std must be finite and >= 0, got {}", method, min_std);
}

/// True when the source's sample standard deviation is at most min_std (always for a constant source):
/// the slope sd_B / sd_A or cov / var_A would be unreliable or unbounded there.
template <class Scalar>
bool low_spread_source(const neuron_samples<Scalar>& s, double min_std) {
  if (s.source_sorted.front() == s.source_sorted.back()) return true;
  return sample_sd(s.moments.var_a, s.source_sorted.size()) <= min_std;
}

/// True unless both the source's and the target's sample standard deviations exceed min_std: the reference
/// implementation's rule for Mean- and Gaussian-AcT, whose neurons below it keep the identity map.
template <class Scalar>
bool low_spread_either(const neuron_samples<Scalar>& s, double min_std) {
  if (low_spread_source(s, min_std) || s.target_sorted.front() == s.target_sorted.back()) return true;
  return sample_sd(s.moments.var_b, s.target_sorted.size()) <= min_std;
}

}  // namespace act::detail
