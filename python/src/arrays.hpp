#pragma once
/// \file arrays.hpp
/// Arrays from Python without copying: anything with the buffer protocol (NumPy) or `__dlpack__` (PyTorch,
/// JAX, CuPy, ...) becomes an `array_ref`: data pointer, element type, shape and strides in elements,
/// holding the exporter's buffer or DLPack capsule (or a plain CPU torch tensor, read through its attributes)
/// until it is destroyed (with the GIL held).

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "dlpack.hpp"

namespace act_python {

namespace py = pybind11;

/// The element types act reads and edits.
enum class dtype { f32, f64, f16, bf16 };

/// "float32", "float64", "float16", "bfloat16".
const char* dtype_name(dtype t);
/// Bytes per element.
std::size_t dtype_size(dtype t);

/// torch's objects that act reads tensors with, looked up once torch is imported; the attribute names are
/// interned strings: a name that is not interned misses CPython's attribute cache and walks torch.Tensor's
/// bases on every lookup (a per-token cost when steering). Kept for the interpreter's lifetime.
struct torch_objects {
  py::object tensor, strided, f32, f64, f16, bf16;
  py::object is_grad_enabled;  ///< torch.is_grad_enabled
  py::object is_tracing;       ///< torch._C._is_tracing (a bool), else torch._C._get_tracing_state (None or not)
  bool tracing_is_bool = false;
  py::object is_cpu, requires_grad, layout, is_neg, dtype, shape, stride, data_ptr, storage_offset, element_size;
};

/// torch's objects, or null while torch is not (fully) imported: act never imports torch itself.
const torch_objects* torch_if_imported();

/// The act type of a torch dtype object into `out`; false for other dtypes (and a null object).
bool torch_float_type(const py::object& type, const torch_objects& torch, dtype& out);

/// object.name, or null with the Python error cleared.
py::object attribute(py::handle object, const py::object& name);
/// object.name(), or null with the Python error cleared.
py::object call_method(py::handle object, const py::object& name);

/// A borrowed array. Construction never copies; it fails with act::invalid_argument (a ValueError in
/// Python) for objects that are not arrays, other element types, byte-swapped or misaligned data, read-only
/// data when writing, and tensors that are not in CPU memory.
class array_ref {
 public:
  /// `name` is the argument's name in messages ("source", "x", ...). With `writable`, the array must allow
  /// writes (buffer protocol: PyBUF_WRITABLE; DLPack has no read-only flag).
  array_ref(py::handle object, std::string name, bool writable);
  /// Reads `object` only if it is a plain strided CPU torch tensor that needs no grad (writable, as the
  /// constructor above reads it); otherwise read() is false and nothing is taken. For callers that handle
  /// every other object some other way.
  struct torch_only {};
  array_ref(py::handle object, std::string name, torch_only);
  /// Whether the torch_only constructor read a tensor (always true after the other constructor).
  bool read() const { return torch_ || view_held_ || managed_ != nullptr; }
  ~array_ref();
  array_ref(const array_ref&) = delete;
  array_ref& operator=(const array_ref&) = delete;

  const std::string& name() const { return name_; }
  dtype type() const { return type_; }
  void* data() const { return data_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  const std::vector<Eigen::Index>& shape() const { return shape_; }
  /// Strides in elements (not bytes), one per dimension.
  const std::vector<Eigen::Index>& strides() const { return strides_; }
  Eigen::Index size() const;
  /// "buffer", "torch" or "dlpack": how the array was read.
  const char* protocol() const { return view_held_ ? "buffer" : torch_ ? "torch" : "dlpack"; }
  /// Whether the elements are laid out C-contiguously (dimensions of extent 1 may have any stride).
  bool c_contiguous() const;

  /// Throws act::shape_error unless ndim() is in [lo, hi].
  void require_ndim(int lo, int hi, const char* what) const;

 private:
  void from_buffer(py::handle object, bool writable);
  void from_dlpack(py::handle object);
  /// A plain strided CPU torch tensor read through its attributes (DLPack costs more per call); false, with
  /// nothing taken, for anything else (which DLPack then reads or refuses).
  bool from_torch(py::handle object);
  void set_layout(int ndim, const std::int64_t* shape, const std::int64_t* strides, std::size_t stride_unit);
  void check_alignment() const;
  /// Gives the buffer or the DLPack tensor back (GIL held).
  void release();

  std::string name_;
  dtype type_ = dtype::f32;
  void* data_ = nullptr;
  std::vector<Eigen::Index> shape_, strides_;
  Py_buffer view_{};
  bool view_held_ = false;
  dlpack::managed_tensor* managed_ = nullptr;
  bool torch_ = false;
  py::object torch_tensor_;  ///< the tensor read by from_torch, held like a DLPack capsule
};

/// How a 2-D array can be read as an Eigen matrix without copying.
struct matrix_layout {
  enum kind_type { row_major, col_major, other } kind = other;
  Eigen::Index outer_stride = 0;  ///< in elements: between rows (row_major) or columns (col_major)
};

/// The layout of a 2-D array: row-major when the last axis is contiguous, column-major when the first is,
/// `other` for anything else (non-unit or negative inner strides), which readers copy.
matrix_layout layout_of(const array_ref& a);

}  // namespace act_python
