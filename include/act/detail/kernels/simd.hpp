#pragma once
/// \file simd.hpp
/// The vector layer of the kernels: GCC/Clang vector extensions, one kernel source that the compiler
/// lowers to SSE2, AVX2 or AVX-512 (whatever the build targets), without -march requirements. Defines
/// ACT_VECTOR_KERNELS where the compiler has them; kernels fall back to scalar loops elsewhere.

#include <cstdint>
#include <cstring>

#if defined(__GNUC__)
#if defined(__F16C__)
#include <immintrin.h>
/// The vector half conversions use F16C (see widen_half).
#define ACT_HARDWARE_HALF 1
#else
#define ACT_HARDWARE_HALF 0
#endif
#define ACT_VECTOR_KERNELS 1
#endif

#if defined(ACT_VECTOR_KERNELS)

#include <act/detail/kernels/convert.hpp>

/// Vectors of `lanes` floats and exact 16-bit <-> float conversions on them. Helpers take and return vectors
/// through references: by-value 64-byte vectors would change the ABI between ISA levels (-Wpsabi).
namespace act::detail::simd {

// The widest vector the build targets: wider generic vectors are split by GCC into slow sequences
// (compares and conversions especially), narrower ones waste the registers.
#if defined(__AVX512F__)
inline constexpr int lanes = 16;
#elif defined(__AVX__)
inline constexpr int lanes = 8;
#else
inline constexpr int lanes = 4;
#endif
typedef float f32 __attribute__((vector_size(4 * lanes)));
typedef std::int32_t i32 __attribute__((vector_size(4 * lanes)));
typedef std::uint32_t u32 __attribute__((vector_size(4 * lanes)));
typedef std::uint16_t u16 __attribute__((vector_size(2 * lanes)));

inline void load(const float* p, f32& v) { std::memcpy(&v, p, sizeof v); }
inline void store(float* p, const f32& v) { std::memcpy(p, &v, sizeof v); }
/// Raw bits of `lanes` half/bfloat16 values (memcpy copies their object representation).
inline void load(const void* p, u16& v) { std::memcpy(&v, p, sizeof v); }
inline void store(void* p, const u16& v) { std::memcpy(p, &v, sizeof v); }

/// Per lane `mask ? a : b` for masks from vector comparisons (all ones or all zeros). Written with
/// bit operations: GCC 12 turns these into masked AVX-512 moves, while a vector `?:` here measured
/// about 1.4x slower in the float kernel.
inline void select(const i32& mask, const f32& a, const f32& b, f32& out) {
  out = ((f32)((((i32)(a)) & mask) | (((i32)(b)) & ~mask)));
}

/// Same rules as bf16_bits_to_float / float_to_bf16_bits, lane by lane.
inline void widen_bf16(const u16& h, f32& v) { v = ((f32)(__builtin_convertvector(h, u32) << 16)); }
inline void narrow_bf16(const f32& v, u16& h) {
  const u32 u = ((u32)(v));
  const u32 rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const u32 nan = ((u >> 16) & 0x8000u) | 0x7fc0u;
  const u32 is_nan = ((u32)(((i32)(u & 0x7fffffffu)) > 0x7f800000));
  h = __builtin_convertvector((rounded & ~is_nan) | (nan & is_nan), u16);
}

/// Splits the lanes of x:y (x first) into the even-numbered ones and the odd-numbered ones.
inline void deinterleave(const f32& x, const f32& y, f32& even, f32& odd) {
#if defined(__clang__)
#define ACT_SHUFFLE(...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define ACT_SHUFFLE(...) __builtin_shuffle(x, y, i32{__VA_ARGS__})
#endif
#if defined(__AVX512F__)
  even = ACT_SHUFFLE(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  odd = ACT_SHUFFLE(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#elif defined(__AVX__)
  even = ACT_SHUFFLE(0, 2, 4, 6, 8, 10, 12, 14);
  odd = ACT_SHUFFLE(1, 3, 5, 7, 9, 11, 13, 15);
#else
  even = ACT_SHUFFLE(0, 2, 4, 6);
  odd = ACT_SHUFFLE(1, 3, 5, 7);
#endif
#undef ACT_SHUFFLE
}

/// float -> bfloat16 bits in the upper half of each lane, round to nearest even; the lower half is
/// left as garbage (callers shift it out or mask it), for kernels that keep two bfloat16 values per
/// 32-bit lane. Equals float_to_bf16_bits for every input except NaNs with a payload in the low 16
/// bits; callers must not pass those. (A NaN made by arithmetic, such as inf * 0, is the default NaN,
/// whose low 16 bits are zero, so it is exact.)
inline void round_bf16_high_non_nan(const f32& v, u32& h) {
  const u32 u = ((u32)(v));
  h = u + 0x7fffu + ((u >> 16) & 1u);
}

/// half <-> float, `lanes` at a time. With F16C (any -march that has it) these are the hardware
/// conversions; otherwise the rules of half_bits_to_float_soft / float_to_half_bits_soft. The two
/// agree on every non-NaN value (IEEE round to nearest even) and differ only in NaN payloads.
/// (Eigen 3.4 under GCC always uses its software path: its F16C switch tests only for Clang.)
inline void widen_half(const u16& h, f32& v) {
#if ACT_HARDWARE_HALF && defined(__AVX512F__)
  // maskz forms: the plain ones start from _mm512_undefined_*, which GCC 12 warns about at -O0.
  v = ((f32)(_mm512_maskz_cvtph_ps(0xffff, (__m256i)(h))));
#elif ACT_HARDWARE_HALF
  v = ((f32)(_mm256_cvtph_ps((__m128i)(h))));  // F16C implies AVX: lanes is 8
#else
  constexpr std::uint32_t shifted_exp = 0x7c00u << 13;
  const u32 x = __builtin_convertvector(h, u32);
  u32 o = (x & 0x7fffu) << 13;
  const u32 exp = o & shifted_exp;
  o += (127u - 15u) << 23;
  const u32 special = o + ((128u - 16u) << 23);
  const f32 magic = f32{} + float_from_bits(113u << 23);
  const u32 tiny = ((u32)(((f32)(o + (1u << 23))) - magic));
  const u32 is_special = ((u32)(((i32)(exp)) == static_cast<std::int32_t>(shifted_exp)));
  const u32 is_tiny = ((u32)(((i32)(exp)) == 0));
  o = (special & is_special) | (tiny & is_tiny) | (o & ~(is_special | is_tiny));
  v = ((f32)(o | ((x & 0x8000u) << 16)));
#endif
}
inline void narrow_half(const f32& v, u16& h) {
#if ACT_HARDWARE_HALF && defined(__AVX512F__)
  h = ((u16)(_mm512_maskz_cvtps_ph(0xffff, (__m512)(v), _MM_FROUND_TO_NEAREST_INT)));
#elif ACT_HARDWARE_HALF
  h = ((u16)(_mm256_cvtps_ph((__m256)(v), _MM_FROUND_TO_NEAREST_INT)));
#else
  u32 f = ((u32)(v));
  const u32 sign = f & 0x80000000u;
  f ^= sign;
  constexpr std::int32_t f32_infinity = 255 << 23, f16_max = (127 + 16) << 23, min_normal = 113 << 23;
  constexpr std::uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  const i32 fi = ((i32)(f));  // < 2^31 after clearing the sign: signed compares are exact
  const u32 is_nan = ((u32)(fi > f32_infinity));
  const u32 overflow = (0x7e00u & is_nan) | (0x7c00u & ~is_nan);
  const f32 magic = f32{} + float_from_bits(denorm_magic);
  const u32 subnormal = ((u32)(((f32)(f)) + magic)) - denorm_magic;
  const u32 normal = (f + 0xc8000fffu + ((f >> 13) & 1u)) >> 13;
  const u32 is_big = ((u32)(fi >= f16_max));
  const u32 is_small = ((u32)(fi < min_normal)) & ~is_big;
  const u32 o = (overflow & is_big) | (subnormal & is_small) | (normal & ~(is_big | is_small));
  h = __builtin_convertvector((o & 0xffffu) | (sign >> 16), u16);
#endif
}

}  // namespace act::detail::simd

#endif  // ACT_VECTOR_KERNELS
