#pragma once
/// \file caa.hpp
/// CAA (contrastive activation addition, also ITI-m): add a multiple of the mean difference of target and source.

#include <string_view>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of CAA.
struct caa_options {
  /// Where the vector is added; unbounded, as CAA adds it to every activation.
  act::support support = support::unbounded();
  /// Threads over neurons for the diagnostics (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// CAA / ITI-m (paper Table 1): omega = 1, beta = m_B - m_A.
///
/// The samples may be paired (row i of source and target from one prompt pair) or unpaired: the mean
/// of the paired differences equals the difference of the means, so both give this beta and the
/// counts may differ. lambda multiplies beta (a + lambda beta), unbounded: CAA's "multiplier". The
/// map equals Mean-AcT's; the methods differ in how samples are pooled (CAA: last token) and in
/// how lambda is read, so they keep separate names in map files.
class caa {
 public:
  static constexpr std::string_view name = "caa";
  static constexpr std::string_view title = "CAA";
  static constexpr bool additive = true;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::multiplier;
  using options_type = caa_options;

  caa_options options;

  caa() = default;
  explicit caa(caa_options opts) : options(opts) {}

  /// Throws as linear_act::fit.
  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> caa::fit(const Eigen::MatrixBase<DA>& source,
                                         const Eigen::MatrixBase<DB>& target) const {
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [](const auto& s) {
    return detail::affine_coefficients{1.0, s.moments.mean_b - s.moments.mean_a};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_CAA(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::caa, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_CAA)
