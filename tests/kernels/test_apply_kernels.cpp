// The vectorised apply path: 16-bit conversions against Eigen's, kernel against a scalar reference,
// multi-threaded against single-threaded; every vector case on each act::simd level this machine has.
#include <act/detail/kernels/convert.hpp>
#include <act/detail/kernels/simd.hpp>
#include <act/detail/kernels/storage.hpp>
#include <act/hooks/affine_hook.hpp>

#include "each_level.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

template <class T>
std::uint16_t bits16(T x) {
  std::uint16_t u;
  std::memcpy(&u, &x, 2);
  return u;
}
template <class T>
T from_bits16(std::uint16_t u) {
  if constexpr (std::is_same_v<T, Eigen::half>)
    return Eigen::half_impl::raw_uint16_to_half(u);
  else
    return Eigen::bfloat16_impl::raw_uint16_to_bfloat16(u);
}
std::uint32_t bits32(float f) { return act::detail::bits_from_float(f); }

/// Eigen's half conversions use F16C when the build has it, which keeps NaN payloads; the portable
/// (software) path squashes them. Both give NaN of the same sign; everything else must match bit for bit.
bool same_or_both_nan16(std::uint16_t a, std::uint16_t b, bool payload_may_differ) {
  if (a == b) return true;
  const bool nan_a = (a & 0x7fffu) > 0x7c00u, nan_b = (b & 0x7fffu) > 0x7c00u;
  return payload_may_differ && nan_a && nan_b && (a & 0x8000u) == (b & 0x8000u);
}

#if defined(EIGEN_HAS_FP16_C)
constexpr bool hardware_half = true;
#else
constexpr bool hardware_half = false;
#endif

/// Floats that probe every rounding case of a 16-bit format: each widened 16-bit value, its float
/// neighbours, exact midpoints between neighbours (ties), and random bit patterns (NaN, Inf, subnormals).
template <class T>
std::vector<float> probe_floats() {
  std::vector<float> out;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = static_cast<float>(from_bits16<T>(static_cast<std::uint16_t>(h)));
    const std::uint32_t u = bits32(f);
    for (std::uint32_t delta : {0u, 1u, 2u, 0xfffu, 0x1000u, 0x1001u, 0x7fffu, 0x8000u, 0x8001u})
      for (const std::uint32_t v : {u + delta, u - delta}) out.push_back(act::detail::float_from_bits(v));
  }
  std::mt19937 rng(17);
  for (int i = 0; i < 1 << 18; ++i) out.push_back(act::detail::float_from_bits(static_cast<std::uint32_t>(rng())));
  return out;
}

}  // namespace

TEST_CASE("bfloat16 <-> float conversions equal Eigen's over all 65536 bit patterns") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto b = from_bits16<Eigen::bfloat16>(static_cast<std::uint16_t>(h));
    REQUIRE(bits32(act::detail::bf16_bits_to_float(static_cast<std::uint16_t>(h))) == bits32(static_cast<float>(b)));
  }
  const auto floats = probe_floats<Eigen::bfloat16>();
  for (const float f : floats) REQUIRE(act::detail::float_to_bf16_bits(f) == bits16(Eigen::bfloat16(f)));
}

TEST_CASE("half <-> float portable conversions equal Eigen's over all 65536 bit patterns") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float soft = act::detail::half_bits_to_float_soft(static_cast<std::uint16_t>(h));
    const float eigen = static_cast<float>(from_bits16<Eigen::half>(static_cast<std::uint16_t>(h)));
    if (std::isnan(eigen)) {
      REQUIRE(std::isnan(soft));
      REQUIRE(std::signbit(soft) == std::signbit(eigen));
      if (!hardware_half) REQUIRE(bits32(soft) == bits32(eigen));
    } else {
      REQUIRE(bits32(soft) == bits32(eigen));
    }
  }
  for (const float f : probe_floats<Eigen::half>())
    REQUIRE(same_or_both_nan16(act::detail::float_to_half_bits_soft(f), bits16(Eigen::half(f)), hardware_half));
}

