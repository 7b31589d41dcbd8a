#pragma once
/// \file quantile_act.hpp
/// Non-parametric AcT: per neuron, the monotone map through K matched quantiles of source and target.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/core/error.hpp>
#include <act/maps/fit_result.hpp>
#include <act/maps/quantile_map.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of non-parametric AcT.
struct quantile_act_options {
  /// Knots per neuron K >= 2; 0, or any K >= max(n_a, n_b), means "all samples" (see quantile_act).
  int knots = 128;
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

namespace detail {

/// A quantile level num / den in [0, 1], kept as a fraction so sample positions come out exact.
struct quantile_level {
  double num = 0;
  double den = 1;
};

/// The value at fractional position `pos` in [0, n - 1] of ascending `sorted`, interpolating
/// linearly between order statistics (the convention of percentile_of_sorted).
template <class T>
double value_at_position(const std::vector<T>& sorted, double pos) {
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  const double a = static_cast<double>(sorted[lo]);
  return frac == 0.0 ? a : a + frac * (static_cast<double>(sorted[hi]) - a);
}

/// The levels where either sample's interpolated quantile function has a breakpoint,
/// {i / (n_a - 1)} united with {j / (n_b - 1)}, in ascending order without repeats.
inline std::vector<quantile_level> all_sample_levels(Eigen::Index na, Eigen::Index nb) {
  // On the common denominator (n_a - 1)(n_b - 1) both grids are integers: merge them exactly.
  const std::uint64_t ua = static_cast<std::uint64_t>(na - 1), ub = static_cast<std::uint64_t>(nb - 1);
  const double den = static_cast<double>(ua) * static_cast<double>(ub);
  std::vector<quantile_level> out;
  std::uint64_t i = 0, j = 0;
  while (i <= ua || j <= ub) {
    const std::uint64_t pa = i <= ua ? i * ub : UINT64_MAX, pb = j <= ub ? j * ua : UINT64_MAX;
    const std::uint64_t p = std::min(pa, pb);
    out.push_back({static_cast<double>(p), den});
    if (pa == p) ++i;
    if (pb == p) ++j;
  }
  return out;
}

}  // namespace detail

/// Non-parametric AcT: per neuron, T = piecewise-linear interpolation of the target quantile
/// function against the source's, through K matched knots (see quantile_map for T between and
/// beyond the knots; beyond them it shifts with slope 1).
///
/// Levels. With 2 <= K < max(n_a, n_b) the levels are u_k = k / (K - 1), k = 0..K-1, so the first and
/// last knots are the sample minima and maxima; the knot of a sample of size n at level u is its
/// value at position u (n - 1), interpolating linearly between order statistics (numpy's default
/// percentile). With K = 0 or K >= max(n_a, n_b) ("all samples") the levels are every breakpoint of
/// either interpolated quantile function, i / (n_a - 1) and j / (n_b - 1): with equal counts that is
/// K = n knots (a_(i), b_(i)) and T carries each sorted source sample exactly onto the target sample
/// of the same rank, the exact empirical OT map; with unequal counts it is the monotone map between
/// the two piecewise-linear quantile functions (up to n_a + n_b - 2 knots).
///
/// Repeated source knots (ties in the source) would make T jump; their target knots are replaced by
/// their mean (the barycentric projection of the coupling there), which keeps T continuous and makes
/// a constant source neuron the mean shift, as in linear_act.
///
/// lambda interpolates: T_lambda(a) = (1 - lambda) a + lambda T(a); lambda = 1 is full transport.
/// Throws act::invalid_argument for knots = 1 or < 0, else as linear_act::fit.
///
///     auto fit = act::quantile_act{}.fit(source, target);   // [n_a x d], [n_b x d]
///     act::quantile_hook hook(fit.map, 1.0);
class quantile_act {
 public:
  static constexpr std::string_view name = "quantile";
  static constexpr std::string_view title = "non-parametric AcT";
  static constexpr bool additive = false;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::interpolation;
  using options_type = quantile_act_options;

  quantile_act_options options;

