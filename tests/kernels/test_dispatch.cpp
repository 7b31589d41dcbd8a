// act::simd: level names, availability, force_level / ACT_SIMD_LEVEL / reset_level, and that every level
// gives the bits of the lowest one on the same buffers.
#include <act/core/simd.hpp>
#include <act/hooks/affine_hook.hpp>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "each_level.hpp"

TEST_CASE("level names round-trip and unknown names are refused") {
  for (const act::simd::level l : act::simd::all_levels) CHECK(act::simd::parse_level(act::simd::name(l)) == l);
  CHECK_FALSE(act::simd::parse_level("sse9").has_value());
  CHECK_FALSE(act::simd::parse_level("").has_value());
}

TEST_CASE("the widest available level is active by default, and the processor runs it") {
  act::simd::reset_level();
  const char* env = std::getenv("ACT_SIMD_LEVEL");
  const act::simd::level active = act::simd::active();
  CHECK(act::simd::available(active));
  if (env == nullptr)
    for (const act::simd::level l : act::simd::all_levels)
      if (act::simd::available(l)) CHECK(static_cast<int>(l) <= static_cast<int>(active));
  MESSAGE("active simd level: ", std::string(act::simd::name(active)));
}

TEST_CASE("force_level picks a level, refuses missing ones, and reset_level undoes it") {
  act::test::each_level([](act::simd::level l) { CHECK(act::simd::active() == l); });
  for (const act::simd::level l : act::simd::all_levels)
    if (!act::simd::available(l)) CHECK_THROWS_AS(act::simd::force_level(l), act::invalid_argument);
  act::simd::reset_level();
  CHECK(act::simd::available(act::simd::active()));
}

TEST_CASE("ACT_SIMD_LEVEL is read after reset_level; unavailable requests fall to a lower level") {
  const char* old = std::getenv("ACT_SIMD_LEVEL");
  const std::string saved = old != nullptr ? old : "";
  for (const act::simd::level l : act::simd::all_levels) {
    ::setenv("ACT_SIMD_LEVEL", std::string(act::simd::name(l)).c_str(), 1);
    act::simd::reset_level();
    const act::simd::level got = act::simd::active();
    if (act::simd::available(l))
      CHECK(got == l);
    else
      CHECK(act::simd::available(got));
  }
  ::setenv("ACT_SIMD_LEVEL", "nonsense", 1);
  act::simd::reset_level();
  CHECK(act::simd::available(act::simd::active()));
  if (old != nullptr)
    ::setenv("ACT_SIMD_LEVEL", saved.c_str(), 1);
  else
    ::unsetenv("ACT_SIMD_LEVEL");
  act::simd::reset_level();
}

TEST_CASE_TEMPLATE("every level gives the same bits on a steering-sized buffer", T, float, Eigen::half,
                   Eigen::bfloat16) {
  std::mt19937 rng(41);
  const Eigen::Index d = 1000, rows = 37;  // partial groups and a partial row block
  act::affine_map<float> map = act::affine_map<float>::identity(d);
  std::uniform_real_distribution<float> u(-1.5f, 1.5f);
  map.lower = Eigen::ArrayXf::Constant(d, -1.0f);
  map.upper = Eigen::ArrayXf::Constant(d, 1.2f);
  for (Eigen::Index c = 0; c < d; ++c) {
    map.omega[c] = 1.0f + 0.3f * u(rng);
    map.beta[c] = 0.1f * u(rng);
  }
  std::vector<T> original(static_cast<std::size_t>(rows * d));
  for (auto& x : original) x = static_cast<T>(u(rng) * 1.3f);
  std::vector<float> lambdas(static_cast<std::size_t>(rows));
  for (auto& l : lambdas) l = u(rng);
  const act::affine_hook<float> hook(map, 0.8);
  std::vector<T> first, first_per_row;
  act::test::each_level([&](act::simd::level) {
    auto buf = original, per_row = original;
    hook(act::view(buf.data(), rows, d));
    hook.per_row(act::view(per_row.data(), rows, d), lambdas);
    if (first.empty()) {
      first = buf;
      first_per_row = per_row;
      return;
    }
    REQUIRE(std::memcmp(buf.data(), first.data(), buf.size() * sizeof(T)) == 0);
    REQUIRE(std::memcmp(per_row.data(), first_per_row.data(), buf.size() * sizeof(T)) == 0);
  });
}
