#pragma once
/// \file fit_result.hpp
/// What every estimator returns: the fitted map, per-neuron diagnostics and the sample counts it saw.

#include <algorithm>
#include <variant>

#include <Eigen/Core>

#include <act/maps/affine_map.hpp>
#include <act/maps/quantile_map.hpp>

namespace act {

/// Per-neuron quality of a fitted map.
struct fit_diagnostics {
  /// R^2 of the least-squares line through the coupled (sorted) pairs: 1 = the 1-D OT map is affine.
  /// 1 when the target is constant (the fit is exact); 0 when only the source is constant.
  Eigen::ArrayXd r2;
  /// 1-D Wasserstein-2 distance between source and target samples.
  Eigen::ArrayXd w2_before;
  /// 1-D Wasserstein-2 distance between the transported source (every source sample through the map at
  /// lambda = 1, ignoring the support) and the target.
  Eigen::ArrayXd w2_after;
  /// True where the neuron fell below its method's spread floor `min_std` and got the method's fallback map
  /// instead of an estimated one: Gaussian-AcT and Mean-AcT, when the source or the target sample sd is at
  /// most min_std (the identity, as the reference); Linear-AcT, when the source sample sd is (the mean shift).
  Eigen::Array<bool, Eigen::Dynamic, 1> low_spread;
};

/// The number of neurons diagnostics flag as low_spread.
inline Eigen::Index low_spread_count(const fit_diagnostics& d) {
  return std::count(d.low_spread.data(), d.low_spread.data() + d.low_spread.size(), true);
}

/// Either kind of map: what a method chosen by name fits (estimators/registry.hpp) and a map_set holds.
template <class Scalar>
using any_map = std::variant<affine_map<Scalar>, quantile_map<Scalar>>;

/// A fitted map with its diagnostics and the numbers of source and target samples it was fitted on.
template <class Map>
struct fit_result {
  Map map;
  fit_diagnostics diagnostics;
  Eigen::Index source_samples = 0;
  Eigen::Index target_samples = 0;
};

/// What the affine estimators return (every method but quantile_act).
template <class Scalar>
using affine_fit = fit_result<affine_map<Scalar>>;

/// What quantile_act returns.
template <class Scalar>
using quantile_fit = fit_result<quantile_map<Scalar>>;

}  // namespace act
