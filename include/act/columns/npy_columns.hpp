#pragma once
/// \file npy_columns.hpp
/// A memory-mapped .npy file as a column source (columns/source.hpp): blocks of neurons are read
/// straight into the caller's scalar type, a few megabytes of the file at a time, and the pages read
/// are given back, so the resident memory stays bounded whatever the file's size.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/detail/kernels/convert.hpp>
#include <act/detail/io/text.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/io/dtype.hpp>
#include <act/io/npy_mapped.hpp>

namespace act {

/// The samples of one .npy file, read a block of neurons at a time. A 2-D array [n x d] is n samples of
/// d neurons; a 3-D array [B x T x d] is B sequences of T tokens, seen as B T rows (pool them with
/// act::pooled_columns). f32, f64, f16 and bf16, C or Fortran order.
///
///     act::npy_columns x("acts.npy");                 // mapped, nothing read yet
///     Eigen::MatrixXf block(x.rows(), 64);
///     x.read<float>(128, 64, block);                   // neurons 128..191 of every sample
class npy_columns {
 public:
  /// Bytes of the file read between two page releases.
  static constexpr std::size_t window_bytes = std::size_t(4) << 20;

  /// Maps `path`; throws as npy_mapped, and format_error naming the file for arrays that are not 2-D or
  /// 3-D, have no neurons or no tokens per sequence, or have an unsupported descr. A file truncated while it is read
  /// gives an io_error naming it (npy_mapped::guarded).
  explicit npy_columns(std::string path) : file_(std::move(path)) {
    type_ = detail::npy_descr_type(file_.descr(), file_.path());
    const auto& s = file_.shape();
    if (s.size() != 2 && s.size() != 3)
      raise<format_error>(
          "{}: expected a 2-D array [samples x neurons] or a 3-D array [sequences x tokens x neurons], got {} "
          "dimension(s)",
          file_.path(), s.size());
    file_.check_size(dtype_size(type_));
    constexpr auto most = static_cast<std::uint64_t>(std::numeric_limits<Eigen::Index>::max());
    for (const std::uint64_t v : s)
      if (v > most) raise<format_error>("{}: header field 'shape' is too large for a matrix", file_.path());
    // Zero tokens per sequence or zero neurons leave the other dimensions unproven by the file's size (no
    // bytes back them) and T = 0 would divide by zero: refuse them. Zero samples or sequences is an empty
    // shard, which is fine.
    const auto refuse_empty = [&](const char* what) {
      raise<format_error>("{}: shape ({}) has no {}: tokens per sequence and neurons must be at least 1", file_.path(),
                          detail::join_numbers(s, ", "), what);
    };
    if (s.back() == 0) refuse_empty("neurons");
    if (s.size() == 3 && s[1] == 0) refuse_empty("tokens per sequence");
    sequence_length_ = s.size() == 3 ? static_cast<Eigen::Index>(s[1]) : 1;
    rows_ = static_cast<Eigen::Index>(s[0]) * sequence_length_;
    cols_ = static_cast<Eigen::Index>(s.back());
  }

  const std::string& path() const { return file_.path(); }
  /// Samples (2-D) or tokens, sequences x tokens (3-D).
  Eigen::Index rows() const { return rows_; }
  /// Neurons.
  Eigen::Index cols() const { return cols_; }
  /// Dimensions of the array: 2 or 3.
  std::size_t dimensions() const { return file_.shape().size(); }
  /// Tokens per sequence T of a 3-D array; 1 for a 2-D one.
  Eigen::Index sequence_length() const { return sequence_length_; }

  /// Fills `out` [rows() x count] with neurons first .. first + count - 1. Throws act::invalid_argument for
  /// a range outside the array and act::non_finite_error naming the file, row and neuron of the first NaN
  /// or Inf.
  template <class Scalar>
  void read(Eigen::Index first, Eigen::Index count,
            Eigen::Ref<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> out) const {
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "samples are read as float or double");
    if (first < 0 || count < 0 || first + count > cols_ || out.rows() != rows_ || out.cols() != count)
      raise<invalid_argument>("{}: cannot read neurons [{}, {}) of [{} x {}] into [{} x {}]", path(), first,
                              first + count, rows_, cols_, out.rows(), out.cols());
    if (count == 0 || rows_ == 0) return;
    switch (type_) {
      case dtype::f32:
        read_as<float>(first, count, out);
        break;
      case dtype::f64:
        read_as<double>(first, count, out);
        break;
      case dtype::f16:
        read_as<Eigen::half>(first, count, out);
        break;
      case dtype::bf16:
        read_as<Eigen::bfloat16>(first, count, out);
        break;
    }
    if (!detail::all_finite(out)) {
      for (Eigen::Index k = 0; k < count; ++k)
        for (Eigen::Index i = 0; i < rows_; ++i)
          if (!std::isfinite(out(i, k)))
            raise<non_finite_error>("{}: non-finite value {} at row {}, neuron {} (samples must be finite)", path(),
                                    static_cast<double>(out(i, k)), i, first + k);
    }
  }

