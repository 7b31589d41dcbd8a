// act.AffineMap and act.QuantileMap: coefficients as read-only NumPy views, apply in place, transport.

#include <string>
#include <type_traits>

#include <act/hooks.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>

#include "binding.hpp"

namespace act_python {

using namespace pybind11::literals;

namespace {

/// A read-only NumPy view of `size` elements at `data` (strides in elements), kept alive by `owner`.
template <class S>
py::array readonly_view(const S* data, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides,
                        py::handle owner) {
  for (auto& s : strides) s *= static_cast<py::ssize_t>(sizeof(S));
  py::array a(py::dtype::of<S>(), std::move(shape), std::move(strides), data, owner);
  a.attr("setflags")("write"_a = false);
  return a;
}

template <class S>
py::object vector_view(const Eigen::Array<S, Eigen::Dynamic, 1>& v, py::handle owner) {
  return readonly_view(v.data(), {static_cast<py::ssize_t>(v.size())}, {1}, owner);
}

/// A [K x d] column-major knot matrix as a read-only (Fortran-ordered) NumPy view.
template <class S>
py::object knots_view(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& m, py::handle owner) {
  return readonly_view(m.data(), {static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())},
                       {1, static_cast<py::ssize_t>(m.rows())}, owner);
}

/// A 1-D array argument copied into an Eigen array of S.
template <class S>
Eigen::Array<S, Eigen::Dynamic, 1> vector_arg(py::handle object, const char* name) {
  const array_ref a(object, name, false);
  a.require_ndim(1, 1, "a 1-D array [d]");
  Eigen::Array<S, Eigen::Dynamic, 1> out(a.shape()[0]);
  const Eigen::Index stride = a.strides()[0];
  for (Eigen::Index i = 0; i < out.size(); ++i) {
    switch (a.type()) {
      case dtype::f32:
        out[i] = static_cast<S>(static_cast<const float*>(a.data())[i * stride]);
        break;
      case dtype::f64:
        out[i] = static_cast<S>(static_cast<const double*>(a.data())[i * stride]);
        break;
      case dtype::f16:
        out[i] = static_cast<S>(static_cast<float>(static_cast<const Eigen::half*>(a.data())[i * stride]));
        break;
      case dtype::bf16:
        out[i] = static_cast<S>(static_cast<float>(static_cast<const Eigen::bfloat16*>(a.data())[i * stride]));
        break;
    }
  }
  return out;
}

/// A 2-D array argument copied into a column-major Eigen matrix of S.
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> matrix_arg(py::handle object, const char* name) {
  const array_ref a(object, name, false);
  a.require_ndim(2, 2, "a 2-D array [K x d]");
  if (a.type() != dtype::f32 && a.type() != dtype::f64)
    act::raise<act::invalid_argument>("{}: dtype {}; knots are float32 or float64", name, dtype_name(a.type()));
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> out(a.shape()[0], a.shape()[1]);
  const Eigen::Index s0 = a.strides()[0], s1 = a.strides()[1];
  for (Eigen::Index j = 0; j < out.cols(); ++j)
    for (Eigen::Index i = 0; i < out.rows(); ++i)
      out(i, j) = a.type() == dtype::f32 ? static_cast<S>(static_cast<const float*>(a.data())[i * s0 + j * s1])
                                         : static_cast<S>(static_cast<const double*>(a.data())[i * s0 + j * s1]);
  return out;
}

/// float64 when the first array given is float64, float32 otherwise (float16/bfloat16 widen to float32).
bool wants_double(py::handle object, const char* name) {
  const array_ref a(object, name, false);
  return a.type() == dtype::f64;
}

template <class Map>
Map built_affine(py::handle omega, py::handle beta, py::handle lower, py::handle upper, const std::string& bounds) {
  using S = typename Map::scalar_type;
  Map m;
  m.omega = vector_arg<S>(omega, "omega");
  m.beta = vector_arg<S>(beta, "beta");
  if (lower.is_none() != upper.is_none())
    act::raise<act::invalid_argument>(
        "AffineMap: give both lower and upper (a bounded support) or neither (unbounded)");
  if (!lower.is_none()) {
    m.lower = vector_arg<S>(lower, "lower");
    m.upper = vector_arg<S>(upper, "upper");
  }
  m.bounds = act::parse_bounds(bounds, "AffineMap bounds");
  m.validate();
  return m;
}

py_affine_map make_affine(py::handle omega, py::handle beta, py::handle lower, py::handle upper,
                          const std::string& bounds) {
  py_affine_map out;
  if (wants_double(omega, "omega"))
    out.map = built_affine<act::affine_map<double>>(omega, beta, lower, upper, bounds);
  else
    out.map = built_affine<act::affine_map<float>>(omega, beta, lower, upper, bounds);
  return out;
}

py_quantile_map make_quantile(py::handle knots_source, py::handle knots_target) {
  py_quantile_map out;
  const auto build = [&](auto tag) {
    using S = decltype(tag);
    act::quantile_map<S> m{matrix_arg<S>(knots_source, "knots_source"), matrix_arg<S>(knots_target, "knots_target")};
    m.validate();
    out.map = std::move(m);
  };
  if (wants_double(knots_source, "knots_source"))
    build(double{});
  else
    build(float{});
  return out;
}

const char* dtype_of(const py_affine_map& m) { return m.map.index() == 0 ? "float32" : "float64"; }
const char* dtype_of(const py_quantile_map& m) { return m.map.index() == 0 ? "float32" : "float64"; }

/// Applies a map held by `self` (AffineMap or QuantileMap) to x in place: double maps run in double on
/// float64 arrays; everything else runs the float hook (double maps cast to float once).
template <class Holder>
void apply_map(Holder& self, py::handle x_object, py::handle strength, py::handle mask, py::handle lengths,
               int threads) {
  const array_ref x(x_object, "x", true);
  const apply_plan plan = plan_apply(x, strength, mask, lengths, threads, true);
  const bool per_row = plan.how == apply_plan::mode::per_row;  // per-row strengths ignore the hook's own
  const double lambda = per_row ? 1.0 : plan.strength;
  if (self.map.index() == 1 && x.type() == dtype::f64) {
    const auto hook = self.double_hook.at(std::get<1>(self.map), lambda, per_row);
    py::gil_scoped_release no_gil;
    run_apply(*hook, x, plan);
    return;
  }
  if (self.map.index() == 1 && !self.as_float) self.as_float = std::get<1>(self.map).template cast<float>();
  const auto& float_map = self.map.index() == 0 ? std::get<0>(self.map) : *self.as_float;
  const auto hook = self.float_hook.at(float_map, lambda, per_row);
  py::gil_scoped_release no_gil;
  run_apply(*hook, x, plan);
}

/// A new array holding a copy of x (NumPy arrays and buffers: a NumPy copy; tensors: clone()).
py::object copy_of(py::handle x) {
  if (PyObject_CheckBuffer(x.ptr()))
    return py::module_::import("numpy").attr("array")(x, "copy"_a = true, "order"_a = "K");
  if (py::hasattr(x, "clone")) {
    py::object y = x.attr("clone")();
    if (py::hasattr(y, "is_contiguous") && !y.attr("is_contiguous")().cast<bool>()) y = y.attr("contiguous")();
    return y;
  }
  act::raise<act::invalid_argument>("x: cannot copy a {} (expected a NumPy array or a tensor with clone())",
                                    std::string(py::str(py::type::handle_of(x).attr("__name__"))));
}

constexpr const char* apply_doc =
    R"(Applies the map at `strength` to x in place: T_lambda(a) = (1 - lambda) a + lambda T(a).

x: a writable float32, float64 or float16 NumPy array, or a CPU tensor through DLPack (torch float32,
  float64, float16, bfloat16), edited in place (never copied):
  [d] one row; [rows x d] (any positive strides); [batch x tokens x d] (rows at one stride);
  [N x C x H x W] (C-contiguous): channel-spatial, each image's channel mean is transported and the
  shift added to every position of that channel.
strength: a number, or one strength per row ([rows], or [batch] for a 3-D x) -- the per-row mode.
mask: one flag per row (or [batch x tokens]): only rows with a non-zero flag change.
lengths: 2-D x: packed sequence lengths adding up to the rows, only each sequence's last row changes;
  3-D x: valid tokens per sequence (padded batch), only each sequence's last valid token changes.
threads: all-rows mode only; 1 = the calling thread, 0 = all cores. The GIL is released while applying.
Elements outside the support (and NaN) keep their bits; strength 0 changes nothing. Returns x.)";

