#pragma once
/// \file affine_hook.hpp
/// Applies an affine map at strength lambda, in place, to activation buffers inside a forward pass.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "activations.hpp"
#include "affine_map.hpp"
#include "detail/check.hpp"
#include "detail/parallel.hpp"
#include "detail/rows.hpp"
#include "detail/storage.hpp"
#include "error.hpp"

namespace act {

/// A functor holding an affine map's coefficients fused at a strength lambda:
/// x <- (1 - lambda) x + lambda (omega x + beta) for every x inside the support; everything else
/// (including NaN) is left untouched, bit for bit. lambda = 0 touches nothing.
///
///     act::affine_hook hook(map, 0.5f);              // map: act::affine_map<float>
///     hook(act::view(buf, tokens, d));               // raw float* / Eigen::half* / Eigen::bfloat16*
///     hook(act::view(eigen_matrix));                 // any Eigen matrix with direct access
///
/// `Scalar` is the arithmetic type (float for float/half/bfloat16 buffers; double for double maps).
/// Construction copies the coefficients, so the hook outlives the map and is cheap to call.
template <class Scalar = float>
class affine_hook {
 public:
  using vector_type = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

  affine_hook() = default;

  /// Throws act::invalid_argument for a malformed map or a non-finite lambda.
  template <class MapScalar>
  affine_hook(const affine_map<MapScalar>& map, double lambda) {
    map.validate();
    omega_minus_one_ = map.omega.template cast<Scalar>() - Scalar(1);
    beta_ = map.beta.template cast<Scalar>();
    if (map.bounded()) {
      lower_ = map.lower.template cast<Scalar>();
      upper_ = map.upper.template cast<Scalar>();
    } else {
      // Infinite bounds keep one kernel for both cases; NaN still fails both comparisons.
      lower_ = vector_type::Constant(map.dim(), -std::numeric_limits<Scalar>::infinity());
      upper_ = vector_type::Constant(map.dim(), std::numeric_limits<Scalar>::infinity());
    }
    set_strength(lambda);
  }

  /// Number of neurons the hook expects per row.
  Eigen::Index dim() const { return beta_.size(); }
  double strength() const { return lambda_; }

  /// Changes lambda (re-fuses the coefficients: O(d)).
  void set_strength(double lambda) {
    detail::check_strength("affine_hook lambda", lambda);
    lambda_ = lambda;
    const Scalar l = static_cast<Scalar>(lambda);
    scale_ = Scalar(1) + l * omega_minus_one_;
    shift_ = l * beta_;
    pack();
  }

  /// Every row of `x`.
  template <class T>
  void operator()(activations<T> x) const {
    check_cols(x, "affine_hook");
    if (lambda_ == 0.0) return;
    for_rows(x, [](Eigen::Index) { return true; });
  }

  /// Every row of `x`, split into contiguous row ranges over up to `threads` threads (0 = all cores).
  /// Results are bit-identical to the single-threaded call: each element is computed the same way.
  template <class T>
  void operator()(activations<T> x, int threads) const {
    check_cols(x, "affine_hook");
    if (lambda_ == 0.0) return;
    // Small buffers are not worth a thread start (tens of microseconds).
    constexpr Eigen::Index min_elements_per_thread = Eigen::Index(1) << 16;
    detail::for_rows_threaded(x.rows, x.cols, threads, min_elements_per_thread,
                              [&](Eigen::Index begin, Eigen::Index end) { apply_row_range(x, begin, end); });
  }

  /// Rows whose `mask` entry is non-zero; `mask` has one entry per row.
  template <class T>
  void masked(activations<T> x, const std::uint8_t* mask, std::size_t mask_size) const {
    check_cols(x, "affine_hook::masked");
    detail::check_mask_size("affine_hook::masked", mask_size, x.rows);
    if (lambda_ == 0.0) return;
    for_rows(x, [mask](Eigen::Index r) { return mask[r] != 0; });
  }
  template <class T>
  void masked(activations<T> x, const std::vector<std::uint8_t>& mask) const {
    masked(x, mask.data(), mask.size());
  }

