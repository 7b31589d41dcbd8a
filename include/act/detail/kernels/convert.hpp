#pragma once
/// \file convert.hpp
/// Exact conversions between 16-bit storage (half, bfloat16) and float, one value or a block at a time,
/// written so that the compiler vectorises the block loops. They give bit for bit what Eigen's scalar
/// conversions give (round to nearest even, NaN stays NaN).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <Eigen/Core>

#include <act/detail/kernels/storage.hpp>

namespace act::detail {

inline float float_from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline std::uint32_t bits_from_float(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

/// `pick ? a : b` through an integer mask. GCC 12 (with its default -ftrapping-math) will not
/// vectorise a loop with a floating-point `?:`, but it does vectorise this; the bits are exact.
template <class F>
F select_bits(bool pick, F a, F b) {
  static_assert(std::is_floating_point_v<F>);
  using U = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;
  U ua, ub;
  std::memcpy(&ua, &a, sizeof a);
  std::memcpy(&ub, &b, sizeof b);
  const U mask = U(0) - static_cast<U>(pick);
  const U out = (ua & mask) | (ub & ~mask);
  F f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

/// bfloat16 bits -> float: the bfloat16 is the float's upper half, so this is exact.
inline float bf16_bits_to_float(std::uint16_t h) { return float_from_bits(static_cast<std::uint32_t>(h) << 16); }

/// float -> bfloat16 bits, round to nearest even; NaN becomes the quiet NaN 0x7fc0 with the sign kept
/// (Eigen's rule, so the result cannot round into an infinity). Written without branches so that a
/// loop over it vectorises.
inline std::uint16_t float_to_bf16_bits(float f) {
  const std::uint32_t u = bits_from_float(f);
  // Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even; finite values cannot wrap.
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t nan = ((u >> 16) & 0x8000u) | 0x7fc0u;
  const bool is_nan = (u & 0x7fffffffu) > 0x7f800000u;
  return static_cast<std::uint16_t>(is_nan ? nan : rounded);
}

/// IEEE half bits -> float, exact (subnormals, infinities and NaN payloads included); the same
/// arithmetic as Eigen's software path, branch-free.
inline float half_bits_to_float_soft(std::uint16_t h) {
  constexpr std::uint32_t shifted_exp = 0x7c00u << 13;
  std::uint32_t o = (static_cast<std::uint32_t>(h) & 0x7fffu) << 13;
  const std::uint32_t exp = shifted_exp & o;
  o += (127u - 15u) << 23;
  const std::uint32_t special = o + ((128u - 16u) << 23);  // Inf/NaN: exponent all ones
  // Zero/subnormal: renormalise through a float subtraction (exact: the result is representable).
  const std::uint32_t tiny = bits_from_float(float_from_bits(o + (1u << 23)) - float_from_bits(113u << 23));
  o = exp == shifted_exp ? special : (exp == 0 ? tiny : o);
  return float_from_bits(o | ((static_cast<std::uint32_t>(h) & 0x8000u) << 16));
}

/// float -> IEEE half bits, round to nearest even, overflow to infinity, NaN to the quiet NaN 0x7e00
/// with the sign kept: Eigen's software path, branch-free.
inline std::uint16_t float_to_half_bits_soft(float ff) {
  std::uint32_t f = bits_from_float(ff);
  const std::uint32_t sign = f & 0x80000000u;
  f ^= sign;
  constexpr std::uint32_t f32_infinity = 255u << 23;
  constexpr std::uint32_t f16_max = (127u + 16u) << 23;
  constexpr std::uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  const std::uint32_t overflow = f > f32_infinity ? 0x7e00u : 0x7c00u;
  // Subnormal results: adding the magic float aligns the 10 kept bits at the bottom, and the FPU's
  // round to nearest even does the rounding. The values involved are below 2^-14, far from overflow.
  const std::uint32_t subnormal = bits_from_float(float_from_bits(f) + float_from_bits(denorm_magic)) - denorm_magic;
  // Normal results: rebias the exponent and round to nearest even on bit 13 (wraps modulo 2^32 by design).
  const std::uint32_t normal = (f + 0xc8000fffu + ((f >> 13) & 1u)) >> 13;
  const std::uint32_t o = f >= f16_max ? overflow : (f < (113u << 23) ? subnormal : normal);
  return static_cast<std::uint16_t>((o & 0xffffu) | (sign >> 16));
}

/// Converts `n` 16-bit values (raw bits of T) to float; equal bit for bit to Eigen's `static_cast<float>`.
template <class T>
void widen(const std::uint16_t* src, float* dst, std::ptrdiff_t n) {
  static_assert(is_16bit_v<T>);
  std::ptrdiff_t i = 0;
  if constexpr (std::is_same_v<T, Eigen::bfloat16>) {
    for (; i < n; ++i) dst[i] = bf16_bits_to_float(src[i]);
  } else {
#if defined(EIGEN_HAS_FP16_C)
    // Eigen converts with F16C here, so we use the same instructions eight at a time.
    for (; i + 8 <= n; i += 8) {
      __m128i h;
      std::memcpy(&h, src + i, sizeof h);
      const __m256 f = _mm256_cvtph_ps(h);
      std::memcpy(dst + i, &f, sizeof f);
    }
    for (; i < n; ++i) dst[i] = _cvtsh_ss(src[i]);
#else
    for (; i < n; ++i) dst[i] = half_bits_to_float_soft(src[i]);
#endif
  }
}

/// Converts `n` floats to 16-bit bits of T; equal bit for bit to Eigen's `static_cast<T>(float)`.
template <class T>
void narrow(const float* src, std::uint16_t* dst, std::ptrdiff_t n) {
  static_assert(is_16bit_v<T>);
  std::ptrdiff_t i = 0;
  if constexpr (std::is_same_v<T, Eigen::bfloat16>) {
    for (; i < n; ++i) dst[i] = float_to_bf16_bits(src[i]);
  } else {
#if defined(EIGEN_HAS_FP16_C)
    for (; i + 8 <= n; i += 8) {
      __m256 f;
      std::memcpy(&f, src + i, sizeof f);
      const __m128i h = _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT);
      std::memcpy(dst + i, &h, sizeof h);
    }
    for (; i < n; ++i) dst[i] = static_cast<std::uint16_t>(_cvtss_sh(src[i], 0));
#else
    for (; i < n; ++i) dst[i] = float_to_half_bits_soft(src[i]);
#endif
  }
}

}  // namespace act::detail
