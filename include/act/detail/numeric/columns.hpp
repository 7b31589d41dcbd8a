#pragma once
/// \file columns.hpp
/// Per-neuron column access: one neuron's samples out of any Eigen expression, sorted, plus
/// quantiles of sorted samples.

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/detail/kernels/column_sort.hpp>
#include <act/detail/numeric/radix_sort.hpp>

// Square transposes of SIMD packets (Eigen::internal::ptranspose) for the row-major gather, where Eigen
// vectorises and provides them for its full packets: x86 (SSE2 to AVX-512) and 64-bit ARM NEON.
#if defined(EIGEN_VECTORIZE) && (defined(EIGEN_VECTORIZE_SSE2) || (defined(EIGEN_VECTORIZE_NEON) && EIGEN_ARCH_ARM64))
#define ACT_GATHER_TILES 1
#else
#define ACT_GATHER_TILES 0
#endif

namespace act::detail {

/// One neuron's samples at a time, sorted, for a thread walking its neurons in increasing order.
/// Float samples (radix_sort_min_size to network_rows of them) are sorted `block` neurons at a time by the column
/// sort (sort_float_columns: a sorting network down the rows of a row-major block, one neuron per vector lane)
/// where the active SIMD level has one: a row-major block is copied as it lies, contiguous columns are
/// transposed into rows first, and the sorted rows are transposed back into columns.
/// Otherwise contiguous columns (column-major inputs) are radix-sorted straight from the input, and row-major
/// inputs are gathered `block` neurons at a time, row by row, so every cache line of the input is read once per
/// block instead of once per neuron (a strided copy per neuron made the fit several times slower).
/// Three details keep that gather near memory speed: the block's columns are spaced one cache line off
/// a multiple of 4 KB (at a multiple, each row's `block` stores land in one L1 set and evict each
/// other), rows are prefetched ahead (the hardware prefetchers do not follow a stride of whole pages),
/// and where Eigen vectorises, square tiles are transposed in SIMD registers. 32 neurons (two cache
/// lines of floats per row) halve the pages touched per value against 16, and the block (32 columns of
/// n samples) still sits in L2 while its columns are sorted.
template <class Derived>
class sorted_columns {
 public:
  using scalar = typename Derived::Scalar;
  static constexpr Eigen::Index block = 32;
  /// The most samples sorted by the network: its block (rows padded to a power of two) stays within 1 MB, in L2,
  /// and the network's n log^2 n compare-exchanges stay fewer than the radix sort's work.
  static constexpr Eigen::Index network_rows = 8192;

  explicit sorted_columns(const Eigen::MatrixBase<Derived>& x) : x_(x.derived()) {}

  /// Sorts column `j` ascending into sorted(); false if it holds a NaN or Inf (sorted() is then in an
  /// unspecified order). Float blocks go through the column sort; otherwise contiguous columns are sorted
  /// straight from the input, others through a copy.
  bool sort(Eigen::Index j) {
    const Eigen::Index n = x_.rows();
    column_.resize(static_cast<std::size_t>(n));
    const scalar* from = column_.data();
    if constexpr (Derived::IsRowMajor) {
      if (j < block_start_ || j >= block_start_ + block_count_) gather_block(j);
      from = block_.data() + (j - block_start_) * stride_;
    } else if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) {
      if (x_.innerStride() == 1) {
        if (j < block_start_ || j >= block_start_ + block_count_) sort_column_block(j);
        from = block_sorted_ ? block_.data() + (j - block_start_) * stride_ : x_.data() + j * x_.outerStride();
      } else {
        copy_column(j);
      }
    } else {
      copy_column(j);
    }
    if (block_sorted_) {
      std::copy(from, from + n, column_.data());
      return block_finite_[static_cast<std::size_t>(j - block_start_)];
    }
    return radix_sort_into(from, static_cast<std::size_t>(n), column_.data(), scratch_);
  }