  /// The last row of each sequence, for buffers packing sequences one after another:
  /// `lengths[k]` rows belong to sequence k, and the lengths add up to the buffer's rows.
  template <class T>
  void last_rows(activations<T> x, const Eigen::Index* lengths, std::size_t sequences) const {
    check_cols(x, "affine_hook::last_rows");
    detail::check_sequence_lengths("affine_hook::last_rows", lengths, sequences, x.rows);
    if (lambda_ == 0.0) return;
    Eigen::Index end = 0;
    for (std::size_t k = 0; k < sequences; ++k) {
      end += lengths[k];
      apply_row_range(x, end - 1, end);
    }
  }
  template <class T>
  void last_rows(activations<T> x, const std::vector<Eigen::Index>& lengths) const {
    last_rows(x, lengths.data(), lengths.size());
  }

  /// One strength per row (a serving batch whose requests ask different strengths); the hook's own
  /// lambda is ignored. Rows with lambda = 0 are untouched.
  template <class T>
  void per_row(activations<T> x, const float* lambdas, std::size_t count) const {
    check_cols(x, "affine_hook::per_row");
    detail::check_row_strengths("affine_hook::per_row", lambdas, count, x.rows);
    // Runs of rows with lambda != 0 go through the blocked kernel, each row with its own strength.
    const per_row_map row_map{omega_minus_one_.data(), beta_.data(), lambdas};
    detail::for_selected_runs(x.rows, [lambdas](Eigen::Index r) { return lambdas[r] != 0.0f; },
                              [&](Eigen::Index begin, Eigen::Index end) {
                                if (x.col_stride == 1)
                                  blocked_rows(x.data, begin, end, x.row_stride, row_map);
                                else
                                  strided_rows(x, begin, end, row_map);
                              });
  }
  template <class T>
  void per_row(activations<T> x, const std::vector<float>& lambdas) const {
    per_row(x, lambdas.data(), lambdas.size());
  }

  /// Channel-spatial mode for feature maps: `data` holds `images` blocks of [channels x positions]
  /// (channel-major, e.g. C x H*W). Per image and channel, the spatial mean m is transported; when m
  /// lies in the support, T_lambda(m) - m is added to every position of that channel.
  template <class T>
  void channel_spatial(T* data, Eigen::Index images, Eigen::Index channels, Eigen::Index positions) const {
    if (channels != dim())
      detail::raise<shape_error>("affine_hook::channel_spatial: {} channels but the map has {} neurons", channels, dim());
    if (images < 0 || positions <= 0)
      detail::raise<shape_error>("affine_hook::channel_spatial: need images >= 0 and positions >= 1, got {} and {}", images,
                                 positions);
    if (lambda_ == 0.0) return;
    using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
    for (Eigen::Index i = 0; i < images; ++i)
      for (Eigen::Index c = 0; c < channels; ++c) {
        T* p = data + (i * channels + c) * positions;
        double sum = 0;
        for (Eigen::Index k = 0; k < positions; ++k) sum += static_cast<double>(static_cast<C>(p[k]));
        const C m = static_cast<C>(sum / static_cast<double>(positions));
        if (!(static_cast<C>(lower_[c]) <= m && m <= static_cast<C>(upper_[c]))) continue;
        const C delta = static_cast<C>(scale_[c] - Scalar(1)) * m + static_cast<C>(shift_[c]);
        for (Eigen::Index k = 0; k < positions; ++k) p[k] = static_cast<T>(static_cast<C>(p[k]) + delta);
      }
  }

 private:
  template <class T>
  void check_cols(const activations<T>& x, const char* who) const {
    if (x.cols != dim())
      detail::raise<shape_error>("{}: buffer is [{} x {}] but the map has {} neurons", who, x.rows, x.cols, dim());
  }

