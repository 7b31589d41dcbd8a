#pragma once
/// \file linear_act.hpp
/// Linear-AcT: a least-squares affine map per neuron on the monotone (sorted) coupling of source and
/// target samples, with a transport support and per-neuron fit diagnostics.

#include <cmath>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "affine_map.hpp"
#include "detail/check.hpp"
#include "detail/columns.hpp"
#include "detail/coupling.hpp"
#include "detail/parallel.hpp"
#include "support.hpp"

namespace act {

/// Per-neuron quality of a fitted affine map.
struct fit_diagnostics {
  /// R^2 of the least-squares line through the coupled (sorted) pairs: 1 = the 1-D OT map is affine.
  /// 1 when the target is constant (the fit is exact); 0 when only the source is constant.
  Eigen::ArrayXd r2;
  /// 1-D Wasserstein-2 distance between source and target samples.
  Eigen::ArrayXd w2_before;
  /// 1-D Wasserstein-2 distance between omega * source + beta (applied to every source sample,
  /// ignoring the support) and the target.
  Eigen::ArrayXd w2_after;
};

/// What an affine estimator returns: the map, its diagnostics and the sample counts it saw.
template <class Scalar>
struct affine_fit {
  affine_map<Scalar> map;
  fit_diagnostics diagnostics;
  Eigen::Index source_samples = 0;
  Eigen::Index target_samples = 0;
};

/// Options of Linear-AcT.
struct linear_act_options {
  /// Where the map applies; the paper's default for mitigation is [min, max] of the source.
  act::support support = support::min_max();
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

/// Linear-AcT (paper Def. 3.1): per neuron, sort the source samples a and target samples b, pair them
/// by quantile and fit b ~ omega a + beta by least squares:
///   omega = sum (a - m_a)(b - m_b) / sum (a - m_a)^2,   beta = m_b - omega m_a.
/// With unequal counts the pairs are those of the monotone optimal coupling of the two empirical
/// distributions (see detail/coupling.hpp); equal counts reduce to plain sorted matching.
///
/// Degenerate neurons: a constant source has no slope; its map is the mean shift (omega = 1,
/// beta = m_b - m_a). A constant target gives omega = 0, beta = m_b. Results are always finite.
///
/// Inputs are [n x d] Eigen expressions (rows are samples, columns neurons) in float or double; the
/// map has the inputs' scalar type; all sums run in double. Column-major inputs are read in place.
///
///     act::linear_act est;                                  // support [min, max]
///     auto fit = est.fit(source, target);                   // source [n_a x d], target [n_b x d]
///     act::affine_hook hook(fit.map, 0.5f);                 // apply at strength 0.5
class linear_act {
 public:
  static constexpr std::string_view name = "linear";

  linear_act_options options;

  linear_act() = default;
  explicit linear_act(linear_act_options opts) : options(opts) {}

  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
    using Scalar = typename DA::Scalar;
    static_assert(std::is_same_v<Scalar, typename DB::Scalar>, "source and target must share a scalar type");
    static_assert(std::is_floating_point_v<Scalar>, "samples must be float or double");
    detail::check_source_target(source, target);

    const Eigen::Index d = source.cols();
    affine_fit<Scalar> out;
    out.source_samples = source.rows();
    out.target_samples = target.rows();
    auto& map = out.map;
    map.omega.resize(d);
    map.beta.resize(d);
    if (options.support.bounded) {
      map.lower.resize(d);
      map.upper.resize(d);
    }
    auto& diag = out.diagnostics;
    diag.r2.resize(d);
    diag.w2_before.resize(d);
    diag.w2_after.resize(d);

    detail::parallel_for(d, options.threads, [&](Eigen::Index begin, Eigen::Index end) {
      detail::sorted_columns<DA> source_columns(source);  // per-thread buffers, reused across neurons
      detail::sorted_columns<DB> target_columns(target);
      for (Eigen::Index j = begin; j < end; ++j) {
        const std::vector<Scalar>& a = source_columns(j);
        const std::vector<Scalar>& b = target_columns(j);
        const auto m = detail::coupled_moments_of_sorted(a, b);
        const bool constant_source = a.front() == a.back();
        const double omega = constant_source ? 1.0 : m.cov / m.var_a;
        const double beta = m.mean_b - omega * m.mean_a;
        map.omega[j] = static_cast<Scalar>(omega);
        map.beta[j] = static_cast<Scalar>(beta);
        if (options.support.bounded) {
          map.lower[j] = static_cast<Scalar>(detail::percentile_of_sorted(a, options.support.lower_percent));
          map.upper[j] = static_cast<Scalar>(detail::percentile_of_sorted(a, options.support.upper_percent));
        }
        const bool constant_target = b.front() == b.back();
        diag.r2[j] = constant_target  ? 1.0
                     : constant_source ? 0.0
                                       : std::min(1.0, m.cov * m.cov / (m.var_a * m.var_b));
        diag.w2_before[j] = std::sqrt(detail::transported_w2_squared(m, 1.0, 0.0));
        diag.w2_after[j] = std::sqrt(detail::transported_w2_squared(m, omega, beta));
      }
    });
    return out;
  }
};

}  // namespace act
