#pragma once
/// \file binding.hpp
/// What the translation units of the extension share: the Python-side holders of maps, fits and map sets,
/// and the functions that register each part of the module. No algorithm lives here: every computation
/// is a call into act's headers; this code converts arguments, releases the GIL and converts results.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <act/hooks.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>
#include <act/maps.hpp>

#include "arrays.hpp"

namespace act_python {

namespace py = pybind11;

/// A hook built at one strength, kept for the next call at the same strength (building is O(d), or O(d K)
/// for a quantile map). Accessed with the GIL held; the shared_ptr keeps a hook alive while an apply runs
/// without the GIL.
template <class Hook>
struct hook_cache {
  std::shared_ptr<const Hook> hook;
  double strength = 0.0;

  /// The hook at `lambda`; with `any_strength` (per-row applies, which ignore the hook's own strength)
  /// whichever hook is cached.
  template <class Map>
  std::shared_ptr<const Hook> at(const Map& map, double lambda, bool any_strength = false) {
    if (!hook || (strength != lambda && !any_strength)) {
      hook = std::make_shared<const Hook>(map, lambda);
      strength = lambda;
    }
    return hook;
  }
};

/// act.AffineMap: an act::affine_map in float or double (the fit's input type), immutable from Python.
struct py_affine_map {
  std::variant<act::affine_map<float>, act::affine_map<double>> map;
  hook_cache<act::affine_hook<float>> float_hook;    ///< float maps; double maps on non-double buffers
  hook_cache<act::affine_hook<double>> double_hook;  ///< double maps on double buffers
  std::optional<act::affine_map<float>> as_float;    ///< a double map cast once for float hooks
};

/// act.QuantileMap: an act::quantile_map in float or double.
struct py_quantile_map {
  std::variant<act::quantile_map<float>, act::quantile_map<double>> map;
  hook_cache<act::quantile_hook<float>> float_hook;
  hook_cache<act::quantile_hook<double>> double_hook;
  std::optional<act::quantile_map<float>> as_float;
};

/// act.Fit: what act.fit returns.
struct py_fit {
  py::object map;        ///< an AffineMap or a QuantileMap
  py::dict diagnostics;  ///< "r2", "w2_before", "w2_after": float64 arrays [d]; "low_spread": bool [d]
  Eigen::Index source_samples = 0;
  Eigen::Index target_samples = 0;
  std::string method;                   ///< registry name
  std::string support;                  ///< the label map files record: "q0_100", "all", ... or "knots"
  Eigen::Index low_spread_neurons = 0;  ///< neurons fitted below the spread floor (map files record the count)
};

/// act.MapSet: an act::map_set. Applying takes the lock shared and runs without the GIL; changes take it
/// exclusively, so a change from another Python thread waits for applies in flight.
struct py_map_set {
  act::map_set maps;
  mutable std::shared_mutex mutex;
  /// Counts changes of the maps (insert, remove): act.torch caches coefficients per map version.
  std::uint64_t map_version = 0;
};

/// Equal shapes and equal bits (so -0 differs from 0): what == on maps and map sets compares.
template <class A>
bool same_bits(const A& a, const A& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(typename A::Scalar) * static_cast<std::size_t>(a.size())) == 0);
}
template <class S>
bool same_map(const act::affine_map<S>& a, const act::affine_map<S>& b) {
  return same_bits(a.omega, b.omega) && same_bits(a.beta, b.beta) && same_bits(a.lower, b.lower) &&
         same_bits(a.upper, b.upper) && (!a.bounded() || a.bounds == b.bounds);
}
template <class S>
bool same_map(const act::quantile_map<S>& a, const act::quantile_map<S>& b) {
  return same_bits(a.knots_source, b.knots_source) && same_bits(a.knots_target, b.knots_target);
}
/// Same alternative, same bits.
template <class... Maps>
bool same_map(const std::variant<Maps...>& a, const std::variant<Maps...>& b) {
  if (a.index() != b.index()) return false;
  return std::visit([&](const auto& x) { return same_map(x, std::get<std::decay_t<decltype(x)>>(b)); }, a);
}

/// Python objects for C++ maps (copied into a new AffineMap / QuantileMap).
py::object to_python(act::affine_map<float> map);
py::object to_python(act::affine_map<double> map);
py::object to_python(act::quantile_map<float> map);
py::object to_python(act::quantile_map<double> map);
py::object to_python(act::any_map<float> map);
py::object to_python(act::any_map<double> map);

/// The map held by an AffineMap or QuantileMap object, as a float map (what a map set stores); throws
/// act::invalid_argument naming `what` for other objects.
act::any_map<float> float_map_of(py::handle map, const char* what);

/// How an apply call selects rows, decided from its arguments with the GIL held.
struct apply_plan {
  enum class mode { all, masked, last_rows, per_row, channel_spatial };
  mode how = mode::all;
  double strength = 1.0;              ///< all / masked / last_rows / channel_spatial
  std::vector<std::uint8_t> mask;     ///< masked: one flag per row
  std::vector<Eigen::Index> lengths;  ///< last_rows: packed sequence lengths
  std::vector<float> lambdas;         ///< per_row: one strength per row
  int threads = 1;                    ///< all rows only
  // The buffer as rows [rows x cols], or as [images x channels x positions] for channel_spatial.
  Eigen::Index rows = 0, cols = 0, row_stride = 0, col_stride = 1;
  Eigen::Index images = 0, channels = 0, positions = 0;
};

/// Reads apply's arguments: x (1-D [d], 2-D [rows x d], 3-D [batch x tokens x d] or 4-D [N x C x H x W]),
/// strength (a number, or one per row / per sequence), mask, lengths, threads. `scalar_strength` says
/// whether a plain number is allowed (a map set applies its own strengths).
apply_plan plan_apply(const array_ref& x, py::handle strength, py::handle mask, py::handle lengths, int threads,
                      bool scalar_strength);

/// Runs a hook on x as planned (no GIL needed): float hooks on every element type, double hooks on
/// float64 arrays only.
void run_apply(const act::affine_hook<float>& hook, const array_ref& x, const apply_plan& plan);
void run_apply(const act::quantile_hook<float>& hook, const array_ref& x, const apply_plan& plan);
void run_apply(const act::affine_hook<double>& hook, const array_ref& x, const apply_plan& plan);
void run_apply(const act::quantile_hook<double>& hook, const array_ref& x, const apply_plan& plan);

/// Runs the hook of `site` in `self` on x as planned, without the GIL and under the set's shared lock; false,
/// touching nothing, when the set has no map for `site`.
bool apply_planned(const py_map_set& self, std::string_view site, const array_ref& x, const apply_plan& plan);

/// A number or a string from Python for messages.
std::string describe(py::handle object);

void bind_errors(py::module_& m);
void bind_maps(py::module_& m);
void bind_fit(py::module_& m);
void bind_map_set(py::module_& m);
void bind_steering_hook(py::module_& m);

}  // namespace act_python
