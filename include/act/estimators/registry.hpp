#pragma once
/// \file registry.hpp
/// Fitting a method chosen by name: name -> estimator. The facts about each method (name, kind, flags,
/// default support and settings) are the light table of core/methods.hpp; a static_assert below checks that
/// every estimator's traits equal its row there. Adding a method means adding its estimator header, its row
/// in core/methods.hpp, its entry in `registered_estimators` (and, for the optional compiled library, its
/// line in detail/instantiations.hpp).
///
///     auto fit = act::fit("linear", source, target);              // fit_result<any_map<float>>
///     maps.insert("blk.3", fit.map, {"linear", fit.source_samples, fit.target_samples});

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/core/methods.hpp>
#include <act/core/support.hpp>
#include <act/estimators/actadd.hpp>
#include <act/estimators/aura.hpp>
#include <act/estimators/caa.hpp>
#include <act/estimators/det0.hpp>
#include <act/estimators/gaussian_act.hpp>
#include <act/estimators/itic.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/estimators/pca_direction.hpp>
#include <act/estimators/pca_uncentred.hpp>
#include <act/estimators/quantile_act.hpp>
#include <act/maps/fit_result.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Every method act knows, in the order tools list them. Each estimator carries its registry traits
/// (`name`, `title`, `additive`, `per_neuron`, `strength`, `options_type`, whose default `support` is the
/// method's default).
using registered_estimators = std::tuple<linear_act, mean_act, gaussian_act, actadd, caa, pca_direction, pca_uncentred,
                                         itic, aura, det0, quantile_act>;

namespace detail {

template <class Estimator>
constexpr bool fits_quantile_map = std::is_same_v<Estimator, quantile_act>;

/// Whether an estimator's options have a floor on the source spread (`min_std`).
template <class Options, class = void>
constexpr bool has_min_std = false;
template <class Options>
constexpr bool has_min_std<Options, std::void_t<decltype(std::declval<Options&>().min_std)>> = true;

/// Whether an estimator pairs source and target rows (`static constexpr bool paired = true`).
template <class Estimator, class = void>
constexpr bool is_paired = false;
template <class Estimator>
constexpr bool is_paired<Estimator, std::void_t<decltype(Estimator::paired)>> = Estimator::paired;

/// Whether an estimator's traits are those of row `m` of the method table.
template <class Estimator>
constexpr bool traits_match(const method_info& m) {
  using options = typename Estimator::options_type;
  const support default_support = [] {
    if constexpr (fits_quantile_map<Estimator>)
      return support::min_max();  // the range the knots span
    else
      return options{}.support;
  }();
  double min_std = default_min_std;
  if constexpr (has_min_std<options>) min_std = options{}.min_std;
  int knots = default_knots;
  if constexpr (fits_quantile_map<Estimator>) knots = options{}.knots;
  return m.name == Estimator::name && m.title == Estimator::title &&
         m.kind == (fits_quantile_map<Estimator> ? map_kind::quantile : map_kind::affine) &&
         m.default_support == default_support && m.has_min_std == has_min_std<options> &&
         m.additive == Estimator::additive && m.per_neuron == Estimator::per_neuron &&
         m.paired == is_paired<Estimator> && m.strength == Estimator::strength && min_std == default_min_std &&
         knots == default_knots;
}

template <std::size_t... I>
constexpr bool registry_matches_table(std::index_sequence<I...>) {
  return sizeof...(I) == method_table.size() &&
         (traits_match<std::tuple_element_t<I, registered_estimators>>(method_table[I]) && ...);
}
static_assert(registry_matches_table(std::make_index_sequence<std::tuple_size_v<registered_estimators>>{}),
              "registered_estimators and core/methods.hpp's method_table disagree (order, name or a trait)");

/// Calls f(Estimator{}) for the registered estimator at `index`.
template <std::size_t I = 0, class F>
decltype(auto) visit_registered(std::size_t index, F&& f) {
  if constexpr (I + 1 < std::tuple_size_v<registered_estimators>) {
    if (index != I) return visit_registered<I + 1>(index, std::forward<F>(f));
  }
  return f(std::tuple_element_t<I, registered_estimators>{});
}

}  // namespace detail

/// Calls `f(estimator)` with the estimator of method `name` configured from `settings`, and returns
/// what f returns (the same type for every estimator). Throws as method() and support_for().
template <class F>
decltype(auto) with_estimator(std::string_view name, const fit_settings& settings, F&& f) {
  const method_info& m = method(name);
  const support band = support_for(m, settings);
  return detail::visit_registered(static_cast<std::size_t>(&m - methods().data()),
                                  [&](auto estimator) -> decltype(auto) {
                                    using Estimator = decltype(estimator);
                                    estimator.options.threads = settings.threads;
                                    if constexpr (detail::fits_quantile_map<Estimator>)
                                      estimator.options.knots = settings.knots;
                                    else
                                      estimator.options.support = band;
                                    if constexpr (detail::has_min_std<typename Estimator::options_type>)
                                      estimator.options.min_std = settings.min_std;
                                    return f(std::as_const(estimator));
                                  });
}

/// Fits method `name` (any registered method) on source [n_a x d] and target [n_b x d] samples.
template <class DA, class DB>
fit_result<any_map<typename DA::Scalar>> fit(std::string_view name, const Eigen::MatrixBase<DA>& source,
                                             const Eigen::MatrixBase<DB>& target, const fit_settings& settings = {}) {
  using result = fit_result<any_map<typename DA::Scalar>>;
  return with_estimator(name, settings, [&](const auto& estimator) {
    auto f = estimator.fit(source, target);
    return result{std::move(f.map), std::move(f.diagnostics), f.source_samples, f.target_samples};
  });
}

/// A method chosen at run time, usable wherever an estimator is (e.g. act::fit_causal).
struct method_estimator {
  std::string_view name;  ///< the registry's own copy of the name
  fit_settings settings;

  /// Throws as act::method() for an unknown name.
  explicit method_estimator(std::string_view method_name, fit_settings fit_with = {})
      : name(method(method_name).name), settings(fit_with) {}

  template <class DA, class DB>
  fit_result<any_map<typename DA::Scalar>> fit(const Eigen::MatrixBase<DA>& source,
                                               const Eigen::MatrixBase<DB>& target) const {
    return act::fit(name, source, target, settings);
  }

  /// The support label of its fits, as map files record it (act::support_label).
  std::string support_label() const { return act::support_label(method(name), settings); }
};

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_FIT_BY_NAME)
