// The extension module act._act: errors, the method registry, the version; the rest is registered by
// the other translation units (maps.cpp, fit.cpp, map_set.cpp).

#include <pybind11/pybind11.h>

#include <exception>

#include <act/core.hpp>
#include <act/core/methods.hpp>

#include "binding.hpp"

namespace act_python {
namespace {

/// The Python exception classes, created once and kept for the lifetime of the process.
struct error_classes {
  py::handle error, invalid_argument, shape_error, non_finite_error, format_error, file_error;
};
error_classes classes;

py::handle make_class(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  py::dict ns;
  ns["__module__"] = "act";
  ns["__doc__"] = doc;
  py::object type = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyType_Type));
  py::object cls = type(name, bases, ns);
  m.attr(name) = cls;
  return cls.release();  // one reference kept forever
}

py::dict method_dict(const act::method_info& info) {
  py::dict d;
  d["name"] = std::string(info.name);
  d["title"] = std::string(info.title);
  d["kind"] = info.kind == act::map_kind::affine ? "affine" : "quantile";
  d["default_support"] = info.has_support ? info.default_support.to_string() : std::string("knots");
  d["additive"] = info.additive;
  d["per_neuron"] = info.per_neuron;
  d["paired"] = info.paired;
  d["strength"] = info.strength == act::strength_meaning::interpolation ? "interpolation" : "multiplier";
  return d;
}

}  // namespace

void bind_errors(py::module_& m) {
  py::object exception = py::reinterpret_borrow<py::object>(PyExc_Exception);
  py::object value_error = py::reinterpret_borrow<py::object>(PyExc_ValueError);
  py::object os_error = py::reinterpret_borrow<py::object>(PyExc_OSError);
  classes.error = make_class(m, "Error", py::make_tuple(exception), "Base of every error act raises (act::error).");
  py::object error = py::reinterpret_borrow<py::object>(classes.error);
  classes.invalid_argument =
      make_class(m, "InvalidArgument", py::make_tuple(error, value_error),
                 "An argument is unusable: wrong value, dtype, empty input, bad option (act::invalid_argument).");
  py::object invalid = py::reinterpret_borrow<py::object>(classes.invalid_argument);
  classes.shape_error =
      make_class(m, "ShapeError", py::make_tuple(invalid), "Shapes of arguments disagree (act::shape_error).");
  classes.non_finite_error =
      make_class(m, "NonFiniteError", py::make_tuple(invalid),
                 "Samples contain NaN or Inf; the message names the first row and neuron (act::non_finite_error).");
  classes.format_error = make_class(m, "FormatError", py::make_tuple(error, value_error),
                                    "A file's content is malformed (act::format_error).");
  classes.file_error =
      make_class(m, "FileError", py::make_tuple(error, os_error),
                 "The operating system refused a file operation: open, read, write, rename (act::io_error).");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const act::non_finite_error& e) {
      PyErr_SetString(classes.non_finite_error.ptr(), e.what());
    } catch (const act::shape_error& e) {
      PyErr_SetString(classes.shape_error.ptr(), e.what());
    } catch (const act::invalid_argument& e) {
      PyErr_SetString(classes.invalid_argument.ptr(), e.what());
    } catch (const act::format_error& e) {
      PyErr_SetString(classes.format_error.ptr(), e.what());
    } catch (const act::io_error& e) {
      PyErr_SetString(classes.file_error.ptr(), e.what());
    } catch (const act::error& e) {
      PyErr_SetString(classes.error.ptr(), e.what());
    }
  });
}

}  // namespace act_python

PYBIND11_MODULE(_act, m) {
  namespace py = pybind11;
  using namespace act_python;
  m.doc() = "act's C++ core (the act package re-exports everything here).";
  m.attr("__version__") = std::to_string(ACT_VERSION_MAJOR) + "." + std::to_string(ACT_VERSION_MINOR) + "." +
                          std::to_string(ACT_VERSION_PATCH);
  bind_errors(m);
  m.def(
      "methods",
      [] {
        py::list out;
        for (const act::method_info& info : act::methods()) out.append(method_dict(info));
        return out;
      },
      "Every registered method as a dict: name, title, kind ('affine'/'quantile'), default_support, additive, "
      "per_neuron, paired (source and target rows are pairs: equal counts), strength ('interpolation' or "
      "'multiplier').");
  m.def(
      "method", [](const std::string& name) { return method_dict(act::method(name)); }, py::arg("name"),
      "The registry entry of one method (act.InvalidArgument for an unknown name).");
  bind_maps(m);
  bind_fit(m);
  bind_map_set(m);
  bind_steering_hook(m);
}
