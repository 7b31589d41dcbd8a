#pragma once
/// \file fit_test_util.hpp
/// Helpers of the tests that compare fits: seeded normal samples, and bit-for-bit equality of two fits
/// chosen by name (map, diagnostics, sample counts).

#include <random>
#include <variant>

#include <Eigen/Core>

#include <act/maps/fit_result.hpp>

namespace act_test {

/// [rows x cols] samples shift + scale z, z standard normal from a generator seeded with `seed`.
template <class Scalar = float>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> random_samples(Eigen::Index rows, Eigen::Index cols,
                                                                     unsigned seed, Scalar shift = 0,
                                                                     Scalar scale = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<Scalar> z;
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = shift + scale * z(rng);
  return m;
}

/// True when both fits are the same bit for bit.
template <class Scalar>
bool same_fit(const act::fit_result<act::any_map<Scalar>>& x, const act::fit_result<act::any_map<Scalar>>& y) {
  const auto& dx = x.diagnostics;
  const auto& dy = y.diagnostics;
  if (x.source_samples != y.source_samples || x.target_samples != y.target_samples || x.map.index() != y.map.index())
    return false;
  if (!((dx.r2 == dy.r2).all() && (dx.w2_before == dy.w2_before).all() && (dx.w2_after == dy.w2_after).all()))
    return false;
  if (const auto* a = std::get_if<act::affine_map<Scalar>>(&x.map)) {
    const auto& b = std::get<act::affine_map<Scalar>>(y.map);
    return (a->omega == b.omega).all() && (a->beta == b.beta).all() && a->lower.size() == b.lower.size() &&
           (a->lower == b.lower).all() && (a->upper == b.upper).all();
  }
  const auto& a = std::get<act::quantile_map<Scalar>>(x.map);
  const auto& b = std::get<act::quantile_map<Scalar>>(y.map);
  return a.knots_source == b.knots_source && a.knots_target == b.knots_target;
}

}  // namespace act_test