  /// The column sort() sorted last.
  const std::vector<scalar>& sorted() const { return column_; }

 private:
  void copy_column(Eigen::Index j) {
    Eigen::Map<Eigen::Matrix<scalar, Eigen::Dynamic, 1>>(column_.data(), x_.rows()) = x_.col(j);
  }

  /// Starts the block of neurons from j: its count and the spacing of its columns in block_.
  void start_block(Eigen::Index j) {
    constexpr Eigen::Index line = 64 / sizeof(scalar), page = 4096 / sizeof(scalar);
    const Eigen::Index n = x_.rows();
    block_start_ = j;
    block_count_ = std::min(block, x_.cols() - j);
    block_sorted_ = false;
    stride_ = (n + page - 1) / page * page + line;
  }

  void gather_block(Eigen::Index j) {
    constexpr Eigen::Index ahead = 16;
    const Eigen::Index n = x_.rows();
    start_block(j);
    block_.resize(static_cast<std::size_t>(block_count_ * stride_));
#if ACT_GATHER_TILES
    if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) {
      if (x_.innerStride() == 1) {
        if (load_sorted_rows(j)) {
          block_sorted_ = true;
          spread_sorted_rows();
          return;
        }
        const Eigen::Index i = transpose_tiles(x_.data() + j, x_.outerStride(), block_count_, block_.data(), 32);
        copy_rows(x_.data() + j, x_.outerStride(), i);
        return;
      }
    }
#endif
    for (Eigen::Index i = 0; i < n; ++i) {
      if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) prefetch_row(std::min(i + ahead, n - 1), j);
      for (Eigen::Index k = 0; k < block_count_; ++k)
        block_[static_cast<std::size_t>(k * stride_ + i)] = x_.coeff(i, j + k);
    }
  }

  /// Contiguous float columns: the block's columns transposed into rows, sorted by the column sort and spread
  /// back into block_; nothing is done where the column sort does not serve (sort() then radix-sorts each
  /// column straight from the input).
  void sort_column_block([[maybe_unused]] Eigen::Index j) {
    start_block(j);
#if ACT_GATHER_TILES
    if (load_sorted_rows(j)) {
      block_.resize(static_cast<std::size_t>(block_count_ * stride_));
      block_sorted_ = true;
      spread_sorted_rows();
    }
#endif
  }

#if ACT_GATHER_TILES
  /// For float samples of radix_sort_min_size to network_rows: the block's neurons in rows of sorted_rows_ (n rows of
  /// `block` values, padded), each neuron's column sorted (sort_float_columns), and which neurons hold only finite
  /// values. False where the column sort does not serve.
  bool load_sorted_rows([[maybe_unused]] Eigen::Index j) {
    if constexpr (!std::is_same_v<scalar, float> || !bool(Derived::Flags & Eigen::DirectAccessBit)) {
      return false;
    } else {
      const Eigen::Index n = x_.rows();
      // Below radix_sort_min_size std::sort orders zeros of either sign as it likes; the network and the radix
      // sort both put -0 first, so a fit's bits do not depend on which of them sorted.
      if (n < static_cast<Eigen::Index>(radix_sort_min_size) || n > network_rows) return false;
      std::size_t rows = 16;
      while (rows < static_cast<std::size_t>(n)) rows *= 2;
      sorted_rows_.resize(rows * block);
      float* const first = sorted_rows_.data();
      const Eigen::Index ld = x_.outerStride();
      if constexpr (Derived::IsRowMajor) {
        for (Eigen::Index i = 0; i < n; ++i) {
          prefetch_row(std::min(i + 16, n - 1), j);
          std::copy(x_.data() + i * ld + j, x_.data() + i * ld + j + block_count_, first + i * block);
        }
      } else {  // the columns, transposed into rows
        const float* const from = x_.data() + j * ld;
        const Eigen::Index done = transpose_tiles(from, ld, n, first, 0, block, block_count_);
        for (Eigen::Index k = done; k < block_count_; ++k)
          for (Eigen::Index r = 0; r < n; ++r) first[r * block + k] = from[k * ld + r];
      }
      for (Eigen::Index i = 0; i < n; ++i)
        std::fill(first + i * block + block_count_, first + (i + 1) * block, column_sort_padding());
      std::fill(sorted_rows_.begin() + n * block, sorted_rows_.end(), column_sort_padding());
      if (!sort_float_columns(first, rows, block)) return false;
      for (Eigen::Index k = 0; k < block; ++k)
        block_finite_[static_cast<std::size_t>(k)] =
            std::isfinite(first[k]) && std::isfinite(first[(n - 1) * block + k]);
      return true;
    }
  }

  /// sorted_rows_ (n rows of `block`) into block_'s columns.
  void spread_sorted_rows() {
    const Eigen::Index i = transpose_tiles(sorted_rows_.data(), block, block_count_, block_.data(), 0);
    copy_rows(sorted_rows_.data(), block, i);
  }

  /// Rows from row `i` on of the row-major block at `first` (row stride ld) into block_'s columns, one value at a time.
  void copy_rows(const scalar* first, Eigen::Index ld, Eigen::Index i) {
    for (; i < x_.rows(); ++i)
      for (Eigen::Index k = 0; k < block_count_; ++k)
        block_[static_cast<std::size_t>(k * stride_ + i)] = first[i * ld + k];
  }

