#pragma once
/// \file simd.hpp
/// Which vector instructions act's hot kernels (affine apply, quantile search) run. A build compiles them
/// for the baseline of its own compiler flags and, on x86-64 with GCC or Clang, also for AVX2 (with FMA and
/// F16C) and AVX-512 (F, BW, VL, DQ); the widest level the processor runs is used. Every level gives the
/// same bits. The environment variable ACT_SIMD_LEVEL=baseline|avx2|avx512 (read at the first kernel call)
/// or force_level() picks another level, for tests and for reproducing timings.
///
///     act::simd::force_level(act::simd::level::avx2);    // throws if this build or processor lacks it
///     fmt::print("{}\n", act::simd::name(act::simd::active()));
///     act::simd::reset_level();                          // back to ACT_SIMD_LEVEL or the widest level

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <act/core/error.hpp>

/// The level the compiler flags already reach: 2 = AVX-512 (F, BW, VL, DQ), 1 = AVX2 + FMA + F16C, 0 below.
/// Levels under it are not compiled (the build could not run where they would be needed).
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && \
    defined(__FMA__) && defined(__F16C__)
#define ACT_SIMD_BUILD_LEVEL 2
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define ACT_SIMD_BUILD_LEVEL 1
#else
#define ACT_SIMD_BUILD_LEVEL 0
#endif

/// 1 where the levels above the build's are compiled too (GCC or Clang on x86-64).
#if defined(__GNUC__) && defined(__x86_64__)
#define ACT_SIMD_DISPATCH 1
#else
#define ACT_SIMD_DISPATCH 0
#endif

/// Names what depends on ACT_SIMD_BUILD_LEVEL (an inline namespace: the API stays act::simd::...), so that
/// translation units built with different flags do not share, and mix up, each other's definitions.
#if ACT_SIMD_BUILD_LEVEL == 2
#define ACT_SIMD_BUILD_TAG build_avx512
#elif ACT_SIMD_BUILD_LEVEL == 1
#define ACT_SIMD_BUILD_TAG build_avx2
#else
#define ACT_SIMD_BUILD_TAG build_baseline
#endif

namespace act::simd {

/// Instruction-set levels, lowest first.
enum class level : int {
  baseline = 0,  ///< the compiler flags' own (x86-64: SSE2 unless -m/-march says more)
  avx2 = 1,      ///< AVX2, FMA, F16C: 8 floats per vector, hardware half conversions
  avx512 = 2,    ///< AVX-512 F, BW, VL, DQ: 16 floats per vector
};
inline constexpr level all_levels[] = {level::baseline, level::avx2, level::avx512};

inline std::string_view name(level l) {
  switch (l) {
    case level::avx2:
      return "avx2";
    case level::avx512:
      return "avx512";
    default:
      return "baseline";
  }
}

/// "baseline", "avx2" or "avx512"; nothing for other text.
inline std::optional<level> parse_level(std::string_view text) {
  for (const level l : all_levels)
    if (text == name(l)) return l;
  return std::nullopt;
}

/// True when the processor runs level `l` (checked once).
inline bool cpu_runs(level l) {
#if ACT_SIMD_DISPATCH
  static const int best = [] {
    __builtin_cpu_init();
#if defined(__clang__)  // Clang 14 has no "f16c" here; every AVX2 processor has F16C
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    return avx512 ? 2 : avx2 ? 1 : 0;
  }();
  return static_cast<int>(l) <= best;
#else
  return l == level::baseline;
#endif
}

namespace detail {
/// The level asked for: -1 = not decided yet (ACT_SIMD_LEVEL is read on first use), -2 = the widest, else a
/// level. Shared by all translation units; each clamps it to the levels it has.
inline std::atomic<int>& requested_level() {
  static std::atomic<int> requested{-1};
  return requested;
}
inline int read_requested_level() {
  int r = requested_level().load(std::memory_order_relaxed);
  if (r == -1) {
    const char* env = std::getenv("ACT_SIMD_LEVEL");
    const auto parsed = env != nullptr ? parse_level(env) : std::nullopt;
    r = parsed ? static_cast<int>(*parsed) : -2;
    requested_level().store(r, std::memory_order_relaxed);
  }
  return r;
}
}  // namespace detail

inline namespace ACT_SIMD_BUILD_TAG {

/// True when this build has kernels compiled for level `l`.
inline bool compiled(level l) {
  const int k = static_cast<int>(l);
  return k >= ACT_SIMD_BUILD_LEVEL && (ACT_SIMD_DISPATCH || k == ACT_SIMD_BUILD_LEVEL);
}

/// True when level `l` can run here: compiled in and supported by the processor.
inline bool available(level l) { return compiled(l) && cpu_runs(l); }

/// The level the kernels use now: the one requested (force_level, else ACT_SIMD_LEVEL) when available,
/// else the widest available level not above it, else the lowest available; with no request the widest.
inline level active() {
  const int requested = detail::read_requested_level();
  int chosen = ACT_SIMD_BUILD_LEVEL;
  for (const level l : all_levels)
    if (available(l) && (requested < 0 || static_cast<int>(l) <= requested)) chosen = static_cast<int>(l);
  return static_cast<level>(chosen);
}

/// Makes the kernels use level `l` from now on (all threads); throws act::invalid_argument when this build
/// or processor lacks it.
inline void force_level(level l) {
  if (!compiled(l)) raise<invalid_argument>("act::simd::force_level: this build has no {} kernels", name(l));
  if (!cpu_runs(l)) raise<invalid_argument>("act::simd::force_level: this processor does not run {}", name(l));
  detail::requested_level().store(static_cast<int>(l), std::memory_order_relaxed);
}

}  // namespace ACT_SIMD_BUILD_TAG

/// Undoes force_level: back to ACT_SIMD_LEVEL, or the widest level.
inline void reset_level() { detail::requested_level().store(-1, std::memory_order_relaxed); }

}  // namespace act::simd
