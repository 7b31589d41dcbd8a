#pragma once
/// \file methods.hpp
/// The table of act's methods: names, kinds, flags, default support and defaults of their settings. It
/// includes no estimator, so code that only needs facts about methods (the map-file reader, help texts,
/// bindings) compiles none; estimators/registry.hpp dispatches a name to its estimator and checks at
/// compile time that every estimator's traits equal its row here.
///
///     const act::method_info& m = act::method("caa");   // m.additive, m.default_support, ...
///     for (const act::method_info& m : act::methods()) fmt::print("{}\n", m.name);

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>

namespace act {

/// Which map a method fits.
enum class map_kind { affine, quantile };

/// The floor on the source spread of the methods that have one, the reference's 1e-4.
inline constexpr double default_min_std = 1e-4;
/// Knots per neuron of quantile maps.
inline constexpr int default_knots = 128;

/// What act knows of one method.
struct method_info {
  std::string_view name;   ///< command-line and map-file name, e.g. "linear"
  std::string_view title;  ///< display name, e.g. "Linear-AcT"
  map_kind kind = map_kind::affine;
  bool has_support = true;  ///< false for quantile maps, whose knots span the source's range
  act::support
      default_support;  ///< the estimator's default (quantile: [min, max], the knots' range); bounded ones are open
  bool has_min_std = false;  ///< whether the method has a floor on the source spread (fit_settings::min_std)
  bool additive = false;     ///< omega = 1 always: at a fixed lambda the map adds one vector (a control vector)
  bool per_neuron = true;    ///< each neuron's map depends on its own samples only (fits a block of neurons at a time)
  bool paired = false;       ///< source row i and target row i are a pair: the counts must be equal
  strength_meaning strength = strength_meaning::interpolation;  ///< what lambda means
};

namespace detail {

constexpr method_info method_row(std::string_view name, std::string_view title, map_kind kind, support default_support,
                                 bool has_min_std, bool additive, bool per_neuron, bool paired,
                                 strength_meaning strength) {
  method_info m;
  m.name = name;
  m.title = title;
  m.kind = kind;
  m.has_support = kind == map_kind::affine;
  m.default_support = default_support;
  m.has_min_std = has_min_std;
  m.additive = additive;
  m.per_neuron = per_neuron;
  m.paired = paired;
  m.strength = strength;
  return m;
}

constexpr auto interpolation = strength_meaning::interpolation;
constexpr auto multiplier = strength_meaning::multiplier;

}  // namespace detail

/// Every method, in the order tools list them.
// clang-format off
inline constexpr std::array<method_info, 11> method_table = {
    //                 name             title                          kind               default support        min_std additive per_neuron paired strength
    detail::method_row("linear",        "Linear-AcT",                  map_kind::affine,   support::min_max(),   true,  false, true,  false, detail::interpolation),
    detail::method_row("mean",          "Mean-AcT",                    map_kind::affine,   support::unbounded(), true,  true,  true,  false, detail::interpolation),
    detail::method_row("gaussian",      "Gaussian-AcT",                map_kind::affine,   support::min_max(),   true,  false, true,  false, detail::interpolation),
    detail::method_row("actadd",        "ActAdd",                      map_kind::affine,   support::unbounded(), false, true,  true,  false, detail::multiplier),
    detail::method_row("caa",           "CAA",                         map_kind::affine,   support::unbounded(), false, true,  true,  false, detail::multiplier),
    detail::method_row("pca",           "PCA (RePE, centred)",         map_kind::affine,   support::unbounded(), false, true,  false, true,  detail::multiplier),
    detail::method_row("pca_uncentred", "PCA (uncentred, llama.cpp)",  map_kind::affine,   support::unbounded(), false, true,  false, true,  detail::multiplier),
    detail::method_row("itic",          "ITI-c",                       map_kind::affine,   support::unbounded(), false, true,  false, false, detail::multiplier),
    detail::method_row("aura",          "AurA",                        map_kind::affine,   support::unbounded(), false, false, true,  false, detail::interpolation),
    detail::method_row("det0",          "Det0",                        map_kind::affine,   support::unbounded(), false, false, true,  false, detail::interpolation),
    detail::method_row("quantile",      "non-parametric AcT",          map_kind::quantile, support::min_max(),   false, false, true,  false, detail::interpolation),
};
// clang-format on

/// Every method, in table order.
constexpr const std::array<method_info, 11>& methods() { return method_table; }

/// The method called `name`, or nullptr.
constexpr const method_info* find_method(std::string_view name) {
  for (const method_info& m : method_table)
    if (m.name == name) return &m;
  return nullptr;
}

/// The method names joined by `separator`, for messages and help texts.
inline std::string method_names(std::string_view separator = ", ") {
  std::string out;
  for (const method_info& m : method_table) {
    if (!out.empty()) out += separator;
    out += m.name;
  }
  return out;
}

/// The method called `name`; throws act::invalid_argument listing the method names otherwise.
inline const method_info& method(std::string_view name) {
  if (const method_info* m = find_method(name)) return *m;
  raise<invalid_argument>("unknown method '{}' (one of: {})", name, method_names());
}

/// How a method chosen by name is configured; what a method does not take is ignored.
struct fit_settings {
  /// The support; empty means the method's default. Quantile maps take only q0_100 (their knots' range).
  std::optional<act::support> support;
  /// The boundary rule of a bounded support; empty means the support's own (open unless set otherwise).
  std::optional<support_bounds> bounds;
  /// The floor on the source spread of the methods that have one (linear, gaussian, mean: see their
  /// options); ignored by the others.
  double min_std = default_min_std;
  /// Knots per neuron of quantile maps (0 = all samples).
  int knots = default_knots;
  /// Threads over neurons (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

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

}  // namespace act
