#pragma once
/// \file actadd.hpp
/// ActAdd: add a multiple of the activation difference of one chosen prompt pair.

#include <string_view>

#include <Eigen/Core>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/core/error.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of ActAdd.
struct actadd_options {
  /// Row of the source ("a-", the behaviour to remove) and of the target ("a+") forming the pair.
  Eigen::Index source_row = 0;
  Eigen::Index target_row = 0;
  /// Where the vector is added; unbounded, as ActAdd adds it everywhere.
  act::support support = support::unbounded();
  /// Threads over neurons for the diagnostics (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// ActAdd (paper Table 1): omega = 1, beta = a+ - a- = target.row(target_row) - source.row(source_row).
///
/// lambda multiplies beta (a + lambda beta), unbounded: ActAdd's injection coefficient. The other
/// rows only feed the diagnostics and the support band; like every estimator, each side needs at
/// least 2 rows. Throws act::invalid_argument when a chosen row is out of range, else as linear_act::fit.
class actadd {
 public:
  static constexpr std::string_view name = "actadd";
  static constexpr std::string_view title = "ActAdd";
  static constexpr bool additive = true;
  static constexpr bool per_neuron = true;  ///< each neuron's map depends on its own samples only
  static constexpr strength_meaning strength = strength_meaning::multiplier;
  using options_type = actadd_options;

  actadd_options options;

  actadd() = default;
  explicit actadd(actadd_options opts) : options(opts) {}

  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;

 private:
  static void check_row(std::string_view which, Eigen::Index row, Eigen::Index rows) {
    if (row < 0 || row >= rows)
      raise<invalid_argument>("actadd: {} = {} is out of range for {} rows", which, row, rows);
  }
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> actadd::fit(const Eigen::MatrixBase<DA>& source,
                                            const Eigen::MatrixBase<DB>& target) const {
  detail::check_source_target(source, target);
  check_row("source_row", options.source_row, source.rows());
  check_row("target_row", options.target_row, target.rows());
  using W = detail::work_scalar_t<typename DA::Scalar>;
  const detail::work_vector<typename DA::Scalar> beta =
      (target.row(options.target_row).template cast<W>() - source.row(options.source_row).template cast<W>())
          .transpose();
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [&](const auto& s) {
    return detail::affine_coefficients{1.0, beta[s.index]};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_ACTADD(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::actadd, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_ACTADD)
