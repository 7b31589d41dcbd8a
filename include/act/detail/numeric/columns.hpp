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
/// instead of once per neuron (a strided copy per neuron made the fit several times slower). Two details
/// keep that gather near memory speed: the block's columns are spaced one cache line off a multiple of
/// 4 KB (at a multiple, each row's `block` stores land in one L1 set and evict each other), and rows are
/// prefetched ahead (the hardware prefetchers do not follow a stride of whole pages).
template <class Derived>
class sorted_columns {
 public:
  using scalar = typename Derived::Scalar;
  static constexpr Eigen::Index block = 16;

  explicit sorted_columns(const Eigen::MatrixBase<Derived>& x) : x_(x.derived()) {}

  /// Sorts column `j` ascending into sorted(); false if it holds a NaN or Inf (sorted() is then in an
  /// unspecified order). Contiguous columns are sorted straight from the input, others through a copy.
  bool sort(Eigen::Index j) {
    const Eigen::Index n = x_.rows();
    column_.resize(static_cast<std::size_t>(n));
    const scalar* from = column_.data();
    if constexpr (Derived::IsRowMajor) {
      if (j < block_start_ || j >= block_start_ + block_count_) gather_block(j);
      from = block_.data() + (j - block_start_) * stride_;
    } else if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) {
      if (x_.innerStride() == 1)
        from = x_.data() + j * x_.outerStride();
      else
        copy_column(j);
    } else {
      copy_column(j);
    }
    return radix_sort_into(from, static_cast<std::size_t>(n), column_.data(), scratch_);
  }

  /// The column sort() sorted last.
  const std::vector<scalar>& sorted() const { return column_; }

 private:
  void copy_column(Eigen::Index j) {
    Eigen::Map<Eigen::Matrix<scalar, Eigen::Dynamic, 1>>(column_.data(), x_.rows()) = x_.col(j);
  }

  void gather_block(Eigen::Index j) {
    constexpr Eigen::Index line = 64 / sizeof(scalar), page = 4096 / sizeof(scalar), ahead = 16;
    const Eigen::Index n = x_.rows();
    block_start_ = j;
    block_count_ = std::min(block, x_.cols() - j);
    stride_ = (n + page - 1) / page * page + line;
    block_.resize(static_cast<std::size_t>(block_count_ * stride_));
    for (Eigen::Index i = 0; i < n; ++i) {
      if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) prefetch_row(std::min(i + ahead, n - 1), j);
      for (Eigen::Index k = 0; k < block_count_; ++k)
        block_[static_cast<std::size_t>(k * stride_ + i)] = x_.coeff(i, j + k);
    }
  }

  /// Asks for the cache lines holding row i's entries of the block starting at column j.
  void prefetch_row([[maybe_unused]] Eigen::Index i, [[maybe_unused]] Eigen::Index j) const {
#if defined(__GNUC__)
    constexpr Eigen::Index line = 64 / sizeof(scalar);
    const scalar* first = x_.data() + i * x_.outerStride() + j * x_.innerStride();
    for (Eigen::Index k = 0; k < block_count_; k += line) __builtin_prefetch(first + k * x_.innerStride());
    __builtin_prefetch(first + (block_count_ - 1) * x_.innerStride());
#endif
  }

  const Derived& x_;
  std::vector<scalar> column_, block_;
  Eigen::Index block_start_ = 0, block_count_ = 0, stride_ = 0;
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