#if defined(ACT_VECTOR_KERNELS)
TEST_CASE_TEMPLATE("vector conversions equal Eigen's bit for bit", T, Eigen::half, Eigen::bfloat16) {
  constexpr bool is_bf16 = std::is_same_v<T, Eigen::bfloat16>;
  act::test::each_level([](act::simd::level level) {
#if defined(__F16C__)
    const bool hardware = true;
#else
    const bool hardware = level != act::simd::level::baseline;
#endif
    // Widening: all 65536 patterns.
    std::vector<T> in(65536);
    for (std::uint32_t h = 0; h < 65536; ++h) in[h] = from_bits16<T>(static_cast<std::uint16_t>(h));
    std::vector<float> out(in.size());
    act::detail::with_level(
        level, [&](auto tag) { widen_block(tag, in.data(), out.data(), static_cast<std::ptrdiff_t>(in.size())); });
    for (std::uint32_t h = 0; h < 65536; ++h) {
      const float eigen = static_cast<float>(in[h]);
      if (!is_bf16 && hardware && std::isnan(eigen)) {
        REQUIRE(std::isnan(out[h]));  // F16C keeps NaN payloads, Eigen's software path does not
        REQUIRE(std::signbit(out[h]) == std::signbit(eigen));
      } else {
        REQUIRE(bits32(out[h]) == bits32(eigen));
      }
    }
    // Narrowing: the probe set.
    const auto floats = probe_floats<T>();
    std::vector<T> narrowed(floats.size());
    act::detail::with_level(level, [&](auto tag) {
      narrow_block(tag, floats.data(), narrowed.data(), static_cast<std::ptrdiff_t>(floats.size()));
    });
    for (std::size_t i = 0; i < floats.size(); ++i)
      REQUIRE(same_or_both_nan16(bits16(narrowed[i]), bits16(T(floats[i])), !is_bf16 && hardware));
  });
}
#endif

namespace {

/// A map on d neurons with supports that cut through normal data; some neurons have an empty-ish
/// band, some an infinite one.
act::affine_map<float> kernel_map(Eigen::Index d, std::mt19937& rng) {
  std::uniform_real_distribution<float> w(0.0f, 2.0f), b(-1.0f, 1.0f), lo(-2.0f, 0.5f);
  act::affine_map<float> m = act::affine_map<float>::identity(d);
  m.lower.resize(d);
  m.upper.resize(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    m.omega[j] = w(rng);
    m.beta[j] = b(rng);
    m.lower[j] = lo(rng);
    m.upper[j] = m.lower[j] + 2.0f;
    if (j % 7 == 3) {
      m.lower[j] = -std::numeric_limits<float>::infinity();
      m.upper[j] = std::numeric_limits<float>::infinity();
    }
  }
  return m;
}

/// The support test as the maps define it, exact in the compute type C: never NaN or +-Inf.
template <class C>
bool inside(const act::affine_map<float>& m, Eigen::Index c, C v) {
  if (!std::isfinite(v)) return false;
  const C lo = m.lower[c], hi = m.upper[c];
  return m.bounds == act::support_bounds::open ? lo < v && v < hi : lo <= v && v <= hi;
}

template <class T>
std::vector<T> kernel_buffer(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.5f);
  std::vector<T> buf(n);
  for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<T>(nd(rng));
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            -0.0f,
                            0.0f};
  for (std::size_t i = 0; i < n; i += 11) buf[i] = static_cast<T>(specials[(i / 11) % 6]);
  return buf;
}

template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace

TEST_CASE_TEMPLATE("the blocked kernel equals the element-wise definition for any width and stride", T, float,
                   Eigen::half, Eigen::bfloat16, double) {
  act::test::each_level([&](act::simd::level) {
    std::mt19937 rng(23);
    for (const Eigen::Index d : {1, 5, 15, 16, 17, 33, 100, 530}) {
      for (const Eigen::Index rows : {1, 3, 9, 21}) {
        const Eigen::Index stride = d + (rows % 2) * 3;  // padded rows too
        auto map = kernel_map(d, rng);
        map.bounds = d % 2 ? act::support_bounds::closed : act::support_bounds::open;
        auto buf = kernel_buffer<T>(static_cast<std::size_t>(rows * stride), rng);
        const auto before = buf;
        const double lambda = 0.7;
        const act::affine_hook<float> hook(map, lambda);
        hook(act::view(buf.data(), rows, d, stride));
        const auto coeffs = map.at_strength(lambda);
        for (Eigen::Index r = 0; r < rows; ++r)
          for (Eigen::Index c = 0; c < stride; ++c) {
            const auto i = static_cast<std::size_t>(r * stride + c);
            if (c >= d) {
              REQUIRE(same_bits(buf[i], before[i]));  // padding is never touched
              continue;
            }
            using C = typename act::detail::storage_traits<T>::compute;
            const C v = static_cast<C>(before[i]);
            if (inside(map, c, v)) {
              const T expected = static_cast<T>(v * static_cast<C>(coeffs.scale[c]) + static_cast<C>(coeffs.shift[c]));
              REQUIRE(same_bits(buf[i], expected));
            } else {
              REQUIRE(same_bits(buf[i], before[i]));
            }
          }
      }
    }
  });
}

