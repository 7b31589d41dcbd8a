#pragma once
/// \file det0.hpp
/// Det0 (expert zeroing): replace the neurons that detect the source best by the target mean.

#include <cmath>
#include <string_view>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/detail/numeric/ranks.hpp>
#include <act/core/error.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of Det0.
struct det0_options {
  /// A neuron is an expert when its average precision at detecting the source exceeds this (strictly).
  double threshold = 0.9;
  /// Score direction. false (default, as in expert-finding): a higher value means "source". true:
  /// also try "lower value means source" and keep the better of the two average precisions.
  bool both_directions = false;
  /// Where the replacement applies; unbounded, as Det0 replaces every activation of an expert.
  act::support support = support::unbounded();
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// Det0 (paper Table 1): per neuron, the average precision (AP) of detecting source samples
/// (positives) among source and target samples by thresholding the neuron's value (see
/// det0_options::both_directions for the direction). Experts, AP > threshold, get omega = 0,
/// beta = m_B (the target mean); every other neuron the identity (omega = 1, beta = 0).
///
/// lambda interpolates: an expert becomes (1 - lambda) a + lambda m_B, lambda = 1 is the full
/// replacement. Throws act::invalid_argument for a threshold outside [0, 1], else as linear_act::fit.
class det0 {
 public:
  static constexpr std::string_view name = "det0";
  static constexpr std::string_view title = "Det0";
  static constexpr bool additive = false;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::interpolation;
  using options_type = det0_options;

  det0_options options;

  det0() = default;
  explicit det0(det0_options opts) : options(opts) {}

  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;

  /// The per-neuron average precision the fit compares with the threshold.
  template <class DA, class DB>
  Eigen::ArrayXd average_precision(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
    return detail::score_per_neuron(source, target, options.threads,
                                    [this](const auto& s) { return this->precision_of(s); });
  }

 private:
  void check_threshold() const {
    if (!(options.threshold >= 0.0 && options.threshold <= 1.0))
      raise<invalid_argument>("det0: threshold must lie in [0, 1], got {}", options.threshold);
  }

  template <class Samples>
  double precision_of(const Samples& s) const {
    const double up = detail::average_precision_of_sorted(s.source_sorted, s.target_sorted, true);
    if (!options.both_directions) return up;
    return std::max(up, detail::average_precision_of_sorted(s.source_sorted, s.target_sorted, false));
  }
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> det0::fit(const Eigen::MatrixBase<DA>& source,
                                          const Eigen::MatrixBase<DB>& target) const {
  check_threshold();
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [this](const auto& s) {
    if (precision_of(s) > options.threshold) return detail::affine_coefficients{0.0, s.moments.mean_b};
    return detail::affine_coefficients{1.0, 0.0};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_DET0(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::det0, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_DET0)
