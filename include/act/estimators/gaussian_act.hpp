#pragma once
/// \file gaussian_act.hpp
/// Gaussian-AcT: the 1-D optimal transport map between Gaussians fitted to each neuron's source and target.

#include <string_view>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of Gaussian-AcT.
struct gaussian_act_options {
  /// Where the map applies; [min, max] of the source by default, as Linear-AcT (the same family of
  /// interpolating AcT maps, whose support the paper found best for mitigation).
  act::support support = support::min_max();
  /// The spread floor: a neuron keeps the identity map unless both its source and its target sample sd exceed
  /// min_std (the reference's rule: sd_B / sd_A would be huge, or would collapse the neuron onto a point), and is
  /// flagged in the diagnostics (low_spread). 0 keeps only constant neurons out.
  double min_std = detail::default_min_std;
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// Gaussian-AcT (paper Table 1, reference "gaussian_ot"): omega = sd_B / sd_A, beta = m_B - omega m_A,
/// with sample standard deviations (divisor n - 1). This is the exact OT map when both sides are Gaussian.
///
/// lambda interpolates: T_lambda(a) = (1 - lambda) a + lambda T(a); lambda = 1 matches mean and sd.
/// A neuron whose source or target is constant or near-constant (sample sd_A or sd_B <= options.min_std) gets
/// the identity map (omega = 1, beta = 0), as in the reference, flagged in diagnostics.low_spread. Results are
/// always finite.
class gaussian_act {
 public:
  static constexpr std::string_view name = "gaussian";
  static constexpr std::string_view title = "Gaussian-AcT";
  static constexpr bool additive = false;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::interpolation;
  using options_type = gaussian_act_options;

  gaussian_act_options options;

  gaussian_act() = default;
  explicit gaussian_act(gaussian_act_options opts) : options(opts) {}

  /// Throws as linear_act::fit.
  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> gaussian_act::fit(const Eigen::MatrixBase<DA>& source,
                                                  const Eigen::MatrixBase<DB>& target) const {
  detail::check_min_std("gaussian_act", options.min_std);
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [this](const auto& s) {
    const auto& m = s.moments;
    if (detail::low_spread_either(s, options.min_std)) return detail::affine_coefficients{1.0, 0.0, true};
    const double omega =
        detail::sample_sd(m.var_b, s.target_sorted.size()) / detail::sample_sd(m.var_a, s.source_sorted.size());
    return detail::affine_coefficients{omega, m.mean_b - omega * m.mean_a};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_GAUSSIAN_ACT(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::gaussian_act, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_GAUSSIAN_ACT)
