#pragma once
/// \file mean_act.hpp
/// Mean-AcT: shift every neuron by the difference of target and source means, at an interpolating strength.

#include <string_view>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of Mean-AcT.
struct mean_act_options {
  /// Where the map applies; unbounded by default (the paper's Q_inf), which makes the map at a fixed
  /// lambda exactly a llama.cpp control vector lambda (m_B - m_A).
  act::support support = support::unbounded();
  /// The spread floor: a neuron keeps the identity map unless both its source and its target sample sd exceed
  /// min_std (the reference's rule), and is flagged in the diagnostics (low_spread). 0 keeps only constant
  /// neurons out.
  double min_std = detail::default_min_std;
  /// Threads over neurons for the diagnostics (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// Mean-AcT (paper Table 1): omega = 1, beta = m_B - m_A per neuron; the identity where the source or the
/// target sample sd is <= options.min_std (the reference's rule for constant neurons).
///
/// lambda interpolates as for every AcT map, T_lambda(a) = (1 - lambda) a + lambda T(a) = a + lambda beta:
/// lambda = 1 moves the source mean onto the target mean. Diagnostics as linear_act's.
///
///     auto fit = act::mean_act{}.fit(source, target);   // [n_a x d], [n_b x d]
///     act::affine_hook hook(fit.map, 1.0);
class mean_act {
 public:
  static constexpr std::string_view name = "mean";
  static constexpr std::string_view title = "Mean-AcT";
  static constexpr bool additive = true;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::interpolation;
  using options_type = mean_act_options;

  mean_act_options options;

  mean_act() = default;
  explicit mean_act(mean_act_options opts) : options(opts) {}

  /// Throws as linear_act::fit (shape_error, invalid_argument for < 2 rows, non_finite_error).
  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> mean_act::fit(const Eigen::MatrixBase<DA>& source,
                                              const Eigen::MatrixBase<DB>& target) const {
  detail::check_min_std("mean_act", options.min_std);
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [this](const auto& s) {
    if (detail::low_spread_either(s, options.min_std)) return detail::affine_coefficients{1.0, 0.0, true};
    return detail::affine_coefficients{1.0, s.moments.mean_b - s.moments.mean_a};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_MEAN_ACT(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::mean_act, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_MEAN_ACT)
