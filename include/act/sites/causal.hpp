#pragma once
/// \file causal.hpp
/// Fits maps for a list of sites, causally (layer by layer, paper Def. 3.2) or simultaneously.

#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/maps/fit_result.hpp>
#include <act/sites/map_set.hpp>
#include <act/sites/pooling.hpp>

namespace act {

/// Pooled samples at one site: rows are inputs, columns neurons.
struct site_samples {
  Eigen::MatrixXf source;
  Eigen::MatrixXf target;
};

/// Options of the layer-by-layer drivers.
struct causal_options {
  /// Passed to the caller's collect function: how tokens become samples.
  act::pooling pooling = act::pooling::mean;
  /// Strength at which already-fitted sites are applied while collecting the next site.
  double strength = 1.0;
};

namespace detail {

/// The support label a map file records for a fit by `estimator`, as act::fit records it: the estimator's own
/// answer (act::method_estimator), else its options' support, else unknown ("").
template <class Estimator>
auto fitted_support_label(const Estimator& estimator, int) -> decltype(std::string(estimator.support_label())) {
  return estimator.support_label();
}
template <class Estimator>
auto fitted_support_label(const Estimator& estimator, long)
    -> decltype(std::string(estimator.options.support.to_string())) {
  return estimator.options.support.to_string();
}
template <class Estimator>
std::string fitted_support_label(const Estimator&, ...) {
  return {};
}

/// Fits every site in order; `causal` decides whether collection sees the maps fitted so far.
template <class Estimator, class Collect>
map_set fit_sites(const char* who, const std::vector<std::string>& sites, const Estimator& estimator, Collect&& collect,
                  const causal_options& options, bool causal) {
  map_set maps;
  maps.set_strength(options.strength);
  const map_set none;
  for (const auto& site : sites) {
    if (maps.contains(site)) raise<invalid_argument>("{}: site '{}' listed twice", who, site);
    const site_samples s = collect(site, causal ? maps : none, options.pooling);
    const auto fit = estimator.fit(s.source, s.target);
    maps.insert(
        site, fit.map,
        {std::string(estimator.name), fit.source_samples, fit.target_samples, std::string(to_string(options.pooling)),
         fitted_support_label(estimator, 0), low_spread_count(fit.diagnostics)});
  }
  return maps;
}

}  // namespace detail

/// Causal estimation: fits `sites` in the given (forward) order; site k is fitted on activations
/// produced with the maps of sites 0..k-1 already installed. This knows nothing of the model:
///
///     site_samples collect(const std::string& site, const act::map_set& installed, act::pooling how);
///
/// must run the caller's forward passes over its source inputs with `installed` applied at its hook
/// points, and over its target inputs (normally unsteered: they already show what the source should
/// become), and return the pooled activations seen at `site`. The estimator is any act estimator
/// (`linear_act`, `mean_act`, ..., or act::method_estimator for a method chosen by name). The returned
/// set holds every site's map with its provenance, at global strength `options.strength`.
template <class Estimator, class Collect>
map_set fit_causal(const std::vector<std::string>& sites, const Estimator& estimator, Collect&& collect,
                   const causal_options& options = {}) {
  return detail::fit_sites("fit_causal", sites, estimator, collect, options, true);
}

/// Simultaneous estimation, for comparison: every site fitted from one unsteered pass (the collect
/// function always receives an empty map set).
template <class Estimator, class Collect>
map_set fit_simultaneous(const std::vector<std::string>& sites, const Estimator& estimator, Collect&& collect,
                         const causal_options& options = {}) {
  return detail::fit_sites("fit_simultaneous", sites, estimator, collect, options, false);
}

}  // namespace act
