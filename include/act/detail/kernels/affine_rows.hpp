#pragma once
/// \file affine_rows.hpp
/// The kernels of affine_hook: an affine map at a fixed strength (or one strength per row) applied in place
/// to rows of a buffer, elements outside the support keeping their bits. Row-major float/half/bfloat16 rows
/// go through the vector kernel on packed coefficients (affine_level.inc, compiled per act::simd level and
/// dispatched at run time); other layouts through portable loops.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/core/strength.hpp>
#include <act/detail/kernels/convert.hpp>
#include <act/detail/kernels/simd.hpp>
#include <act/detail/kernels/storage.hpp>

namespace act::detail {

/// Row maps for the portable kernels: `map(r)` is row r's element map f(c, v); `per_row` selects the
/// formula in the vector kernel.
template <class Scalar>
struct fused_map {
  static constexpr bool per_row = false;
  const Scalar* scale;
  const Scalar* shift;
  auto operator()(Eigen::Index) const {
    return [scale = scale, shift = shift](Eigen::Index c, auto v) {
      using C = decltype(v);
      return scale_shift(v, static_cast<C>(scale[c]), static_cast<C>(shift[c]));
    };
  }
};
template <class Scalar>
struct per_row_map {
  static constexpr bool per_row = true;
  const Scalar* omega_minus_one;
  const Scalar* beta;
  const float* lambdas;
  auto operator()(Eigen::Index r) const {
    return [wm1 = omega_minus_one, beta = beta, l = lambdas[r]](Eigen::Index c, auto v) {
      using C = decltype(v);
      return displace(v, static_cast<C>(wm1[c]) * v + static_cast<C>(beta[c]), static_cast<C>(l));
    };
  }
};

/// Neurons per packed group: one 64-byte line per coefficient.
inline constexpr Eigen::Index affine_group = 16;
/// Packed coefficient arrays per group, in this order: scale, shift, lower, upper, omega - 1, beta.
inline constexpr Eigen::Index affine_group_floats = 6 * affine_group;
/// bfloat16 rows go 32 neurons (two groups) at a time.
inline constexpr Eigen::Index affine_pair_group = 2 * affine_group;

/// The packed coefficients inside `packed`: its first 64-byte boundary, so that every group is one set of
/// whole cache lines. Recomputed per call because copies of the owner move the storage.
inline std::size_t aligned_packed_offset(const float* data) {
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  return (64 - address % 64) % 64 / sizeof(float);
}
inline const float* aligned_packed(const std::vector<float>& packed) {
  return packed.data() + aligned_packed_offset(packed.data());
}
inline float* aligned_packed(std::vector<float>& packed) {
  return packed.data() + aligned_packed_offset(packed.data());
}

/// The packed coefficients of a float affine hook: a vector with 16 floats of slack whose groups start at its
/// first 64-byte boundary. Where that boundary lies depends on where the storage landed, so a copy places
/// the groups at its own boundary (a plain vector copy keeps the old offset, and the copied hook read the
/// slack as coefficients). Moves keep the storage and so the offset.
class packed_coefficients {
 public:
  packed_coefficients() = default;
  packed_coefficients(const packed_coefficients& other) : values_(other.values_.size(), 0.0f) { copy_groups(other); }
  packed_coefficients& operator=(const packed_coefficients& other) {
    if (this != &other) {
      values_.assign(other.values_.size(), 0.0f);
      copy_groups(other);
    }
    return *this;
  }
  packed_coefficients(packed_coefficients&&) noexcept = default;
  packed_coefficients& operator=(packed_coefficients&&) noexcept = default;
  ~packed_coefficients() = default;

  /// The vector pack_affine fills.
  std::vector<float>& storage() { return values_; }
  /// The first group (64-byte aligned), or null before packing.
  const float* data() const { return values_.empty() ? nullptr : aligned_packed(values_); }

 private:
  void copy_groups(const packed_coefficients& other) {
    if (values_.empty()) return;
    const std::size_t groups_floats = values_.size() - static_cast<std::size_t>(affine_group);  // less the slack
    std::copy_n(aligned_packed(other.values_), groups_floats, aligned_packed(values_));
  }

