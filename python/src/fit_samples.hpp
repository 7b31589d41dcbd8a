#pragma once
/// \file fit_samples.hpp
/// act.fit's work for one scalar type: the two arrays as Eigen samples (in place when the layout allows)
/// and the registry's act::fit without the GIL. Instantiated once per scalar (fit_float.cpp,
/// fit_double.cpp), so the two halves of the estimators' code compile in parallel.

#include <string>
#include <variant>

#include <act/estimators.hpp>

#include "binding.hpp"

namespace act_python {

template <class T>
using row_map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned,
                           Eigen::OuterStride<>>;
template <class T>
using col_map = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>, Eigen::Unaligned,
                           Eigen::OuterStride<>>;

/// A 2-D array as Eigen samples: a map of its memory when one axis is contiguous, else a copy. `like`
/// asks for one layout (the source's, for the target: both sides share a layout, which halves the
/// instantiations of every estimator); an array in the other layout is then copied once (documented).
template <class T>
class samples {
 public:
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using col_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

  explicit samples(const array_ref& a, matrix_layout::kind_type like = matrix_layout::other) : view_(map_of(a, like)) {}
  samples(const samples&) = delete;
  samples& operator=(const samples&) = delete;

  const std::variant<row_map<T>, col_map<T>>& view() const { return view_; }
  matrix_layout::kind_type layout() const {
    return view_.index() == 0 ? matrix_layout::row_major : matrix_layout::col_major;
  }
  bool copied() const { return row_copy_.size() != 0 || col_copy_.size() != 0; }
  const T* data() const {
    return std::visit([](const auto& m) { return m.data(); }, view_);
  }

 private:
  std::variant<row_map<T>, col_map<T>> map_of(const array_ref& a, matrix_layout::kind_type like) {
    const Eigen::Index rows = a.shape()[0], cols = a.shape()[1];
    const T* data = static_cast<const T*>(a.data());
    const matrix_layout layout = layout_of(a);
    if (layout.kind == matrix_layout::row_major && like != matrix_layout::col_major)
      return row_map<T>(data, rows, cols, Eigen::OuterStride<>(layout.outer_stride));
    if (layout.kind == matrix_layout::col_major && like != matrix_layout::row_major)
      return col_map<T>(data, rows, cols, Eigen::OuterStride<>(layout.outer_stride));
    const Eigen::Index s0 = a.strides()[0], s1 = a.strides()[1];
    const auto copy_into = [&](auto& m) {
      m.resize(rows, cols);
      for (Eigen::Index i = 0; i < rows; ++i)
        for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = data[i * s0 + j * s1];
    };
    if (like == matrix_layout::row_major) {
      copy_into(row_copy_);
      return row_map<T>(row_copy_.data(), rows, cols, Eigen::OuterStride<>(cols));
    }
    copy_into(col_copy_);
    return col_map<T>(col_copy_.data(), rows, cols, Eigen::OuterStride<>(rows));
  }

  row_matrix row_copy_;
  col_matrix col_copy_;
  std::variant<row_map<T>, col_map<T>> view_;
};

inline py::array_t<double> numpy_copy(const Eigen::ArrayXd& v) {
  py::array_t<double> out(v.size());
  std::copy(v.data(), v.data() + v.size(), out.mutable_data());
  return out;
}

/// act::fit on the two arrays without the GIL; the result as an act.Fit.
template <class T>
py_fit fit_typed(const std::string& method, const array_ref& source, const array_ref& target,
                 const act::fit_settings& settings) {
  const samples<T> a(source);
  const samples<T> b(target, a.layout());
  act::fit_result<act::any_map<T>> result = [&] {
    py::gil_scoped_release no_gil;
    if (const auto* rows = std::get_if<row_map<T>>(&a.view()))
      return act::fit(method, *rows, std::get<row_map<T>>(b.view()), settings);
    return act::fit(method, std::get<col_map<T>>(a.view()), std::get<col_map<T>>(b.view()), settings);
  }();
  py_fit out;
  out.method = method;
  out.support = act::support_label(act::method(method), settings);
  out.source_samples = result.source_samples;
  out.target_samples = result.target_samples;
  const act::fit_diagnostics& d = result.diagnostics;
  if (d.r2.size() != 0) out.diagnostics["r2"] = numpy_copy(d.r2);
  if (d.w2_before.size() != 0) out.diagnostics["w2_before"] = numpy_copy(d.w2_before);
  if (d.w2_after.size() != 0) out.diagnostics["w2_after"] = numpy_copy(d.w2_after);
  out.low_spread_neurons = act::low_spread_count(d);
  if (d.low_spread.size() != 0) {
    py::array_t<bool> flags(d.low_spread.size());
    std::copy(d.low_spread.data(), d.low_spread.data() + d.low_spread.size(), flags.mutable_data());
    out.diagnostics["low_spread"] = flags;
  }
  out.map = to_python(std::move(result.map));
  return out;
}

extern template py_fit fit_typed<float>(const std::string&, const array_ref&, const array_ref&,
                                        const act::fit_settings&);
extern template py_fit fit_typed<double>(const std::string&, const array_ref&, const array_ref&,
                                         const act::fit_settings&);

}  // namespace act_python
