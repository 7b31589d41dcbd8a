#pragma once
/// \file linear_act.hpp
/// Linear-AcT: a least-squares affine map per neuron on the monotone (sorted) coupling of source and
/// target samples, with a transport support and per-neuron fit diagnostics.

#include <string_view>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/numeric/per_neuron.hpp>
#include <act/maps/fit_result.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of Linear-AcT.
struct linear_act_options {
  /// Where the map applies; the paper's default for mitigation is [min, max] of the source.
  act::support support = support::min_max();
  /// The floor on the source spread: a neuron whose source sample sd is <= min_std gets the mean shift
  /// (omega = 1, beta = m_b - m_a) instead of a slope, and is flagged in the diagnostics (low_spread).
  /// 1e-4 as the reference implementation; 0 keeps only the constant-source fallback.
  double min_std = detail::default_min_std;
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// Linear-AcT (paper Def. 3.1): per neuron, sort the source samples a and target samples b, pair them
/// by quantile and fit b ~ omega a + beta by least squares:
///   omega = sum (a - m_a)(b - m_b) / sum (a - m_a)^2,   beta = m_b - omega m_a.
/// With unequal counts the pairs are those of the monotone optimal coupling of the two empirical
/// distributions (see detail/coupling.hpp); equal counts reduce to plain sorted matching.
///
/// Degenerate neurons: a constant or near-constant source (sample sd <= options.min_std) has no reliable
/// slope (cov / var_a grows without bound as the spread vanishes); its map is the mean shift (omega = 1,
/// beta = m_b - m_a), flagged in diagnostics.low_spread. A constant target gives omega = 0, beta = m_b.
/// Results are always finite.
///
/// Inputs are [n x d] Eigen expressions (rows are samples, columns neurons) in float or double; the
/// map has the inputs' scalar type; all sums run in double. Column-major inputs are read in place.
///
///     act::linear_act est;                                  // support [min, max]
///     auto fit = est.fit(source, target);                   // source [n_a x d], target [n_b x d]
///     act::affine_hook hook(fit.map, 0.5f);                 // apply at strength 0.5
class linear_act {
 public:
  /// Registry traits (estimators/registry.hpp): command-line name, display name, whether the map only adds
  /// a vector (omega = 1), and what lambda means.
  static constexpr std::string_view name = "linear";
  static constexpr std::string_view title = "Linear-AcT";
  static constexpr bool additive = false;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::interpolation;
  using options_type = linear_act_options;

  linear_act_options options;

  linear_act() = default;
  explicit linear_act(linear_act_options opts) : options(opts) {}

  /// Throws act::shape_error when the neuron counts differ, act::invalid_argument for fewer than 2
  /// samples on a side or a negative or non-finite min_std, act::non_finite_error naming the first NaN/Inf sample.
  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> linear_act::fit(const Eigen::MatrixBase<DA>& source,
                                                const Eigen::MatrixBase<DB>& target) const {
  detail::check_min_std("linear_act", options.min_std);
  // The coefficients cannot throw, so the samples are checked finite while they are sorted.
  return detail::fit_affine_per_neuron<detail::finite_check::while_sorting>(
      source, target, options.support, options.threads, [this](const auto& s) {
        const auto& m = s.moments;
        const bool low_spread = detail::low_spread_source(s, options.min_std);
        const double omega = low_spread ? 1.0 : m.cov / m.var_a;
        return detail::affine_coefficients{omega, m.mean_b - omega * m.mean_a, low_spread};
      });
}

}  // namespace act

#define ACT_INSTANTIATE_LINEAR_ACT(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::linear_act, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_LINEAR_ACT)
