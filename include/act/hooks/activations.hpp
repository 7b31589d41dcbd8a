#pragma once
/// \file activations.hpp
/// A non-owning view of a [rows x cols] activation buffer (tokens x neurons) in caller memory.

#include <type_traits>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/detail/kernels/storage.hpp>

namespace act {

/// Element (r, c) lives at data[r * row_stride + c * col_stride]. Hooks are fastest on row-major
/// buffers (col_stride = 1), the layout of llama.cpp-like engines.
template <class T>
struct activations {
  static_assert(detail::is_storage_v<std::remove_const_t<T>>,
                "activations are float, double, Eigen::half or Eigen::bfloat16");
  T* data = nullptr;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  Eigen::Index row_stride = 0;
  Eigen::Index col_stride = 1;
};

/// A row-major view over raw memory; `row_stride` (in elements) defaults to `cols`.
template <class T>
activations<T> view(T* data, Eigen::Index rows, Eigen::Index cols, Eigen::Index row_stride = -1) {
  if (rows < 0 || cols < 0) raise<shape_error>("view: negative shape [{} x {}]", rows, cols);
  if (row_stride < 0) row_stride = cols;
  if (row_stride < cols) raise<shape_error>("view: row stride {} is smaller than the row length {}", row_stride, cols);
  if (data == nullptr && rows * cols != 0) raise<invalid_argument>("view: null data for shape [{} x {}]", rows, cols);
  return {data, rows, cols, row_stride, 1};
}

/// A view over an Eigen object with direct memory access (Matrix, Map, Ref, blocks of them), any layout.
template <class Derived>
auto view(Eigen::DenseBase<Derived>& x) {
  static_assert(bool(Eigen::internal::traits<Derived>::Flags & Eigen::DirectAccessBit),
                "act::view needs an Eigen expression with direct memory access (Matrix, Map, Ref, Block)");
  using T = typename Derived::Scalar;
  auto& d = x.derived();
  return activations<T>{d.data(), d.rows(), d.cols(), d.rowStride(), d.colStride()};
}

/// Overload for Eigen temporaries such as `Eigen::Map<...>(ptr, r, c)` or `m.block(...)` passed inline.
template <class Derived>
auto view(Eigen::DenseBase<Derived>&& x) {
  return view(x);
}

}  // namespace act
