#include "arrays.hpp"

#include <cstring>
#include <string_view>

#include <act/core/error.hpp>

namespace act_python {

const char* dtype_name(dtype t) {
  switch (t) {
    case dtype::f32:
      return "float32";
    case dtype::f64:
      return "float64";
    case dtype::f16:
      return "float16";
    case dtype::bf16:
      return "bfloat16";
  }
  return "?";
}

std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::f32:
      return 4;
    case dtype::f64:
      return 8;
    case dtype::f16:
    case dtype::bf16:
      return 2;
  }
  return 0;
}

namespace {

/// The text of the pending Python error, cleared.
std::string take_python_error() {
  py::error_already_set e;  // fetches and clears the error indicator
  return e.what();
}

std::string type_name(py::handle object) { return py::str(py::type::handle_of(object).attr("__name__")); }

}  // namespace

const torch_objects* torch_if_imported() {
  static const torch_objects* cached = nullptr;  // the GIL guards it
  if (cached != nullptr) return cached;
  PyObject* module = PyImport_GetModule(py::str("torch").ptr());
  if (module == nullptr) {
    PyErr_Clear();
    return nullptr;
  }
  const auto torch = py::reinterpret_steal<py::object>(module);
  for (const char* name : {"Tensor", "strided", "float32", "float64", "float16", "bfloat16", "is_grad_enabled", "_C"})
    if (!py::hasattr(torch, name)) return nullptr;  // torch still importing
  const auto interned = [](const char* name) {
    return py::reinterpret_steal<py::object>(PyUnicode_InternFromString(name));
  };
  auto* objects = new torch_objects;
  objects->tensor = torch.attr("Tensor");
  objects->strided = torch.attr("strided");
  objects->f32 = torch.attr("float32");
  objects->f64 = torch.attr("float64");
  objects->f16 = torch.attr("float16");
  objects->bf16 = torch.attr("bfloat16");
  objects->is_grad_enabled = torch.attr("is_grad_enabled");
  const py::object c = torch.attr("_C");
  objects->tracing_is_bool = py::hasattr(c, "_is_tracing");
  objects->is_tracing = c.attr(objects->tracing_is_bool ? "_is_tracing" : "_get_tracing_state");
  objects->is_cpu = interned("is_cpu");
  objects->requires_grad = interned("requires_grad");
  objects->layout = interned("layout");
  objects->is_neg = interned("is_neg");
  objects->dtype = interned("dtype");
  objects->shape = interned("shape");
  objects->stride = interned("stride");
  objects->data_ptr = interned("data_ptr");
  objects->storage_offset = interned("storage_offset");
  objects->element_size = interned("element_size");
  cached = objects;
  return cached;
}

bool torch_float_type(const py::object& type, const torch_objects& torch, dtype& out) {
  if (!type) return false;
  if (type.is(torch.f32))
    out = dtype::f32;
  else if (type.is(torch.f64))
    out = dtype::f64;
  else if (type.is(torch.f16))
    out = dtype::f16;
  else if (type.is(torch.bf16))
    out = dtype::bf16;
  else
    return false;
  return true;
}

py::object attribute(py::handle object, const py::object& name) {
  PyObject* value = PyObject_GetAttr(object.ptr(), name.ptr());
  if (value == nullptr) PyErr_Clear();
  return py::reinterpret_steal<py::object>(value);
}

py::object call_method(py::handle object, const py::object& name) {
  PyObject* value = PyObject_CallMethodObjArgs(object.ptr(), name.ptr(), nullptr);
  if (value == nullptr) PyErr_Clear();
  return py::reinterpret_steal<py::object>(value);
}

namespace {

/// The integers of a tuple (torch.Size or a stride tuple) into `out`; false if it is not a tuple of integers.
bool read_integers(const py::object& tuple, std::vector<std::int64_t>& out) {
  if (!tuple || !PyTuple_Check(tuple.ptr())) return false;
  const Py_ssize_t n = PyTuple_GET_SIZE(tuple.ptr());
  out.resize(static_cast<std::size_t>(n));
  for (Py_ssize_t k = 0; k < n; ++k) {
    const long long v = PyLong_AsLongLong(PyTuple_GET_ITEM(tuple.ptr(), k));
    if (v == -1 && PyErr_Occurred()) {
      PyErr_Clear();
      return false;
    }
    out[static_cast<std::size_t>(k)] = static_cast<std::int64_t>(v);
  }
  return true;
}

}  // namespace

