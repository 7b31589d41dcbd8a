#pragma once
/// \file columns.hpp
/// Per-neuron column access: one neuron's samples out of any Eigen expression, sorted, plus
/// quantiles of sorted samples.

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>

#include <act/detail/numeric/radix_sort.hpp>

namespace act::detail {

/// One neuron's samples at a time, sorted, for a thread walking its neurons in increasing order.
/// Column-major inputs are copied a column at a time (contiguous). Row-major inputs are gathered
/// `block` neurons at a time, row by row, so every cache line of the input is read once per block
/// instead of once per neuron (a strided copy per neuron made the fit several times slower).
template <class Derived>
class sorted_columns {
 public:
  using scalar = typename Derived::Scalar;
  static constexpr Eigen::Index block = 16;

  explicit sorted_columns(const Eigen::MatrixBase<Derived>& x) : x_(x.derived()) {}

  /// Column `j`, sorted ascending; valid until the next call.
  const std::vector<scalar>& operator()(Eigen::Index j) {
    const Eigen::Index n = x_.rows();
    column_.resize(static_cast<std::size_t>(n));
    if constexpr (Derived::IsRowMajor) {
      if (j < block_start_ || j >= block_start_ + block_count_) gather_block(j);
      const scalar* from = block_.data() + (j - block_start_) * n;
      std::copy(from, from + n, column_.begin());
    } else {
      Eigen::Map<Eigen::Matrix<scalar, Eigen::Dynamic, 1>>(column_.data(), n) = x_.col(j);
    }
    radix_sort(column_, scratch_);
    return column_;
  }

 private:
  void gather_block(Eigen::Index j) {
    const Eigen::Index n = x_.rows();
    block_start_ = j;
    block_count_ = std::min(block, x_.cols() - j);
    block_.resize(static_cast<std::size_t>(block_count_ * n));
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index k = 0; k < block_count_; ++k) block_[static_cast<std::size_t>(k * n + i)] = x_.coeff(i, j + k);
  }

  const Derived& x_;
  std::vector<scalar> column_, block_;
  Eigen::Index block_start_ = 0, block_count_ = 0;
  radix_buffers<scalar> scratch_;
};

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