  /// Row maps for the kernels: `map(r)` is row r's element map f(c, v), `strength(r)` its lambda
  /// (per-row mode only), `per_row` selects the formula in the vector kernel.
  struct fused_map {
    static constexpr bool per_row = false;
    const Scalar* scale;
    const Scalar* shift;
    float strength(Eigen::Index) const { return 0.0f; }
    auto operator()(Eigen::Index) const {
      return [scale = scale, shift = shift](Eigen::Index c, auto v) {
        using C = decltype(v);
        return v * static_cast<C>(scale[c]) + static_cast<C>(shift[c]);
      };
    }
  };
  struct per_row_map {
    static constexpr bool per_row = true;
    const Scalar* omega_minus_one;
    const Scalar* beta;
    const float* lambdas;
    float strength(Eigen::Index r) const { return lambdas[r]; }
    auto operator()(Eigen::Index r) const {
      return [wm1 = omega_minus_one, beta = beta, l = lambdas[r]](Eigen::Index c, auto v) {
        using C = decltype(v);
        return v + static_cast<C>(l) * (static_cast<C>(wm1[c]) * v + static_cast<C>(beta[c]));
      };
    }
  };

  /// Applies rows [begin, end) of `x`, all of which are selected.
  template <class T>
  void apply_row_range(const activations<T>& x, Eigen::Index begin, Eigen::Index end) const {
    const fused_map row_map{scale_.data(), shift_.data()};
    if (x.col_stride == 1)
      blocked_rows(x.data, begin, end, x.row_stride, row_map);
    else
      strided_rows(x, begin, end, row_map);
  }

  /// Applies the rows for which selected(r) holds, grouping consecutive selected rows.
  template <class T, class Selected>
  void for_rows(const activations<T>& x, Selected selected) const {
    detail::for_selected_runs(x.rows, selected, [&](Eigen::Index begin, Eigen::Index end) { apply_row_range(x, begin, end); });
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
    using C = typename detail::storage_traits<S>::compute;
#if defined(ACT_VECTOR_KERNELS)
    if constexpr (std::is_same_v<Scalar, float> && std::is_same_v<C, float>) {
      vector_rows(data, begin, end, row_stride, row_map);
      return;
    }
#endif
    constexpr Eigen::Index row_block = 8;
    constexpr Eigen::Index col_chunk = detail::is_16bit_v<S> ? 512 : 1024;
    const Eigen::Index d = dim();
    const Scalar* lo = lower_.data();
    const Scalar* hi = upper_.data();
    for (Eigen::Index r0 = begin; r0 < end; r0 += row_block) {
      const Eigen::Index r1 = std::min(end, r0 + row_block);
      for (Eigen::Index c0 = 0; c0 < d; c0 += col_chunk) {
        const Eigen::Index n = std::min(d, c0 + col_chunk) - c0;
        const Scalar* lo_c = lo + c0;
        const Scalar* hi_c = hi + c0;
        for (Eigen::Index r = r0; r < r1; ++r) {
          const auto f = row_map(r);
          S* row = data + r * row_stride + c0;
          if constexpr (detail::is_16bit_v<S>) {
            // Widen a chunk to float, transport, narrow, then select per element between the new
            // bits and the original bits: elements outside the support (NaN included) keep theirs.
            alignas(64) std::uint16_t raw[col_chunk], out[col_chunk];
            alignas(64) float v[col_chunk], y[col_chunk];
            std::memcpy(raw, row, static_cast<std::size_t>(n) * sizeof(S));
            detail::widen<S>(raw, v, n);
            for (Eigen::Index c = 0; c < n; ++c) y[c] = f(c0 + c, v[c]);
            detail::narrow<S>(y, out, n);
            for (Eigen::Index c = 0; c < n; ++c) {
              const bool inside = (static_cast<C>(lo_c[c]) <= v[c]) & (v[c] <= static_cast<C>(hi_c[c]));
              const auto keep_new = static_cast<std::uint16_t>(-static_cast<std::uint16_t>(inside));
              out[c] = static_cast<std::uint16_t>((out[c] & keep_new) | (raw[c] & ~keep_new));
            }
            std::memcpy(row, out, static_cast<std::size_t>(n) * sizeof(S));
          } else {
            for (Eigen::Index c = 0; c < n; ++c) {
              const C v = row[c];
              const C y = f(c0 + c, v);
              // Bitwise & (not &&) keeps the body branch-free; NaN fails both comparisons.
              const bool inside = (static_cast<C>(lo_c[c]) <= v) & (v <= static_cast<C>(hi_c[c]));
              row[c] = detail::select_bits(inside, y, v);
            }
          }
        }
      }
    }
  }

