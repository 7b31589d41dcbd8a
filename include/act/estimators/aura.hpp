#pragma once
/// \file aura.hpp
/// AurA: dampen each neuron in proportion to how well it tells source from target (its AUROC).

#include <string_view>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/detail/numeric/ranks.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of AurA.
struct aura_options {
  /// Where the dampening applies; unbounded, as AurA scales every activation of an expert neuron.
  act::support support = support::unbounded();
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// AurA (paper Table 1): per neuron, the AUROC of its value at telling source (positive, the
/// behaviour to remove) from target, ties counted one half (Mann-Whitney); then
/// omega = 1 - 2 (AUROC - 0.5) where AUROC > 0.5, else 1, and beta = 0.
///
/// lambda interpolates: T_lambda(a) = (1 - lambda (1 - omega)) a; lambda = 1 is AurA's dampening,
/// a neuron that separates perfectly (AUROC 1) is zeroed. O(n log n) per neuron (sorting).
class aura {
 public:
  static constexpr std::string_view name = "aura";
  static constexpr std::string_view title = "AurA";
  static constexpr bool additive = false;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::interpolation;
  using options_type = aura_options;

  aura_options options;

  aura() = default;
  explicit aura(aura_options opts) : options(opts) {}

  /// Throws as linear_act::fit.
  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;

  /// The per-neuron AUROC the fit uses: P(a > b) + P(a = b) / 2, a from source, b from target.
  template <class DA, class DB>
  Eigen::ArrayXd auroc(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
    return detail::score_per_neuron(source, target, options.threads, [](const auto& s) {
      return detail::auroc_of_sorted(s.source_sorted, s.target_sorted);
    });
  }

  /// omega for an AUROC: 1 - 2 (AUROC - 0.5) above one half, 1 otherwise.
  static double dampening(double auroc) { return auroc > 0.5 ? 1.0 - 2.0 * (auroc - 0.5) : 1.0; }
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> aura::fit(const Eigen::MatrixBase<DA>& source,
                                          const Eigen::MatrixBase<DB>& target) const {
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [](const auto& s) {
    return detail::affine_coefficients{dampening(detail::auroc_of_sorted(s.source_sorted, s.target_sorted)), 0.0};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_AURA(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::aura, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_AURA)
