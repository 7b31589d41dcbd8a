#pragma once
// The estimators act-cli can run, by their command-line names.

#include <string>
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
  static const std::vector<std::string> names = {"linear"};
  return names;
}

namespace detail {
template <class Estimator>
void fit_with(const Estimator& estimator, act::map_set& maps, const std::string& site, const Eigen::MatrixXf& source,
              const Eigen::MatrixXf& target, const fit_request& request) {
  const auto fit = estimator.fit(source, target);
  maps.insert(site, fit.map, {request.method, fit.source_samples, fit.target_samples, request.pooling, request.support.to_string()});
}
}  // namespace detail

/// Fits `request.method` and stores the map in `maps` under `site` (replacing a map of that name).
inline void fit_into(act::map_set& maps, const std::string& site, const fit_request& request, const Eigen::MatrixXf& source,
                     const Eigen::MatrixXf& target) {
  const std::string& m = request.method;
  if (m == "linear") {
    act::linear_act_options o;
    o.support = request.support;
    o.threads = 0;
    return detail::fit_with(act::linear_act{o}, maps, site, source, target, request);
  }
  throw usage_error(fmt::format("unknown --method '{}' (one of: {})", m, fmt::join(method_names(), ", ")));
}

}  // namespace act_cli
