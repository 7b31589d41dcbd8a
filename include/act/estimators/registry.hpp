#pragma once
/// \file registry.hpp
/// The one list of act's methods: name -> estimator, its default support, whether it is additive and
/// what its strength means. act-cli, the examples, the bindings and the map-file reader go through it,
/// so adding a method means adding its estimator header and one entry to `registered_estimators` (and, for
/// the optional compiled library, its line in detail/instantiations.hpp, which a static_assert asks for).
///
///     auto fit = act::fit("linear", source, target);              // fit_result<any_map<float>>
///     const act::method_info& m = act::method("caa");             // m.additive, m.default_support, ...
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
#include <act/estimators/quantile_act.hpp>
#include <act/maps/fit_result.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Every method act knows, in the order tools list them. Each estimator carries its registry traits
/// (`name`, `title`, `additive`, `per_neuron`, `strength`, `options_type`, whose default `support` is the
/// method's default).
using registered_estimators =
    std::tuple<linear_act, mean_act, gaussian_act, actadd, caa, pca_direction, pca_uncentred, itic, aura, det0, quantile_act>;

/// Which map a method fits.
enum class map_kind { affine, quantile };

/// What the registry knows of one method.
struct method_info {
  std::string_view name;         ///< command-line and map-file name, e.g. "linear"
  std::string_view title;        ///< display name, e.g. "Linear-AcT"
  map_kind kind = map_kind::affine;
  bool has_support = true;       ///< false for quantile maps, whose knots span the source's range
  act::support default_support;  ///< the estimator's default (quantile: [min, max], the knots' range); bounded ones are open
  bool has_min_std = false;      ///< whether the method has a floor on the source spread (fit_settings::min_std)
  bool additive = false;         ///< omega = 1 always: at a fixed lambda the map adds one vector (a control vector)
  bool per_neuron = true;        ///< each neuron's map depends on its own samples only (fits a block of neurons at a time)
  bool paired = false;           ///< source row i and target row i are a pair: the counts must be equal
  strength_meaning strength = strength_meaning::interpolation;  ///< what lambda means
};

/// How a method chosen by name is configured; what a method does not take is ignored.
struct fit_settings {
  /// The support; empty means the method's default. Quantile maps take only q0_100 (their knots' range).
  std::optional<act::support> support;
  /// The boundary rule of a bounded support; empty means the support's own (open unless set otherwise).
  std::optional<support_bounds> bounds;
  /// The floor on the source spread of the methods that have one (linear, gaussian, mean: see their
  /// options); ignored by the others.
  double min_std = detail::default_min_std;
  /// Knots per neuron of quantile maps (0 = all samples).
  int knots = 128;
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

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

template <class Estimator>
method_info info_of() {
  method_info m;
  m.name = Estimator::name;
  m.title = Estimator::title;
  m.kind = fits_quantile_map<Estimator> ? map_kind::quantile : map_kind::affine;
  m.has_support = !fits_quantile_map<Estimator>;
  if constexpr (fits_quantile_map<Estimator>)
    m.default_support = support::min_max();  // the range the knots span
  else
    m.default_support = typename Estimator::options_type{}.support;
  m.has_min_std = has_min_std<typename Estimator::options_type>;
  m.additive = Estimator::additive;
  m.per_neuron = Estimator::per_neuron;
  m.paired = is_paired<Estimator>;
  m.strength = Estimator::strength;
  return m;
}

template <std::size_t... I>
std::array<method_info, sizeof...(I)> method_table(std::index_sequence<I...>) {
  return {info_of<std::tuple_element_t<I, registered_estimators>>()...};
}

/// Calls f(Estimator{}) for the registered estimator at `index`.
template <std::size_t I = 0, class F>
decltype(auto) visit_registered(std::size_t index, F&& f) {
  if constexpr (I + 1 < std::tuple_size_v<registered_estimators>) {
    if (index != I) return visit_registered<I + 1>(index, std::forward<F>(f));
  }
  return f(std::tuple_element_t<I, registered_estimators>{});
}

}  // namespace detail

/// Every registered method, in registry order.
inline const auto& methods() {
  static const auto table =
      detail::method_table(std::make_index_sequence<std::tuple_size_v<registered_estimators>>{});
  return table;
}

/// The method called `name`, or nullptr.
inline const method_info* find_method(std::string_view name) {
  for (const method_info& m : methods())
    if (m.name == name) return &m;
  return nullptr;
}

/// The registered names joined by `separator`, for messages and help texts.
inline std::string method_names(std::string_view separator = ", ") {
  std::string out;
  for (const method_info& m : methods()) {
    if (!out.empty()) out += separator;
    out += m.name;
  }
  return out;
}

/// The method called `name`; throws act::invalid_argument listing the registered names otherwise.
inline const method_info& method(std::string_view name) {
  if (const method_info* m = find_method(name)) return *m;
  raise<invalid_argument>("unknown method '{}' (one of: {})", name, method_names());
}

/// The support a fit with `settings` uses: the settings' own or the method's default. Throws
/// act::invalid_argument for a quantile map asked for anything but q0_100.
inline support support_for(const method_info& m, const fit_settings& settings) {
  support band = settings.support ? *settings.support : m.default_support;
  if (!m.has_support && band.to_string() != "q0_100")
    raise<invalid_argument>(
        "method '{}' fits quantile maps, which cover the source's range with their knots and extend with slope 1 "
        "beyond it; only the support q0_100 applies, got {}",
        m.name, band.to_string());
  if (settings.bounds) band.bounds = *settings.bounds;
  return band;
}

/// The label map files record for the support of such a fit: "all", "q0_100", ... or "knots".
inline std::string support_label(const method_info& m, const fit_settings& settings) {
  return m.has_support ? support_for(m, settings).to_string() : std::string("knots");
}

/// Calls `f(estimator)` with the estimator of method `name` configured from `settings`, and returns
/// what f returns (the same type for every estimator). Throws as method() and support_for().
template <class F>
decltype(auto) with_estimator(std::string_view name, const fit_settings& settings, F&& f) {
  const method_info& m = method(name);
  const support band = support_for(m, settings);
  return detail::visit_registered(static_cast<std::size_t>(&m - methods().data()), [&](auto estimator) -> decltype(auto) {
    using Estimator = decltype(estimator);
    estimator.options.threads = settings.threads;
    if constexpr (detail::fits_quantile_map<Estimator>)
      estimator.options.knots = settings.knots;
    else
      estimator.options.support = band;
    if constexpr (detail::has_min_std<typename Estimator::options_type>) estimator.options.min_std = settings.min_std;
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
  fit_result<any_map<typename DA::Scalar>> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
    return act::fit(name, source, target, settings);
  }

  /// The support label of its fits, as map files record it (act::support_label).
  std::string support_label() const { return act::support_label(method(name), settings); }
};

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_FIT_BY_NAME)