constexpr const char* transport_doc = R"(Returns a transported copy of x (same arguments as apply); x is left alone.)";

template <class Class>
void add_apply_methods(Class& c) {
  using Holder = typename Class::type;
  c.def(
       "apply",
       [](Holder& self, py::object x, py::handle strength, py::handle mask, py::handle lengths, int threads) {
         apply_map(self, x, strength, mask, lengths, threads);
         return x;  // like torch's in-place methods, so calls chain
       },
       py::arg("x"), py::arg("strength") = 1.0, py::kw_only(), py::arg("mask") = py::none(),
       py::arg("lengths") = py::none(), py::arg("threads") = 1, apply_doc)
      .def(
          "transport",
          [](Holder& self, py::handle x, py::handle strength, py::handle mask, py::handle lengths, int threads) {
            py::object y = copy_of(x);
            apply_map(self, y, strength, mask, lengths, threads);
            return y;
          },
          py::arg("x"), py::arg("strength") = 1.0, py::kw_only(), py::arg("mask") = py::none(),
          py::arg("lengths") = py::none(), py::arg("threads") = 1, transport_doc);
}

}  // namespace

py::object to_python(act::affine_map<float> map) {
  py_affine_map m;
  m.map = std::move(map);
  return py::cast(std::move(m));
}
py::object to_python(act::affine_map<double> map) {
  py_affine_map m;
  m.map = std::move(map);
  return py::cast(std::move(m));
}
py::object to_python(act::quantile_map<float> map) {
  py_quantile_map m;
  m.map = std::move(map);
  return py::cast(std::move(m));
}
py::object to_python(act::quantile_map<double> map) {
  py_quantile_map m;
  m.map = std::move(map);
  return py::cast(std::move(m));
}
py::object to_python(act::any_map<float> map) {
  return std::visit([](auto& m) { return to_python(std::move(m)); }, map);
}
py::object to_python(act::any_map<double> map) {
  return std::visit([](auto& m) { return to_python(std::move(m)); }, map);
}

