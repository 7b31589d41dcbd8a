#pragma once
/// \file simd.hpp
/// Runtime dispatch of the vector kernels. Kernel headers compile their vector code once per level of
/// act::simd (for_each_level.inc), in namespaces level_<name> that each hold a `tag`; with_level(call)
/// calls `call(tag)` with the tag of act::simd::active(), and the call finds that level's functions by
/// argument-dependent lookup. The vector code uses GCC/Clang vector extensions (vector_ops.inc); where the
/// compiler has none, ACT_VECTOR_KERNELS stays undefined and kernels use their scalar loops. No intrinsics
/// header is included: the few named x86 instructions are called through compiler builtins (vector_ops.inc).

#include <cstdint>
#include <cstring>

#include <act/core/simd.hpp>
#include <act/detail/kernels/convert.hpp>

#if defined(__GNUC__)
#define ACT_VECTOR_KERNELS 1
#endif

#if defined(ACT_VECTOR_KERNELS)

namespace act::detail {
inline namespace ACT_SIMD_BUILD_TAG {

// One tag per compiled level (see act::simd::compiled).
#if ACT_SIMD_BUILD_LEVEL == 0
namespace level_baseline {
struct tag {};
}  // namespace level_baseline
#endif
#if ACT_SIMD_BUILD_LEVEL <= 1 && (ACT_SIMD_DISPATCH || ACT_SIMD_BUILD_LEVEL == 1)
namespace level_avx2 {
struct tag {};
}  // namespace level_avx2
#endif
#if ACT_SIMD_DISPATCH || ACT_SIMD_BUILD_LEVEL == 2
namespace level_avx512 {
struct tag {};
}  // namespace level_avx512
#endif

/// call(tag of level l), for a compiled level l (the lowest compiled one otherwise).
template <class Call>
decltype(auto) with_level(simd::level l, Call&& call) {
#if ACT_SIMD_BUILD_LEVEL == 2
  (void)l;
  return call(level_avx512::tag{});
#elif ACT_SIMD_BUILD_LEVEL == 1
  if (l == simd::level::avx512) return call(level_avx512::tag{});
  return call(level_avx2::tag{});
#elif ACT_SIMD_DISPATCH
  if (l == simd::level::avx512) return call(level_avx512::tag{});
  if (l == simd::level::avx2) return call(level_avx2::tag{});
  return call(level_baseline::tag{});
#else
  (void)l;
  return call(level_baseline::tag{});
#endif
}

/// call(tag of act::simd::active()).
template <class Call>
decltype(auto) with_active_level(Call&& call) {
  return with_level(simd::active(), static_cast<Call&&>(call));
}

}  // namespace ACT_SIMD_BUILD_TAG
}  // namespace act::detail

#endif  // ACT_VECTOR_KERNELS