  quantile_act() = default;
  explicit quantile_act(quantile_act_options opts) : options(opts) {}

  template <class DA, class DB>
  quantile_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;

 private:
  /// Replaces the target knots of each run of equal source knots by the run's mean.
  template <class Scalar>
  static void average_tied_targets(const Scalar* x, Scalar* y, Eigen::Index k) {
    Eigen::Index begin = 0;
    while (begin < k) {
      Eigen::Index end = begin + 1;
      while (end < k && x[end] == x[begin]) ++end;
      if (end - begin > 1) {
        double sum = 0;
        for (Eigen::Index i = begin; i < end; ++i) sum += static_cast<double>(y[i]);
        const auto mean = static_cast<Scalar>(sum / static_cast<double>(end - begin));
        for (Eigen::Index i = begin; i < end; ++i) y[i] = mean;
      }
      begin = end;
    }
  }
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
quantile_fit<typename DA::Scalar> quantile_act::fit(const Eigen::MatrixBase<DA>& source,
                                                    const Eigen::MatrixBase<DB>& target) const {
  using Scalar = typename DA::Scalar;
  if (options.knots < 0 || options.knots == 1)
    raise<invalid_argument>("quantile_act: knots must be 0 (all samples) or >= 2, got {}", options.knots);
  auto out = detail::start_fit<quantile_map<Scalar>>(source, target);

  const Eigen::Index na = source.rows(), nb = target.rows(), d = source.cols();
  const bool all = options.knots == 0 || options.knots >= std::max(na, nb);
  std::vector<detail::quantile_level> levels;
  if (all) {
    levels = detail::all_sample_levels(na, nb);
  } else {
    for (int k = 0; k < options.knots; ++k)
      levels.push_back({static_cast<double>(k), static_cast<double>(options.knots - 1)});
  }
  const auto kk = static_cast<Eigen::Index>(levels.size());

  out.map.knots_source.resize(kk, d);
  out.map.knots_target.resize(kk, d);
  auto& diag = out.diagnostics;

  detail::for_each_sorted_neuron(source, target, options.threads, [&](const detail::neuron_samples<Scalar>& s) {
    const Eigen::Index j = s.index;
    Scalar* x = out.map.knots_source.col(j).data();
    Scalar* y = out.map.knots_target.col(j).data();
    // num * (n - 1) / den: exact (an integer position) whenever the level falls on a sample.
    for (Eigen::Index k = 0; k < kk; ++k) {
      const auto& u = levels[static_cast<std::size_t>(k)];
      x[k] =
          static_cast<Scalar>(detail::value_at_position(s.source_sorted, u.num * static_cast<double>(na - 1) / u.den));
      y[k] =
          static_cast<Scalar>(detail::value_at_position(s.target_sorted, u.num * static_cast<double>(nb - 1) / u.den));
    }
    average_tied_targets(x, y, kk);

    detail::record_coupling(diag, s);
    // W2 after: push every source sample through T and couple the result with the target again.
    // The samples ascend, so their segments do: one walk along the knots finds them all.
    std::vector<double> moved(s.source_sorted.size()), goal(s.target_sorted.begin(), s.target_sorted.end());
    Eigen::Index segment = 0;
    for (std::size_t i = 0; i < moved.size(); ++i) {
      const auto a = static_cast<double>(s.source_sorted[i]);
      while (segment < kk && static_cast<double>(x[segment]) <= a) ++segment;
      moved[i] = out.map.value_in_segment(j, segment, a);
    }
    // T is monotone, so `moved` ascends but for rounding-level swaps, if any.
    if (!std::is_sorted(moved.begin(), moved.end())) std::sort(moved.begin(), moved.end());
    const auto m = detail::coupled_moments_of_sorted(moved, goal);
    diag.w2_after[j] = std::sqrt(detail::transported_w2_squared(m, 1.0, 0.0));
  });
  return out;
}

}  // namespace act

#define ACT_INSTANTIATE_QUANTILE_ACT(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::quantile_act, quantile_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_QUANTILE_ACT)
