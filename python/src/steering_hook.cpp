// act._SteeringHook: the forward hook act.torch.steer registers for a site steered at every position by the
// kernel path. The common case of a decoding step (a plain CPU tensor that nothing in autograd or the caller
// holds) is steered in place here, in one call; every other case goes to act.torch's Python rule, which
// decides the same question in full. This code only ever declines: when in doubt, Python decides.

#include <cstdint>
#include <string>

#include "binding.hpp"

namespace act_python {
namespace {

/// The address of the storage a tensor views: `data` less the tensor's storage offset of `bytes`-byte
/// elements; 0 when torch does not answer.
std::uintptr_t storage_address(py::handle tensor, std::uintptr_t data, std::size_t bytes, const torch_objects& torch) {
  const py::object offset = call_method(tensor, torch.storage_offset);
  if (!offset) return 0;
  const long long elements = PyLong_AsLongLong(offset.ptr());
  if (elements == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return 0;
  }
  return data - static_cast<std::uintptr_t>(elements) * bytes;
}

/// The storage address of any tensor (see above); 0 when torch does not answer.
std::uintptr_t storage_address(py::handle tensor, const torch_objects& torch) {
  const py::object data = call_method(tensor, torch.data_ptr);
  if (!data) return 0;
  const auto address = static_cast<std::uintptr_t>(PyLong_AsUnsignedLongLong(data.ptr()));
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return 0;
  }
  std::size_t bytes = 0;
  dtype type{};
  if (torch_float_type(attribute(tensor, torch.dtype), torch, type)) {
    bytes = dtype_size(type);  // a dtype read is cheaper than a call of element_size()
  } else {
    const py::object size = call_method(tensor, torch.element_size);
    if (!size) return 0;
    bytes = PyLong_AsSize_t(size.ptr());
    if (PyErr_Occurred()) {
      PyErr_Clear();
      return 0;
    }
  }
  return storage_address(tensor, address, bytes, torch);
}

/// Whether `value` (a Python bool, or with `is_bool` false any object: true unless None) is true; true
/// when the call failed (the caller then declines).
bool flag(const py::object& value, bool is_bool) {
  if (!value) return true;
  return is_bool ? value.ptr() == Py_True : !value.is_none();
}

bool call_flag(const py::object& function, bool is_bool) {
  PyObject* result = PyObject_CallObject(function.ptr(), nullptr);
  if (result == nullptr) PyErr_Clear();
  return flag(py::reinterpret_steal<py::object>(result), is_bool);
}

class steering_hook {
 public:
  steering_hook(py::object maps, std::string site, py::object general)
      : maps_object_(std::move(maps)),
        maps_(maps_object_.cast<const py_map_set&>()),
        site_(std::move(site)),
        general_(std::move(general)) {}

  py::object operator()(py::handle /*module*/, py::handle inputs, py::handle output) const {
    if (steered_in_place(inputs, output)) return py::none();
    return general_(output, inputs);
  }

 private:
  /// Steers `output` in place and returns true when that is the whole answer: output is a torch.Tensor (not
  /// a subclass) on the CPU, no tracer runs, autograd neither records nor saved anything here (output and, in
  /// grad mode, every input need no grad), it is not nested, its rows lie at one stride (at most 2-D, or
  /// contiguous) and it shares no storage with an input.
  bool steered_in_place(py::handle inputs, py::handle output) const {
    const torch_objects* torch = torch_if_imported();
    if (torch == nullptr || Py_TYPE(output.ptr()) != reinterpret_cast<PyTypeObject*>(torch->tensor.ptr()) ||
        !PyTuple_Check(inputs.ptr()))
      return false;
    const auto tensor_type = reinterpret_cast<PyTypeObject*>(torch->tensor.ptr());
    const Py_ssize_t count = PyTuple_GET_SIZE(inputs.ptr());
    if (call_flag(torch->is_grad_enabled, true))
      for (Py_ssize_t k = 0; k < count; ++k) {
        PyObject* input = PyTuple_GET_ITEM(inputs.ptr(), k);
        if (PyObject_TypeCheck(input, tensor_type) && flag(attribute(input, torch->requires_grad), true)) return false;
      }
    if (call_flag(torch->is_tracing, torch->tracing_is_bool)) return false;
    // CPU, no grad, strided, a float type; not nested (a nested tensor has no shape or strides to read).
    const array_ref x(output, "x", array_ref::torch_only{});
    if (!x.read() || x.ndim() < 1 || x.ndim() > 4 || (x.ndim() > 2 && !x.c_contiguous())) return false;
    std::uintptr_t own = 0;
    for (Py_ssize_t k = 0; k < count; ++k) {
      PyObject* input = PyTuple_GET_ITEM(inputs.ptr(), k);
      if (input == output.ptr()) return false;
      if (!PyObject_TypeCheck(input, tensor_type)) continue;
      if (own == 0 && (own = storage_address(output, reinterpret_cast<std::uintptr_t>(x.data()), dtype_size(x.type()),
                                             *torch)) == 0)
        return false;
      const std::uintptr_t theirs = storage_address(input, *torch);
      if (theirs == 0 || theirs == own) return false;
    }
    apply_planned(maps_, site_, x, plan_apply(x, py::none(), py::none(), py::none(), 1, false));
    return true;
  }

  py::object maps_object_;  ///< keeps the MapSet alive
  const py_map_set& maps_;
  std::string site_;
  py::object general_;  ///< act.torch's rule: general(output, inputs) -> the hook's result
};

}  // namespace

void bind_steering_hook(py::module_& m) {
  py::class_<steering_hook>(m, "_SteeringHook", R"(For act.torch.steer: a forward hook (module, inputs, output)
that steers the output of one site in place with act's kernel when nothing in autograd, a tracer or the
caller holds it, and returns general(output, inputs) otherwise.)")
      .def(py::init<py::object, std::string, py::object>(), py::arg("maps"), py::arg("site"), py::arg("general"))
      .def("__call__", &steering_hook::operator(), py::arg("module"), py::arg("inputs"), py::arg("output"))
      // Copied as a function is (copy.deepcopy of a steered model shares its hooks, as with Python hooks).
      .def("__copy__", [](py::object self) { return self; })
      .def(
          "__deepcopy__", [](py::object self, py::handle /*memo*/) { return self; }, py::arg("memo"));
}

}  // namespace act_python