// Packet types carry vector attributes that template arguments drop (harmless here), and GCC 12 takes
// the undefined upper halves inside Eigen's AVX-512 ptranspose for uninitialised values.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif
  /// The first rows of the row-major region at `first` (row stride ld, `width` columns; x_.rows() rows, or `rows`)
  /// into columns (column k at to + k * to_ld, or stride_ apart), in square tiles of one SIMD packet a side: a
  /// tile's rows loaded as packets, transposed in registers (Eigen's ptranspose) and stored as column pieces,
  /// instead of one scalar store per value. Columns short of a tile are copied value by value; returns the first
  /// row left (the rows short of a tile). With prefetch_ahead, x_'s rows that far ahead are prefetched.
  Eigen::Index transpose_tiles(const scalar* first, Eigen::Index ld, Eigen::Index width, scalar* to,
                               Eigen::Index prefetch_ahead, Eigen::Index to_ld = 0, Eigen::Index rows = -1) {
    namespace ei = Eigen::internal;
    using packet = typename ei::packet_traits<scalar>::type;
    constexpr Eigen::Index size = ei::unpacket_traits<packet>::size;
    static_assert(block % size == 0, "a block is a whole number of tiles wide");
    if (to_ld == 0) to_ld = stride_;
    if (rows < 0) rows = x_.rows();
    const Eigen::Index n = rows, full_rows = n / size * size, columns = width / size * size;
    for (Eigen::Index i = 0; i < full_rows; i += size) {
      if (prefetch_ahead != 0)
        for (Eigen::Index r = 0; r < size; ++r) prefetch_row(std::min(i + prefetch_ahead + r, n - 1), block_start_);
      for (Eigen::Index c = 0; c < columns; c += size) {
        ei::PacketBlock<packet, int(size)> tile;
        for (Eigen::Index r = 0; r < size; ++r) tile.packet[r] = ei::ploadu<packet>(first + (i + r) * ld + c);
        ei::ptranspose(tile);
        for (Eigen::Index r = 0; r < size; ++r) ei::pstoreu(to + (c + r) * to_ld + i, tile.packet[r]);
      }
      for (Eigen::Index k = columns; k < width; ++k)
        for (Eigen::Index r = 0; r < size; ++r) to[k * to_ld + i + r] = first[(i + r) * ld + k];
    }
    return full_rows;
  }
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

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
  std::vector<scalar> column_, block_, sorted_rows_;
  bool block_finite_[block] = {};
  bool block_sorted_ = false;
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