 private:
  // T is the stored type; 16-bit types are widened to float first (exactly), then to Scalar.
  template <class T, class Out>
  void read_as(Eigen::Index first, Eigen::Index count, Out& out) const {
    using stored = std::conditional_t<std::is_floating_point_v<T>, T, std::uint16_t>;
    using widened = std::conditional_t<std::is_floating_point_v<T>, T, float>;
    using row_map = Eigen::Map<const Eigen::Matrix<widened, 1, Eigen::Dynamic>>;
    const std::size_t item = sizeof(stored);
    const unsigned char* base = file_.data();
    const auto n = static_cast<std::size_t>(rows_), d = static_cast<std::size_t>(cols_);
    const bool aligned = reinterpret_cast<std::uintptr_t>(base) % alignof(stored) == 0;
    std::vector<stored> raw(aligned ? 0 : static_cast<std::size_t>(std::max(rows_, count)));
    std::vector<widened> wide(std::is_floating_point_v<T> ? 0 : static_cast<std::size_t>(std::max(rows_, count)));
    // `len` stored values at byte offset `at`, as `widened` values (in place when the types allow).
    const auto values = [&](std::size_t at, std::size_t len) -> const widened* {
      const stored* p = reinterpret_cast<const stored*>(base + at);
      if (!aligned) {
        std::memcpy(raw.data(), base + at, len * item);
        p = raw.data();
      }
      if constexpr (std::is_floating_point_v<T>) {
        return p;
      } else {
        detail::widen<T>(p, wide.data(), static_cast<std::ptrdiff_t>(len));
        return wide.data();
      }
    };
    if (file_.fortran_order() && dimensions() != 2)
      raise<format_error>("{}: 3-D arrays in Fortran order are not supported (save it in C order)", path());
    // Everything that owns memory exists before the guarded reads (a truncated file leaves them by a jump).
    file_.guarded([&] {
      if (file_.fortran_order()) {
        // Column-major: each neuron is one contiguous run of n values.
        for (Eigen::Index k = 0; k < count; ++k) {
          const std::size_t at = static_cast<std::size_t>(first + k) * n * item;
          out.col(k) = Eigen::Map<const Eigen::Matrix<widened, Eigen::Dynamic, 1>>(values(at, n), rows_)
                           .template cast<typename Out::Scalar>();
          file_.release(at, n * item);
        }
        return;
      }
      // Row-major: a window of rows at a time, then its pages are released.
      const std::size_t window_rows = std::max<std::size_t>(1, window_bytes / std::max<std::size_t>(1, d * item));
      const bool direct = aligned && std::is_floating_point_v<T>;
      for (std::size_t r0 = 0; r0 < n; r0 += window_rows) {
        const std::size_t r1 = std::min(n, r0 + window_rows);
        if (direct) {
          using block_map = Eigen::Map<const Eigen::Matrix<widened, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                       Eigen::Unaligned, Eigen::OuterStride<>>;
          const block_map src(
              reinterpret_cast<const widened*>(base + (r0 * d + static_cast<std::size_t>(first)) * item),
              static_cast<Eigen::Index>(r1 - r0), count, Eigen::OuterStride<>(cols_));
          out.middleRows(static_cast<Eigen::Index>(r0), static_cast<Eigen::Index>(r1 - r0)) =
              src.template cast<typename Out::Scalar>();
        } else {
          for (std::size_t r = r0; r < r1; ++r)
            out.row(static_cast<Eigen::Index>(r)) =
                row_map(values((r * d + static_cast<std::size_t>(first)) * item, static_cast<std::size_t>(count)),
                        count)
                    .template cast<typename Out::Scalar>();
        }
        file_.release(r0 * d * item, (r1 - r0) * d * item);
      }
    });
  }

  npy_mapped file_;
  dtype type_ = dtype::f32;
  Eigen::Index rows_ = 0, cols_ = 0, sequence_length_ = 1;
};

}  // namespace act
