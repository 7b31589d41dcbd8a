#pragma once
/// \file columns.hpp
/// Per-neuron column access: copy one neuron's samples out of any Eigen expression and sort them,
/// plus quantiles of sorted samples.

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>

#include "radix_sort.hpp"

namespace act::detail {

/// Copies column `j` of `x` into `out` (resized to x.rows()). Contiguous columns are copied straight.
template <class Derived, class T>
void copy_column(const Eigen::MatrixBase<Derived>& x, Eigen::Index j, std::vector<T>& out) {
  out.resize(static_cast<std::size_t>(x.rows()));
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> dst(out.data(), x.rows());
  dst = x.col(j).template cast<T>();
}

/// Column `j` of `x`, sorted ascending, in `out`; `buffers` is the caller's (per-thread) scratch.
template <class Derived, class T>
void sorted_column(const Eigen::MatrixBase<Derived>& x, Eigen::Index j, std::vector<T>& out, radix_buffers<T>& buffers) {
  copy_column(x, j, out);
  radix_sort(out, buffers);
}

/// The p-th percentile (0..100) of ascending `sorted` values, interpolating linearly between order
/// statistics; p = 0 and p = 100 are the exact minimum and maximum.
template <class T>
double percentile_of_sorted(const std::vector<T>& sorted, double p) {
  const std::size_t n = sorted.size();
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, n - 1);
  const double frac = pos - static_cast<double>(lo);
  const double a = static_cast<double>(sorted[lo]);
  return frac == 0.0 ? a : a + frac * (static_cast<double>(sorted[hi]) - a);
}

}  // namespace act::detail