  std::vector<float> values_;
};

/// Where the bfloat16 kernel's copy of the coefficients starts, after the groups of a d-neuron map.
inline Eigen::Index affine_parity_offset(Eigen::Index d) {
  return (d + affine_pair_group - 1) / affine_pair_group * 2 * affine_group_floats;
}

/// Interleaves float coefficients in groups of 16 neurons (one stream instead of six, and no 4 KB address
/// aliasing between the coefficient arrays and the rows at d = 4096) into `packed`, which gets 16 floats of
/// slack so that the groups can start at a 64-byte boundary (see aligned_packed). The group count is rounded
/// up to even; padding neurons get an empty support [+inf, -inf], so they never change. After the groups
/// (affine_parity_offset), a second copy for the bfloat16 kernel, which keeps two neighbouring neurons per
/// 32-bit lane: per 32 neurons and coefficient, the 16 even neurons then the 16 odd ones, so that it loads its
/// even and odd coefficients instead of splitting them with shuffles for every block of rows.
inline void pack_affine(std::vector<float>& packed, Eigen::Index d, const float* scale, const float* shift,
                        const float* lower, const float* upper, const float* omega_minus_one, const float* beta) {
  constexpr Eigen::Index group = affine_group, group_floats = affine_group_floats, pair_group = affine_pair_group;
  const Eigen::Index groups = (d + pair_group - 1) / pair_group * 2;
  packed.assign(static_cast<std::size_t>(2 * groups * group_floats + group), 0.0f);
  float* const base = aligned_packed(packed);
  float* const parity = base + affine_parity_offset(d);
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (Eigen::Index c = 0; c < groups * group; ++c) {
    const bool real = c < d;
    const float values[6] = {real ? scale[c] : 1.0f, real ? shift[c] : 0.0f,           real ? lower[c] : inf,
                             real ? upper[c] : -inf, real ? omega_minus_one[c] : 0.0f, real ? beta[c] : 0.0f};
    float* p = base + (c / group) * group_floats + c % group;
    const Eigen::Index j = c % pair_group;
    float* q = parity + (c / pair_group) * 2 * group_floats + (j % 2) * group + j / 2;
    for (int k = 0; k < 6; ++k) {
      p[k * group] = values[k];
      q[k * pair_group] = values[k];
    }
  }
}

}  // namespace act::detail

#define ACT_LEVEL_BODY <act/detail/kernels/affine_level.inc>
#include <act/detail/kernels/for_each_level.inc>
#undef ACT_LEVEL_BODY

namespace act::detail {

/// An affine map at one strength as the kernels read it (non-owning): per neuron the fused scale and
/// shift, the support as inclusive bounds in float and in double (detail/kernels/bounds.hpp: open and
/// closed supports, NaN and +-Inf always outside), omega - 1 and beta (per-row mode), and for float
/// coefficients the packed copy of all six.
template <class Scalar>
struct affine_kernel {
  Eigen::Index neurons = 0;
  const Scalar* scale = nullptr;
  const Scalar* shift = nullptr;
  const float* lower_float = nullptr;
  const float* upper_float = nullptr;
  const double* lower_double = nullptr;
  const double* upper_double = nullptr;
  const Scalar* omega_minus_one = nullptr;
  const Scalar* beta = nullptr;
  const float* packed = nullptr;

  /// The inclusive bounds for values computed in C (float or double).
  template <class C>
  const C* lower_in() const {
    if constexpr (std::is_same_v<C, float>)
      return lower_float;
    else
      return lower_double;
  }
  template <class C>
  const C* upper_in() const {
    if constexpr (std::is_same_v<C, float>)
      return upper_float;
    else
      return upper_double;
  }

  static constexpr Eigen::Index group = affine_group;
  static constexpr Eigen::Index group_floats = affine_group_floats;
  static constexpr Eigen::Index pair_group = affine_pair_group;

  Eigen::Index dim() const { return neurons; }

  /// Rows [begin, end) at the fused strength.
  template <class T>
  void rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end) const {
    apply(data, row_stride, col_stride, begin, end, fused_map<Scalar>{scale, shift});
  }

  /// Rows [begin, end), row r at strength lambdas[r].
  template <class T>
  void rows_per_row(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                    const float* lambdas) const {
    apply(data, row_stride, col_stride, begin, end, per_row_map<Scalar>{omega_minus_one, beta, lambdas});
  }

 private:
  template <class T, class RowMap>
  void apply(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
             const RowMap& row_map) const {
    if (col_stride == 1)
      blocked_rows(data, begin, end, row_stride, row_map);
    else
      strided_rows(data, row_stride, col_stride, begin, end, row_map);
  }

