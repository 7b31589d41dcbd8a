// act.fit: any registered method on two 2-D arrays, read in place (row- or column-major, any outer stride).

#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <variant>

#include "fit_samples.hpp"

namespace act_python {
namespace {

act::fit_settings settings_of(const std::string& method, const std::optional<std::string>& support,
                              const std::optional<std::string>& support_bounds, double min_std, int knots,
                              int threads) {
  act::method(method);  // an unknown name fails here, listing the registered ones
  if (threads < 0) act::raise<act::invalid_argument>("fit: threads must be >= 0 (0 = all cores), got {}", threads);
  if (!(min_std >= 0.0 && std::isfinite(min_std)))
    act::raise<act::invalid_argument>("fit: min_std must be finite and >= 0, got {}", min_std);
  act::fit_settings settings;
  if (support) settings.support = act::support::parse(*support);
  if (support_bounds) settings.bounds = act::parse_bounds(*support_bounds, "fit: support_bounds");
  settings.min_std = min_std;
  settings.knots = knots;
  settings.threads = threads;
  return settings;
}

/// act.fit's docstring; the method names and defaults come from the method table.
const std::string& fit_doc() {
  static const std::string doc = fmt::format(
      R"(Fits a transport map with a registered method from source [n_a x d] and target [n_b x d] samples.

method: one of {methods} (act.methods() lists them).
source, target: 2-D float32 or float64 arrays of the same dtype (NumPy, or
  anything with __dlpack__ or the buffer protocol), rows are samples; read in place when one axis is
  contiguous (C or Fortran order, any outer stride), otherwise copied once.
support: None (the method's default: 'q0_100' for linear, gaussian and quantile, 'all' otherwise), 'all',
  'q0_100' or 'qLO_HI' (e.g. 'q5_95'). support_bounds: None ('open': lo < a < hi, the reference's test) or
  'closed'. min_std: the spread floor of linear, gaussian and mean: gaussian and mean leave a neuron unchanged
  unless its source and target sd both exceed it, linear gives a source sd at or below it the mean shift
  (flagged in diagnostics['low_spread']). knots: per neuron, quantile maps only (0 = all samples).
threads: over neurons, 1 = the calling thread, 0 = all cores. The GIL is released while fitting.
Returns an act.Fit; float32 input gives float32 maps, float64 input float64 maps.)",
      fmt::arg("methods", act::method_names()));
  return doc;
}

py_fit fit(const std::string& method, py::handle source_object, py::handle target_object,
           const std::optional<std::string>& support, const std::optional<std::string>& support_bounds, double min_std,
           int knots, int threads) {
  const act::fit_settings settings = settings_of(method, support, support_bounds, min_std, knots, threads);
  const array_ref source(source_object, "source", false), target(target_object, "target", false);
  source.require_ndim(2, 2, "a 2-D array [samples x neurons]");
  target.require_ndim(2, 2, "a 2-D array [samples x neurons]");
  if (source.type() != target.type())
    act::raise<act::invalid_argument>("source is {} but target is {}; give both the same dtype",
                                      dtype_name(source.type()), dtype_name(target.type()));
  switch (source.type()) {
    case dtype::f32:
      return fit_typed<float>(method, source, target, settings);
    case dtype::f64:
      return fit_typed<double>(method, source, target, settings);
    default:
      act::raise<act::invalid_argument>(
          "source: dtype {} cannot be fitted; samples are float32 or float64 (convert first)",
          dtype_name(source.type()));
  }
}

/// For tests: how act.fit reads a 2-D array as the source (layout, whether copied, the address the fit reads).
py::dict sample_view(py::handle object) {
  const array_ref a(object, "x", false);
  a.require_ndim(2, 2, "a 2-D array");
  py::dict out;
  out["protocol"] = a.protocol();
  out["dtype"] = dtype_name(a.type());
  const auto describe_samples = [&](auto tag) {
    using T = decltype(tag);
    const samples<T> s(a);
    out["layout"] = s.copied() ? "copy" : s.layout() == matrix_layout::row_major ? "row_major" : "col_major";
    out["data"] = reinterpret_cast<std::uintptr_t>(s.data());
  };
  if (a.type() == dtype::f32)
    describe_samples(float{});
  else if (a.type() == dtype::f64)
    describe_samples(double{});
  else
    act::raise<act::invalid_argument>("x: dtype {} cannot be fitted", dtype_name(a.type()));
  return out;
}

bool same_fit(const py_fit& a, const py_fit& b) {
  if (a.method != b.method || a.support != b.support || a.source_samples != b.source_samples ||
      a.target_samples != b.target_samples || a.low_spread_neurons != b.low_spread_neurons || !a.map.equal(b.map) ||
      a.diagnostics.size() != b.diagnostics.size())
    return false;
  const py::object array_equal = py::module_::import("numpy").attr("array_equal");
  for (const auto& [key, value] : a.diagnostics)
    if (!b.diagnostics.contains(key) || !array_equal(value, b.diagnostics[key]).cast<bool>()) return false;
  return true;
}

}  // namespace

void bind_fit(py::module_& m) {
  py::class_<py_fit>(m, "Fit", "The result of act.fit: the map, per-neuron diagnostics and the sample counts.")
      .def_readonly("map", &py_fit::map,
                    "The fitted map: an act.AffineMap, or an act.QuantileMap for method 'quantile'.")
      .def_readonly(
          "diagnostics", &py_fit::diagnostics,
          "Per-neuron float64 arrays: 'r2' (R^2 of the line through the sorted pairs), 'w2_before' and "
          "'w2_after' (1-D Wasserstein-2 distance to the target before and after transport); bool 'low_spread' "
          "(below the spread floor min_std: the fallback map).")
      .def_readonly("source_samples", &py_fit::source_samples)
      .def_readonly("target_samples", &py_fit::target_samples)
      .def_readonly("method", &py_fit::method, "The registry name of the method ('linear', 'mean', ...).")
      .def_readonly("support", &py_fit::support,
                    "The support label map files record ('q0_100', 'all', ... or 'knots').")
      .def("__eq__", &same_fit, py::is_operator(), py::arg("other"),
           "Same method, support, sample counts, map (bit for bit) and diagnostics.")
      .def(py::pickle(
          [](const py_fit& f) {
            return py::make_tuple(f.map, f.diagnostics, f.source_samples, f.target_samples, f.method, f.support,
                                  f.low_spread_neurons);
          },
          [](const py::tuple& t) {
            if (t.size() != 7) act::raise<act::invalid_argument>("Fit: bad pickle state ({} items)", t.size());
            py_fit f;
            f.map = t[0];
            f.diagnostics = t[1].cast<py::dict>();
            f.source_samples = t[2].cast<Eigen::Index>();
            f.target_samples = t[3].cast<Eigen::Index>();
            f.method = t[4].cast<std::string>();
            f.support = t[5].cast<std::string>();
            f.low_spread_neurons = t[6].cast<Eigen::Index>();
            return f;
          }))
      .def("__repr__", [](const py_fit& f) {
        return "<act.Fit method='" + f.method + "' support='" + f.support +
               "' samples=" + std::to_string(f.source_samples) + "," + std::to_string(f.target_samples) +
               " map=" + describe(f.map) + ">";
      });

  m.def("fit", &fit, py::arg("method"), py::arg("source"), py::arg("target"), py::kw_only(),
        py::arg("support") = py::none(), py::arg("support_bounds") = py::none(),
        py::arg("min_std") = act::default_min_std, py::arg("knots") = act::default_knots, py::arg("threads") = 1,
        fit_doc().c_str());
  m.def("_sample_view", &sample_view, py::arg("x"), "For tests: how act.fit reads a 2-D array (layout, data address).");
}

}  // namespace act_python