array_ref::array_ref(py::handle object, std::string name, bool writable) : name_(std::move(name)) {
  try {
    if (PyObject_CheckBuffer(object.ptr()))
      from_buffer(object, writable);
    else if (from_torch(object))
      ;
    else if (py::hasattr(object, "__dlpack__"))
      from_dlpack(object);
    else
      act::raise<act::invalid_argument>(
          "{}: expected an array (a NumPy array, a CPU tensor with __dlpack__, or a buffer), got {}", name_,
          type_name(object));
    check_alignment();
  } catch (...) {
    release();  // a constructor that throws runs no destructor: give back what was taken so far
    throw;
  }
}

array_ref::array_ref(py::handle object, std::string name, torch_only) : name_(std::move(name)) {
  try {
    if (from_torch(object)) check_alignment();
  } catch (...) {
    release();
    throw;
  }
}

void array_ref::check_alignment() const {
  const auto unit = static_cast<std::uintptr_t>(dtype_size(type_));
  if (reinterpret_cast<std::uintptr_t>(data_) % unit != 0)
    act::raise<act::invalid_argument>("{}: data at {} is not aligned to its {}-byte elements", name_, data_, unit);
}

array_ref::~array_ref() { release(); }

void array_ref::release() {
  if (view_held_) PyBuffer_Release(&view_);
  view_held_ = false;
  if (managed_ != nullptr && managed_->deleter != nullptr) managed_->deleter(managed_);
  managed_ = nullptr;
  torch_tensor_ = py::object();
}

void array_ref::from_buffer(py::handle object, bool writable) {
  const int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(object.ptr(), &view_, flags) != 0) {
    const std::string why = take_python_error();
    if (writable && PyObject_GetBuffer(object.ptr(), &view_, PyBUF_STRIDES | PyBUF_FORMAT) == 0) {
      PyBuffer_Release(&view_);
      act::raise<act::invalid_argument>(
          "{}: the array is read-only; apply edits in place (transport returns a new array)", name_);
    }
    PyErr_Clear();
    act::raise<act::invalid_argument>("{}: cannot read the buffer: {}", name_, why);
  }
  view_held_ = true;
  std::string_view format = view_.format != nullptr ? view_.format : "B";
  // Native or little-endian (this is a little-endian build) standard sizes only.
  if (!format.empty() && (format[0] == '@' || format[0] == '=' || format[0] == '<')) format.remove_prefix(1);
  if (format == "f" && view_.itemsize == 4)
    type_ = dtype::f32;
  else if (format == "d" && view_.itemsize == 8)
    type_ = dtype::f64;
  else if (format == "e" && view_.itemsize == 2)
    type_ = dtype::f16;
  else
    act::raise<act::invalid_argument>("{}: element format '{}' ({} bytes) is not float32, float64 or float16", name_,
                                      view_.format != nullptr ? view_.format : "B", view_.itemsize);
  data_ = view_.buf;
  std::vector<std::int64_t> shape(static_cast<std::size_t>(view_.ndim)), strides(shape.size());
  for (int k = 0; k < view_.ndim; ++k) {
    shape[static_cast<std::size_t>(k)] = view_.shape[k];
    strides[static_cast<std::size_t>(k)] = view_.strides[k];
  }
  set_layout(view_.ndim, shape.data(), strides.data(), static_cast<std::size_t>(view_.itemsize));
}

