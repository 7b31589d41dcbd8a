#pragma once
/// \file affine_rows.hpp
/// The kernels of affine_hook: an affine map at a fixed strength (or one strength per row) applied in place
/// to rows of a buffer, elements outside the support keeping their bits. Row-major float/half/bfloat16 rows
/// go through the vector kernel on packed coefficients; other layouts through portable loops.

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

/// Row maps for the kernels: `map(r)` is row r's element map f(c, v), `strength(r)` its lambda
/// (per-row mode only), `per_row` selects the formula in the vector kernel.
template <class Scalar>
struct fused_map {
  static constexpr bool per_row = false;
  const Scalar* scale;
  const Scalar* shift;
  float strength(Eigen::Index) const { return 0.0f; }
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
  float strength(Eigen::Index r) const { return lambdas[r]; }
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
inline const float* aligned_packed(const std::vector<float>& packed) { return packed.data() + aligned_packed_offset(packed.data()); }
inline float* aligned_packed(std::vector<float>& packed) { return packed.data() + aligned_packed_offset(packed.data()); }

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

/// Interleaves float coefficients in groups of 16 neurons (one stream instead of six, and no 4 KB address
/// aliasing between the coefficient arrays and the rows at d = 4096) into `packed`, which gets 16 floats of
/// slack so that the groups can start at a 64-byte boundary (see aligned_packed). The group count is rounded
/// up to even (the bfloat16 kernel walks 32 neurons at a time); padding neurons get an empty support
/// [+inf, -inf], so they never change.
inline void pack_affine(std::vector<float>& packed, Eigen::Index d, const float* scale, const float* shift, const float* lower,
                        const float* upper, const float* omega_minus_one, const float* beta) {
  constexpr Eigen::Index group = affine_group, group_floats = affine_group_floats, pair_group = affine_pair_group;
  const Eigen::Index groups = (d + pair_group - 1) / pair_group * 2;
  packed.assign(static_cast<std::size_t>(groups * group_floats + group), 0.0f);
  float* const base = aligned_packed(packed);
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (Eigen::Index c = 0; c < groups * group; ++c) {
    float* p = base + (c / group) * group_floats + c % group;
    const bool real = c < d;
    p[0 * group] = real ? scale[c] : 1.0f;
    p[1 * group] = real ? shift[c] : 0.0f;
    p[2 * group] = real ? lower[c] : inf;
    p[3 * group] = real ? upper[c] : -inf;
    p[4 * group] = real ? omega_minus_one[c] : 0.0f;
    p[5 * group] = real ? beta[c] : 0.0f;
  }
}

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
    if constexpr (std::is_same_v<C, float>) return lower_float; else return lower_double;
  }
  template <class C>
  const C* upper_in() const {
    if constexpr (std::is_same_v<C, float>) return upper_float; else return upper_double;
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
  /// called as f(c, v) -> transported value of neuron c.
  ///
  /// At d = 4096 the four coefficient arrays (64 KB in float) do not fit L1: a loop that walks one
  /// whole row at a time reloads them from L2 for every row and runs at about half of memory speed.
  /// So rows go in blocks of `row_block` and columns in chunks of `col_chunk`: each chunk of
  /// coefficients is loaded into L1 once and reused across the rows of the block.
  /// The loop bodies are branch-free selects, so the compiler vectorises them (SSE2 upwards).
  template <class T, class RowMap>
  void blocked_rows(T* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride, const RowMap& row_map) const {
    using S = std::remove_const_t<T>;
    using C = typename storage_traits<S>::compute;
#if defined(ACT_VECTOR_KERNELS)
    if constexpr (std::is_same_v<Scalar, float> && std::is_same_v<C, float>) {
      vector_rows(data, begin, end, row_stride, row_map);
      return;
    }
#endif
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

#if defined(ACT_VECTOR_KERNELS)
  /// Vector kernel for float coefficients on float/half/bfloat16 rows. Rows go eight at a time: each
  /// vector of coefficients is loaded once and applied to all eight (the reuse that reaches memory
  /// speed; the coefficients of a whole row, 96 KB at d = 4096, stream from L2). Blocking further for
  /// L1 (16 rows, 512-neuron chunks) measured no faster.
  template <class S, class RowMap>
  void vector_rows(S* data, Eigen::Index begin, Eigen::Index end, Eigen::Index row_stride, const RowMap& row_map) const {
    constexpr int rows_at_once = 8;
    Eigen::Index r = begin;
    for (; r + rows_at_once <= end; r += rows_at_once) vector_groups<rows_at_once>(data, r, row_stride, row_map);
    for (; r < end; ++r) vector_groups<1>(data, r, row_stride, row_map);
  }

  /// Rows r .. r + R - 1, all neurons.
  template <int R, class S, class RowMap>
  void vector_groups(S* data, Eigen::Index r, Eigen::Index row_stride, const RowMap& row_map) const {
    using namespace simd;
    constexpr bool pairs = std::is_same_v<S, Eigen::bfloat16>;
    constexpr Eigen::Index width = pairs ? pair_group : group;
    void* rows[R];
    f32 strength[R];
    for (int k = 0; k < R; ++k) {
      rows[k] = data + (r + k) * row_stride;
      strength[k] = f32{} + row_map.strength(r + k);
    }
    const auto transport = [&](void* const* at, Eigen::Index c, const float* p) {
      if constexpr (pairs)
        transport_bf16_pairs<RowMap::per_row, R>(at, c, p, strength);
      else
        transport_group<RowMap::per_row, S, R>(at, c, p, strength);
    };
    const Eigen::Index d = dim(), groups = (d + width - 1) / width;
    
    for (Eigen::Index g = 0; g < groups; ++g) {
      const Eigen::Index c = g * width;
      const float* p = packed + g * (width / group) * group_floats;
      if (c + width <= d) {
        transport(rows, c, p);
      } else {
        // The last, partial group goes through zeroed copies so that no lane reads past a row.
        const auto bytes = static_cast<std::size_t>(d - c) * sizeof(S);
        alignas(64) unsigned char tmp[R][width * sizeof(S)] = {};
        void* tmp_rows[R];
        for (int k = 0; k < R; ++k) {
          std::memcpy(tmp[k], static_cast<S*>(rows[k]) + c, bytes);
          tmp_rows[k] = tmp[k];
        }
        transport(tmp_rows, 0, p);
        for (int k = 0; k < R; ++k) std::memcpy(static_cast<S*>(rows[k]) + c, tmp[k], bytes);
      }
    }
  }

  /// Neurons c .. c + 31 of R bfloat16 rows, coefficients from the two packed groups at `p`. A 32-bit
  /// lane holds two neighbouring neurons: the even one widens with a shift, the odd one with a mask,
  /// and the results are rounded in place and merged back, so the rows need no lane shuffles (the
  /// coefficients are split by parity once per R rows). Same rules as transport_group.
  template <bool per_row, int R>
  static void transport_bf16_pairs(void* const* rows, Eigen::Index c, const float* p, const simd::f32* strength) {
    using namespace simd;
    // Coefficient k of `lanes` neurons from neuron n of the 32 on: they sit in one packed group.
    const auto coefficient = [p](int k, Eigen::Index n, f32& out) {
      load(p + (n / group) * group_floats + k * group + n % group, out);
    };
    for (Eigen::Index n = 0; n < pair_group; n += 2 * lanes) {
      f32 a[2], b[2], lo[2], hi[2];
      const auto split = [&](int k, f32* out) {
        f32 first, second;
        coefficient(k, n, first);
        coefficient(k, n + lanes, second);
        deinterleave(first, second, out[0], out[1]);
      };
      split(per_row ? 4 : 0, a);
      split(per_row ? 5 : 1, b);
      split(2, lo);
      split(3, hi);
      const auto at = [&](int k) { return static_cast<char*>(rows[k]) + 2 * (c + n); };
      u32 w[R];
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) std::memcpy(&w[k], at(k), sizeof(u32));
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) {
        u32 merged[2];
        for (int q = 0; q < 2; ++q) {
          const u32 bits = q == 0 ? w[k] << 16 : w[k] & 0xffff0000u;
          const f32 v = (f32)(bits);
          const f32 y = per_row ? displace(v, a[q] * v + b[q], strength[k]) : scale_shift(v, a[q], b[q]);
          const i32 inside = (lo[q] <= v) & (v <= hi[q]);
          // NaN and +-Inf inputs never get here: they fail the support test. The even lane's low half is
          // shifted out below; only the odd lane needs it cleared.
          u32 moved;
          round_bf16_high_non_nan(y, moved);
          if (q == 1) moved &= 0xffff0000u;
          merged[q] = inside ? moved : bits;
        }
        w[k] = (merged[0] >> 16) | merged[1];
      }
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) std::memcpy(at(k), &w[k], sizeof(u32));
    }
  }

  /// Neurons c .. c + 15 of R rows (storage S), coefficients from packed group `p`:
  /// y = v * scale + shift, or v + l ((omega - 1) v + beta) per row; values outside [lo, hi]
  /// (NaN and +-Inf included) keep their bits. All rows are loaded before any is stored: at a 4 KB multiple of
  /// row stride, a load issued after a store to the "same" 4 KB offset would stall on false aliasing.
  template <bool per_row, class S, int R>
  static void transport_group(void* const* rows, Eigen::Index c, const float* p, const simd::f32* strength) {
    using namespace simd;
    for (int lane0 = 0; lane0 < group; lane0 += lanes) {
      f32 a, b, lo, hi;
      load(p + (per_row ? 4 : 0) * group + lane0, a);
      load(p + (per_row ? 5 : 1) * group + lane0, b);
      load(p + 2 * group + lane0, lo);
      load(p + 3 * group + lane0, hi);
      f32 v[R];
      u16 raw[R];
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) {
        S* x = static_cast<S*>(rows[k]) + c + lane0;
        if constexpr (std::is_same_v<S, float>) {
          std::memcpy(&v[k], x, sizeof(f32));
        } else {
          load(x, raw[k]);
          if constexpr (std::is_same_v<S, Eigen::bfloat16>)
            widen_bf16(raw[k], v[k]);
          else
            widen_half(raw[k], v[k]);
        }
      }
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) {
        f32 y;
        if constexpr (per_row)
          y = displace(v[k], a * v[k] + b, strength[k]);
        else
          y = scale_shift(v[k], a, b);
        const i32 inside = (lo <= v[k]) & (v[k] <= hi);
        if constexpr (std::is_same_v<S, float>) {
          select(inside, y, v[k], v[k]);
        } else {
          u16 moved;
          if constexpr (std::is_same_v<S, Eigen::bfloat16>)
            narrow_bf16(y, moved);
          else
            narrow_half(y, moved);
          const u16 keep = __builtin_convertvector(inside, u16);  // -1 -> 0xffff
          raw[k] = (moved & keep) | (raw[k] & ~keep);
        }
      }
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) {
        S* x = static_cast<S*>(rows[k]) + c + lane0;
        if constexpr (std::is_same_v<S, float>)
          std::memcpy(x, &v[k], sizeof(f32));
        else
          store(x, raw[k]);
      }
    }
  }
#endif

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