  /// Row-major kernel over rows [begin, end). `row_map(r)` gives the element map of row r,
  /// called as f(c, v) -> transported value of neuron c. Float-coefficient hooks on float, half and bfloat16
  /// rows run the vector kernel (affine_level.inc); the rest the portable loops.
  template <class T, class RowMap>
  void blocked_rows(T* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride,
                    const RowMap& row_map) const {
    using C = typename storage_traits<std::remove_const_t<T>>::compute;
#if defined(ACT_VECTOR_KERNELS)
    if constexpr (std::is_same_v<Scalar, float> && std::is_same_v<C, float>) {
      const float* lambdas = nullptr;
      if constexpr (RowMap::per_row) lambdas = row_map.lambdas;
      with_active_level([&](auto level) {
        affine_rows(level, std::bool_constant<RowMap::per_row>{}, data, row_stride, begin, end, dim(), packed, lambdas);
      });
    } else  // the portable loops are not compiled where the vector kernel serves
#endif
    {
      portable_rows(data, begin, end, row_stride, row_map);
    }
  }

  /// The portable row-major loops.
  ///
  /// At d = 4096 the four coefficient arrays (64 KB in float) do not fit L1: a loop that walks one
  /// whole row at a time reloads them from L2 for every row and runs at about half of memory speed.
  /// So rows go in blocks of `row_block` and columns in chunks of `col_chunk`: each chunk of
  /// coefficients is loaded into L1 once and reused across the rows of the block.
  /// The loop bodies are branch-free selects, so the compiler vectorises them (SSE2 upwards).
  template <class T, class RowMap>
  void portable_rows(T* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride,
                     const RowMap& row_map) const {
    using S = std::remove_const_t<T>;
    using C = typename storage_traits<S>::compute;
    constexpr Eigen::Index row_block = 8;
    constexpr Eigen::Index col_chunk = is_16bit_v<S> ? 512 : 1024;
    const Eigen::Index d = dim();
    const C* lo = lower_in<C>();
    const C* hi = upper_in<C>();
    for (Eigen::Index r0 = begin; r0 < end; r0 += row_block) {
      const Eigen::Index r1 = std::min(end, r0 + row_block);
      for (Eigen::Index c0 = 0; c0 < d; c0 += col_chunk) {
        const Eigen::Index n = std::min(d, c0 + col_chunk) - c0;
        const C* lo_c = lo + c0;
        const C* hi_c = hi + c0;
        for (Eigen::Index r = r0; r < r1; ++r) {
          const auto f = row_map(r);
          S* row = data + r * row_stride + c0;
          if constexpr (is_16bit_v<S>) {
            // Widen a chunk to float, transport, narrow, then select per element between the new
            // bits and the original bits: elements outside the support (NaN and +-Inf included) keep theirs.
            alignas(64) std::uint16_t raw[col_chunk], out[col_chunk];
            alignas(64) float v[col_chunk], y[col_chunk];
            std::memcpy(raw, row, static_cast<std::size_t>(n) * sizeof(S));
            widen<S>(raw, v, n);
            for (Eigen::Index c = 0; c < n; ++c) y[c] = f(c0 + c, v[c]);
            narrow<S>(y, out, n);
            for (Eigen::Index c = 0; c < n; ++c) {
              const bool inside = (lo_c[c] <= v[c]) & (v[c] <= hi_c[c]);
              const auto keep_new = static_cast<std::uint16_t>(-static_cast<std::uint16_t>(inside));
              out[c] = static_cast<std::uint16_t>((out[c] & keep_new) | (raw[c] & ~keep_new));
            }
            std::memcpy(row, out, static_cast<std::size_t>(n) * sizeof(S));
          } else {
            for (Eigen::Index c = 0; c < n; ++c) {
              const C v = row[c];
              const C y = f(c0 + c, v);
              // Bitwise & (not &&) keeps the body branch-free; NaN fails both comparisons.
              const bool inside = (lo_c[c] <= v) & (v <= hi_c[c]);
              row[c] = select_bits(inside, y, v);
            }
          }
        }
      }
    }
  }

  /// Any-stride fallback (column-major buffers): neuron by neuron.
  template <class T, class RowMap>
  void strided_rows(T* data, Eigen::Index row_stride, Eigen::Index col_stride, Eigen::Index begin, Eigen::Index end,
                    const RowMap& row_map) const {
    using C = typename storage_traits<std::remove_const_t<T>>::compute;
    for (Eigen::Index c = 0; c < dim(); ++c) {
      const C lo = lower_in<C>()[c], hi = upper_in<C>()[c];
      for (Eigen::Index r = begin; r < end; ++r) {
        T& slot = data[r * row_stride + c * col_stride];
        const C v = static_cast<C>(slot);
        if (lo <= v && v <= hi) slot = static_cast<T>(row_map(r)(c, v));
      }
    }
  }
};

}  // namespace act::detail