bool array_ref::from_torch(py::handle object) {
  const torch_objects* torch = torch_if_imported();
  if (torch == nullptr || !PyObject_TypeCheck(object.ptr(), reinterpret_cast<PyTypeObject*>(torch->tensor.ptr())))
    return false;
  // Tensors that need grad, live elsewhere or are sparse go to DLPack, which refuses them with its own messages;
  // anything unexpected in the answers too (a torch act does not know: DLPack decides).
  const py::object is_cpu = attribute(object, torch->is_cpu), requires_grad = attribute(object, torch->requires_grad),
                   layout = attribute(object, torch->layout);
  if (!is_cpu || is_cpu.ptr() != Py_True || !requires_grad || requires_grad.ptr() != Py_False || !layout ||
      !layout.is(torch->strided))
    return false;
  if (!torch_float_type(attribute(object, torch->dtype), *torch, type_)) return false;
  // A lazy negation is not in the bytes (and torch 1.13's DLPack export ignores it). The conjugation bit
  // exists only on complex tensors, which act does not read.
  const py::object negated = call_method(object, torch->is_neg);
  if (!negated) return false;
  if (negated.ptr() != Py_False)
    act::raise<act::invalid_argument>(
        "{}: the tensor carries torch's lazy negation bit, which its memory does not hold; call .resolve_neg() first",
        name_);
  std::vector<std::int64_t> shape, strides;
  if (!read_integers(attribute(object, torch->shape), shape) ||
      !read_integers(call_method(object, torch->stride), strides) || shape.size() != strides.size())
    return false;
  const py::object address = call_method(object, torch->data_ptr);
  if (!address || !PyLong_Check(address.ptr())) return false;
  void* data = PyLong_AsVoidPtr(address.ptr());
  if (data == nullptr && PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  data_ = data;
  torch_ = true;
  torch_tensor_ = py::reinterpret_borrow<py::object>(object);
  set_layout(static_cast<int>(shape.size()), shape.data(), strides.data(), 1);
  return true;
}

void array_ref::from_dlpack(py::handle object) {
  // Ask where the tensor lives before asking for it: exporting a GPU tensor may synchronise a stream. torch
  // tensors answer through is_cpu, about 50 times faster than __dlpack_device__ (a per-token cost when steering).
  bool known_cpu = false;
  if (PyObject* flag = PyObject_GetAttrString(object.ptr(), "is_cpu")) {
    known_cpu = flag == Py_True;
    Py_DECREF(flag);
  } else {
    PyErr_Clear();
  }
  if (!known_cpu && py::hasattr(object, "__dlpack_device__")) {
    py::tuple device;
    try {
      device = py::tuple(object.attr("__dlpack_device__")());
    } catch (py::error_already_set& e) {
      act::raise<act::invalid_argument>("{}: __dlpack_device__ failed: {}", name_, e.what());
    }
    const int type = py::int_(device[0]);
    if (type != dlpack::cpu)
      act::raise<act::invalid_argument>(
          "{}: the tensor is on DLPack device type {} (id {}), not in CPU memory; act's C++ kernels edit CPU memory in "
          "place (for torch tensors on any device use act.torch.apply, or copy with .cpu(), apply, and copy back)",
          name_, type, py::int_(device[1]).cast<int>());
  }
  py::object capsule;
  try {
    capsule = object.attr("__dlpack__")();
  } catch (py::error_already_set& e) {
    act::raise<act::invalid_argument>("{}: __dlpack__ failed: {}", name_, e.what());
  }
  if (!PyCapsule_IsValid(capsule.ptr(), dlpack::capsule_name))
    act::raise<act::invalid_argument>("{}: __dlpack__ did not return an unused \"dltensor\" capsule", name_);
  auto* managed = static_cast<dlpack::managed_tensor*>(PyCapsule_GetPointer(capsule.ptr(), dlpack::capsule_name));
  if (managed == nullptr)
    act::raise<act::invalid_argument>("{}: cannot read the DLPack capsule: {}", name_, take_python_error());
  // Taking ownership: from here on the deleter is ours to call (in the destructor).
  if (PyCapsule_SetName(capsule.ptr(), dlpack::used_capsule_name) != 0)
    act::raise<act::invalid_argument>("{}: cannot take the DLPack capsule: {}", name_, take_python_error());
  managed_ = managed;
  const dlpack::tensor& t = managed->dl_tensor;
  if (t.dev.type != dlpack::cpu)
    act::raise<act::invalid_argument>("{}: the tensor is on DLPack device type {} (id {}), not in CPU memory", name_,
                                      t.dev.type, t.dev.id);
  if (t.dtype.lanes != 1)
    act::raise<act::invalid_argument>("{}: vector elements ({} lanes) are not supported", name_, t.dtype.lanes);
  if (t.dtype.code == dlpack::floating && t.dtype.bits == 32)
    type_ = dtype::f32;
  else if (t.dtype.code == dlpack::floating && t.dtype.bits == 64)
    type_ = dtype::f64;
  else if (t.dtype.code == dlpack::floating && t.dtype.bits == 16)
    type_ = dtype::f16;
  else if (t.dtype.code == dlpack::bfloat && t.dtype.bits == 16)
    type_ = dtype::bf16;
  else {
    static const char* codes[] = {"int", "uint", "float", "handle", "bfloat", "complex", "bool"};
    act::raise<act::invalid_argument>("{}: element type {}{} is not float32, float64, float16 or bfloat16", name_,
                                      t.dtype.code < 7 ? codes[t.dtype.code] : "code", t.dtype.bits);
  }
  if (t.ndim < 0) act::raise<act::invalid_argument>("{}: negative ndim {}", name_, t.ndim);
  data_ = static_cast<char*>(t.data) + t.byte_offset;
  std::vector<std::int64_t> compact;
  const std::int64_t* strides = t.strides;
  if (strides == nullptr) {  // compact row-major
    compact.assign(static_cast<std::size_t>(t.ndim), 1);
    for (int k = t.ndim - 2; k >= 0; --k)
      compact[static_cast<std::size_t>(k)] = compact[static_cast<std::size_t>(k) + 1] * t.shape[k + 1];
    strides = compact.data();
  }
  set_layout(t.ndim, t.shape, strides, 1);
}

void array_ref::set_layout(int ndim, const std::int64_t* shape, const std::int64_t* strides, std::size_t stride_unit) {
  shape_.resize(static_cast<std::size_t>(ndim));
  strides_.resize(static_cast<std::size_t>(ndim));
  for (int k = 0; k < ndim; ++k) {
    const auto i = static_cast<std::size_t>(k);
    if (shape[k] < 0) act::raise<act::invalid_argument>("{}: negative extent {} in dimension {}", name_, shape[k], k);
    const auto unit = static_cast<std::int64_t>(stride_unit);
    if (strides[k] % unit != 0)
      act::raise<act::invalid_argument>("{}: stride {} bytes in dimension {} is not a whole number of elements", name_,
                                        strides[k], k);
    shape_[i] = static_cast<Eigen::Index>(shape[k]);
    strides_[i] = static_cast<Eigen::Index>(strides[k] / unit);
  }
}

Eigen::Index array_ref::size() const {
  Eigen::Index n = 1;
  for (const Eigen::Index e : shape_) n *= e;
  return n;
}

bool array_ref::c_contiguous() const {
  Eigen::Index expected = 1;
  for (int k = ndim() - 1; k >= 0; --k) {
    const auto i = static_cast<std::size_t>(k);
    if (shape_[i] != 1 && strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void array_ref::require_ndim(int lo, int hi, const char* what) const {
  if (ndim() < lo || ndim() > hi) {
    std::string shape;
    for (const Eigen::Index e : shape_) shape += (shape.empty() ? "" : ", ") + std::to_string(e);
    act::raise<act::shape_error>("{}: expected {}, got an array of shape [{}]", name_, what, shape);
  }
}

matrix_layout layout_of(const array_ref& a) {
  const Eigen::Index rows = a.shape()[0], cols = a.shape()[1];
  const Eigen::Index s0 = a.strides()[0], s1 = a.strides()[1];
  // A dimension of extent <= 1 is never stepped through, so its stride does not matter.
  if ((cols <= 1 || s1 == 1) && (rows <= 1 || s0 >= cols)) return {matrix_layout::row_major, rows <= 1 ? cols : s0};
  if ((rows <= 1 || s0 == 1) && (cols <= 1 || s1 >= rows)) return {matrix_layout::col_major, cols <= 1 ? rows : s1};
  return {matrix_layout::other, 0};
}

}  // namespace act_python