TEST_CASE_TEMPLATE("per-row strengths equal the element-wise definition", T, float, Eigen::half, Eigen::bfloat16) {
  act::test::each_level([&](act::simd::level) {
    std::mt19937 rng(29);
    const Eigen::Index d = 37, rows = 19;
    const auto map = kernel_map(d, rng);
    auto buf = kernel_buffer<T>(static_cast<std::size_t>(rows * d), rng);
    const auto before = buf;
    std::vector<float> lambdas(rows);
    for (Eigen::Index r = 0; r < rows; ++r)
      lambdas[static_cast<std::size_t>(r)] = r % 5 == 2 ? 0.0f : 0.1f * static_cast<float>(r) - 0.5f;
    const act::affine_hook<float> hook(map, 1.0);
    hook.per_row(act::view(buf.data(), rows, d), lambdas);
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index c = 0; c < d; ++c) {
        const auto i = static_cast<std::size_t>(r * d + c);
        const float v = static_cast<float>(before[i]);
        const float l = lambdas[static_cast<std::size_t>(r)];
        if (l != 0.0f && inside(map, c, v)) {
          const T expected = static_cast<T>(v + l * ((map.omega[c] - 1.0f) * v + map.beta[c]));
          REQUIRE(same_bits(buf[i], expected));
        } else {
          REQUIRE(same_bits(buf[i], before[i]));
        }
      }
  });
}

TEST_CASE_TEMPLATE("infinities under a zero slope keep their bits: the map never makes a NaN", T, float, Eigen::half,
                   Eigen::bfloat16) {
  act::test::each_level([&](act::simd::level) {
    // The 16-bit kernels round without a NaN branch: they rely on NaN and +-Inf inputs failing the support
    // test, so that finite coefficients on finite values cannot make a NaN. Unbounded neurons with slope 0 at
    // lambda = 1 once turned +-Inf into NaN (Inf * 0).
    const Eigen::Index d = 70, rows = 11;  // two full bfloat16 pair groups and a partial one
    act::affine_map<float> map = act::affine_map<float>::identity(d);
    for (Eigen::Index c = 0; c < d; ++c) {
      map.omega[c] = c % 3 == 0 ? 0.0f : 1.5f;
      map.beta[c] = 0.25f;
    }
    constexpr float inf = std::numeric_limits<float>::infinity();
    std::vector<T> buf(static_cast<std::size_t>(rows * d));
    for (std::size_t i = 0; i < buf.size(); ++i)
      buf[i] = static_cast<T>(i % 4 == 0 ? inf : i % 4 == 1 ? -inf : 0.5f * float(i % 9));
    const auto before = buf;
    const act::affine_hook<float> hook(map, 1.0);
    hook(act::view(buf.data(), rows, d));
    std::vector<float> lambdas(static_cast<std::size_t>(rows), 1.0f);
    auto per_row = before;
    hook.per_row(act::view(per_row.data(), rows, d), lambdas);
    std::size_t infinities = 0;
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index c = 0; c < d; ++c) {
        const auto i = static_cast<std::size_t>(r * d + c);
        const float v = static_cast<float>(before[i]);
        if (std::isinf(v)) {
          infinities += map.omega[c] == 0.0f;
          REQUIRE(same_bits(buf[i], before[i]));
          REQUIRE(same_bits(per_row[i], before[i]));
          continue;
        }
        REQUIRE(same_bits(buf[i], static_cast<T>(v * map.omega[c] + map.beta[c])));
        REQUIRE(same_bits(per_row[i], static_cast<T>(v + 1.0f * ((map.omega[c] - 1.0f) * v + map.beta[c]))));
      }
    REQUIRE(infinities > 0);
  });
}

TEST_CASE_TEMPLATE("multi-threaded apply is bit-identical to single-threaded", T, float, Eigen::half, Eigen::bfloat16,
                   double) {
  act::test::each_level([&](act::simd::level) {
    std::mt19937 rng(31);
    const Eigen::Index d = 301, rows = 1111;  // > 2^17 elements, so threads really start
    const auto map = kernel_map(d, rng);
    const auto original = kernel_buffer<T>(static_cast<std::size_t>(rows * d), rng);
    const act::affine_hook<float> hook(map, 0.6);
    auto single = original;
    hook(act::view(single.data(), rows, d));
    for (const int threads : {0, 1, 2, 3, 7}) {
      auto multi = original;
      hook(act::view(multi.data(), rows, d), threads);
      REQUIRE(std::memcmp(multi.data(), single.data(), multi.size() * sizeof(T)) == 0);
    }
    // Column-major buffers take the strided path, also split by rows.
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> cm(rows, d), cm2;
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index c = 0; c < d; ++c) cm(r, c) = original[static_cast<std::size_t>(r * d + c)];
    cm2 = cm;
    hook(act::view(cm), 2);
    hook(act::view(cm2));
    REQUIRE(std::memcmp(cm.data(), cm2.data(), static_cast<std::size_t>(cm.size()) * sizeof(T)) == 0);
    // Shape errors still raise.
    CHECK_THROWS_AS(hook(act::view(single.data(), rows, d - 1), 2), act::shape_error);
  });
}
