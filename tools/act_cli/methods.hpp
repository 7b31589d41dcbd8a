#pragma once
// The estimators act-cli can run, by their command-line names.

#include <string>
#include <type_traits>
#include <vector>

#include <act/act.hpp>

#include "arguments.hpp"

namespace act_cli {

/// What `act-cli fit` asks of an estimator.
struct fit_request {
  std::string method;
  act::support support;
  int knots = 128;
  std::string pooling = "mean";
};

/// The default support of a method: [min, max] for linear and quantile, unbounded for the rest.
inline act::support default_support(const std::string& method) {
  return method == "linear" || method == "quantile" ? act::support::min_max() : act::support::unbounded();
}

/// The names `--method` accepts.
inline const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = {"linear", "mean", "gaussian", "actadd", "caa",
                                                 "pca",    "itic", "aura",     "det0",   "quantile"};
  return names;
}

namespace detail {

/// Fits with `Estimator` configured from the request: support (where the method has one), all cores.
template <class Estimator, class Options>
void fit_with(act::map_set& maps, const std::string& site, const fit_request& request, const Eigen::MatrixXf& source,
              const Eigen::MatrixXf& target) {
  Options options;
  options.threads = 0;
  if constexpr (std::is_same_v<Estimator, act::quantile_act>) {
    options.knots = request.knots;
  } else {
    options.support = request.support;
  }
  const auto fit = Estimator{options}.fit(source, target);
  maps.insert(site, fit.map,
              {request.method, fit.source_samples, fit.target_samples, request.pooling,
               std::is_same_v<Estimator, act::quantile_act> ? "knots" : request.support.to_string()});
}

}  // namespace detail

/// Fits `request.method` and stores the map in `maps` under `site` (replacing a map of that name).
inline void fit_into(act::map_set& maps, const std::string& site, const fit_request& request, const Eigen::MatrixXf& source,
                     const Eigen::MatrixXf& target) {
  const std::string& m = request.method;
  using detail::fit_with;
  if (m == "linear") return fit_with<act::linear_act, act::linear_act_options>(maps, site, request, source, target);
  if (m == "mean") return fit_with<act::mean_act, act::mean_act_options>(maps, site, request, source, target);
  if (m == "gaussian") return fit_with<act::gaussian_act, act::gaussian_act_options>(maps, site, request, source, target);
  if (m == "actadd") return fit_with<act::actadd, act::actadd_options>(maps, site, request, source, target);
  if (m == "caa") return fit_with<act::caa, act::caa_options>(maps, site, request, source, target);
  if (m == "pca") return fit_with<act::pca_direction, act::pca_direction_options>(maps, site, request, source, target);
  if (m == "itic") return fit_with<act::itic, act::itic_options>(maps, site, request, source, target);
  if (m == "aura") return fit_with<act::aura, act::aura_options>(maps, site, request, source, target);
  if (m == "det0") return fit_with<act::det0, act::det0_options>(maps, site, request, source, target);
  if (m == "quantile") return fit_with<act::quantile_act, act::quantile_act_options>(maps, site, request, source, target);
  throw usage_error(fmt::format("unknown --method '{}' (one of: {})", m, fmt::join(method_names(), ", ")));
}

}  // namespace act_cli