  /// Neurons per packed group: one 64-byte line per coefficient.
  static constexpr Eigen::Index group = 16;
  /// Packed coefficient arrays per group, in this order: scale, shift, lower, upper, omega - 1, beta.
  static constexpr Eigen::Index group_floats = 6 * group;
  /// bfloat16 rows go 32 neurons (two groups) at a time.
  static constexpr Eigen::Index pair_group = 2 * group;

  /// Interleaves the float coefficients in groups of 16 neurons (one stream instead of six, and no
  /// 4 KB address aliasing between the coefficient arrays and the rows at d = 4096). The group count
  /// is rounded up to even (the bfloat16 kernel walks 32 neurons at a time); padding neurons get an
  /// empty support [+inf, -inf], so they never change.
  void pack() {
    if constexpr (std::is_same_v<Scalar, float>) {
      const Eigen::Index d = dim(), groups = (d + pair_group - 1) / pair_group * 2;
      packed_.assign(static_cast<std::size_t>(groups * group_floats + group), 0.0f);
      constexpr float inf = std::numeric_limits<float>::infinity();
      for (Eigen::Index c = 0; c < groups * group; ++c) {
        float* p = packed_coefficients() + (c / group) * group_floats + c % group;
        const bool real = c < d;
        p[0 * group] = real ? scale_[c] : 1.0f;
        p[1 * group] = real ? shift_[c] : 0.0f;
        p[2 * group] = real ? lower_[c] : inf;
        p[3 * group] = real ? upper_[c] : -inf;
        p[4 * group] = real ? omega_minus_one_[c] : 0.0f;
        p[5 * group] = real ? beta_[c] : 0.0f;
      }
    }
  }

  /// The packed coefficients start at the first 64-byte boundary of packed_ (which has 16 floats of
  /// slack), so that every group is one set of whole cache lines; recomputed per call because copies
  /// of the hook move the storage.
  float* packed_coefficients() { return packed_.data() + aligned_offset(); }
  const float* packed_coefficients() const { return packed_.data() + aligned_offset(); }
  std::size_t aligned_offset() const {
    const auto address = reinterpret_cast<std::uintptr_t>(packed_.data());
    return (64 - address % 64) % 64 / sizeof(float);
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
    using namespace detail::simd;
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
    const float* packed = packed_coefficients();
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
  static void transport_bf16_pairs(void* const* rows, Eigen::Index c, const float* p, const detail::simd::f32* strength) {
    using namespace detail::simd;
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
          const f32 y = per_row ? v + strength[k] * (a[q] * v + b[q]) : v * a[q] + b[q];
          const i32 inside = (lo[q] <= v) & (v <= hi[q]);
          // NaN inputs never get here: they fail the support test. The even lane's low half is
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
  /// (NaN included) keep their bits. All rows are loaded before any is stored: at a 4 KB multiple of
  /// row stride, a load issued after a store to the "same" 4 KB offset would stall on false aliasing.
  template <bool per_row, class S, int R>
  static void transport_group(void* const* rows, Eigen::Index c, const float* p, const detail::simd::f32* strength) {
    using namespace detail::simd;
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
          y = v[k] + strength[k] * (a * v[k] + b);
        else
          y = v[k] * a + b;
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
  void strided_rows(const activations<T>& x, Eigen::Index begin, Eigen::Index end, const RowMap& row_map) const {
    using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
    for (Eigen::Index c = 0; c < dim(); ++c) {
      const C lo = static_cast<C>(lower_[c]), hi = static_cast<C>(upper_[c]);
      for (Eigen::Index r = begin; r < end; ++r) {
        T& slot = x.data[r * x.row_stride + c * x.col_stride];
        const C v = static_cast<C>(slot);
        if (lo <= v && v <= hi) slot = static_cast<T>(row_map(r)(c, v));
      }
    }
  }

  double lambda_ = 0.0;
  vector_type omega_minus_one_, beta_, lower_, upper_;
  vector_type scale_, shift_;
  std::vector<float> packed_;  ///< float hooks only: see pack()
};

/// `affine_hook hook(map, lambda)` computes in the map's scalar type.
template <class MapScalar>
affine_hook(const affine_map<MapScalar>&, double) -> affine_hook<MapScalar>;

}  // namespace act