act::any_map<float> float_map_of(py::handle map, const char* what) {
  if (py::isinstance<py_affine_map>(map)) {
    const auto& m = map.cast<const py_affine_map&>();
    if (m.map.index() == 0) return std::get<0>(m.map);
    return std::get<1>(m.map).cast<float>();
  }
  if (py::isinstance<py_quantile_map>(map)) {
    const auto& m = map.cast<const py_quantile_map&>();
    if (m.map.index() == 0) return std::get<0>(m.map);
    return std::get<1>(m.map).cast<float>();
  }
  act::raise<act::invalid_argument>("{}: expected an act.Fit, act.AffineMap or act.QuantileMap, got {}", what,
                                    describe(map));
}

void bind_maps(py::module_& m) {
  py::class_<py_affine_map> affine(m, "AffineMap",
                                   R"(Per-neuron affine transport map T(a) = omega a + beta, applied where a
lies in the support (lower, upper), open by default, or [lower, upper] when closed (unbounded when
lower/upper are None); NaN and +-Inf are never moved. Coefficients are read-only
NumPy arrays in the map's dtype (float32, or float64 for maps fitted on float64 samples).)");
  affine
      .def(py::init(&make_affine), py::arg("omega"), py::arg("beta"), py::arg("lower") = py::none(),
           py::arg("upper") = py::none(), py::arg("bounds") = "open",
           "A map from coefficient arrays [d] (copied; float64 if omega is float64, else float32). Give lower and "
           "upper for a bounded support; bounds 'open' (lower < a < upper, the default) or 'closed'.")
      .def_static(
          "identity",
          [](Eigen::Index d, const std::string& dtype) {
            if (dtype == "float64") return to_python(act::affine_map<double>::identity(d));
            if (dtype != "float32")
              act::raise<act::invalid_argument>("AffineMap.identity: dtype '{}' (float32 or float64)", dtype);
            return to_python(act::affine_map<float>::identity(d));
          },
          py::arg("d"), py::arg("dtype") = "float32", "The identity (omega = 1, beta = 0, unbounded) on d neurons.")
      .def_property_readonly("omega",
                             [](py::object self) {
                               return std::visit([&](const auto& mm) { return vector_view(mm.omega, self); },
                                                 self.cast<py_affine_map&>().map);
                             })
      .def_property_readonly("beta",
                             [](py::object self) {
                               return std::visit([&](const auto& mm) { return vector_view(mm.beta, self); },
                                                 self.cast<py_affine_map&>().map);
                             })
      .def_property_readonly(
          "lower",
          [](py::object self) {
            return std::visit(
                [&](const auto& mm) { return mm.bounded() ? vector_view(mm.lower, self) : py::object(py::none()); },
                self.cast<py_affine_map&>().map);
          },
          "Support lower bounds [d], or None when unbounded.")
      .def_property_readonly(
          "upper",
          [](py::object self) {
            return std::visit(
                [&](const auto& mm) { return mm.bounded() ? vector_view(mm.upper, self) : py::object(py::none()); },
                self.cast<py_affine_map&>().map);
          },
          "Support upper bounds [d], or None when unbounded.")
      .def_property_readonly(
          "bounds",
          [](const py_affine_map& self) {
            return std::visit([](const auto& mm) { return std::string(act::bounds_name(mm.bounds)); }, self.map);
          },
          "'open' (lower < a < upper) or 'closed' (lower <= a <= upper); meaningless when unbounded.")
      .def_property_readonly(
          "dim",
          [](const py_affine_map& self) { return std::visit([](const auto& mm) { return mm.dim(); }, self.map); })
      .def_property_readonly(
          "bounded",
          [](const py_affine_map& self) { return std::visit([](const auto& mm) { return mm.bounded(); }, self.map); })
      .def_property_readonly("dtype", [](const py_affine_map& self) { return py::dtype(dtype_of(self)); })
      .def("__repr__",
           [](const py_affine_map& self) {
             const bool bounded = std::visit([](const auto& mm) { return mm.bounded(); }, self.map);
             const auto d = std::visit([](const auto& mm) { return mm.dim(); }, self.map);
             return "<act.AffineMap d=" + std::to_string(d) + " " + dtype_of(self) +
                    (bounded ? " bounded>" : " unbounded>");
           })
      .def(
          "__eq__", [](const py_affine_map& a, const py_affine_map& b) { return same_map(a.map, b.map); },
          py::is_operator(), py::arg("other"), "Same dtype, coefficients, bounds and boundary rule, bit for bit.")
      .def(py::pickle(
          [](py::object self) {
            return py::make_tuple(self.attr("omega"), self.attr("beta"), self.attr("lower"), self.attr("upper"),
                                  self.attr("bounds"));
          },
          [](py::tuple t) {
            // Four entries: pickled before supports had a boundary rule, when they were closed.
            if (t.size() != 4 && t.size() != 5) act::raise<act::invalid_argument>("AffineMap: bad pickle state");
            return make_affine(t[0], t[1], t[2], t[3],
                               t.size() == 5 ? t[4].cast<std::string>() : std::string("closed"));
          }));
  add_apply_methods(affine);

  py::class_<py_quantile_map> quantile(m, "QuantileMap", R"(Per-neuron monotone piecewise-linear transport map through K
quantile knots (knots_source[k, j], knots_target[k, j]); slope 1 beyond the end knots. Knots are read-only
[K x d] NumPy arrays.)");
  quantile
      .def(py::init(&make_quantile), py::arg("knots_source"), py::arg("knots_target"),
           "A map from knot arrays [K x d], each column ascending (copied; float64 if knots_source is float64).")
      .def_property_readonly("knots_source",
                             [](py::object self) {
                               return std::visit([&](const auto& mm) { return knots_view(mm.knots_source, self); },
                                                 self.cast<py_quantile_map&>().map);
                             })
      .def_property_readonly("knots_target",
                             [](py::object self) {
                               return std::visit([&](const auto& mm) { return knots_view(mm.knots_target, self); },
                                                 self.cast<py_quantile_map&>().map);
                             })
      .def_property_readonly(
          "knots",
          [](const py_quantile_map& self) { return std::visit([](const auto& mm) { return mm.knots(); }, self.map); },
          "Knots per neuron (K).")
      .def_property_readonly(
          "dim",
          [](const py_quantile_map& self) { return std::visit([](const auto& mm) { return mm.dim(); }, self.map); })
      .def_property_readonly(
          "bounded", [](const py_quantile_map&) { return false; },
          "Always False: quantile maps have no support; they extend with slope 1 beyond their knots.")
      .def_property_readonly("dtype", [](const py_quantile_map& self) { return py::dtype(dtype_of(self)); })
      .def("__repr__",
           [](const py_quantile_map& self) {
             const auto d = std::visit([](const auto& mm) { return mm.dim(); }, self.map);
             const auto k = std::visit([](const auto& mm) { return mm.knots(); }, self.map);
             return "<act.QuantileMap d=" + std::to_string(d) + " knots=" + std::to_string(k) + " " + dtype_of(self) +
                    ">";
           })
      .def(
          "__eq__", [](const py_quantile_map& a, const py_quantile_map& b) { return same_map(a.map, b.map); },
          py::is_operator(), py::arg("other"), "Same dtype and knots, bit for bit.")
      .def(py::pickle(
          [](py::object self) { return py::make_tuple(self.attr("knots_source"), self.attr("knots_target")); },
          [](py::tuple t) {
            if (t.size() != 2) act::raise<act::invalid_argument>("QuantileMap: bad pickle state");
            return make_quantile(t[0], t[1]);
          }));
  add_apply_methods(quantile);
}

}  // namespace act_python
