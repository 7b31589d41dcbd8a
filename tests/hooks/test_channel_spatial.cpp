// Channel-spatial modes: per_pixel (the reference's Gaussian hook: every pixel through the
// channel's map) against a direct computation; mean_shift stays the default; they agree only when omega = 1.
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/quantile_hook.hpp>

#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

constexpr Eigen::Index images = 2, channels = 3, positions = 5;

std::vector<float> feature_maps() {
  std::mt19937 rng(8);
  std::normal_distribution<float> z;
  std::vector<float> x(images * channels * positions);
  for (auto& v : x) v = 2.0f * z(rng);
  return x;
}

act::affine_map<float> gaussian_like_map() {
  act::affine_map<float> m;
  m.omega = (Eigen::ArrayXf(3) << 0.5f, 2.0f, 1.0f).finished();
  m.beta = (Eigen::ArrayXf(3) << 1.0f, -0.5f, 0.25f).finished();
  m.lower = Eigen::ArrayXf::Constant(3, -2.0f);  // some pixels fall outside
  m.upper = Eigen::ArrayXf::Constant(3, 2.0f);
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("per_pixel: every pixel through its channel's affine map, gated per pixel", T, float, Eigen::half) {
  const auto map = gaussian_like_map();
  const double lambda = 0.75;
  const std::vector<float> before = feature_maps();
  std::vector<T> x(before.begin(), before.end());
  act::affine_hook<float>(map, lambda)
      .channel_spatial(x.data(), images, channels, positions, act::channel_spatial::per_pixel);
  for (Eigen::Index i = 0; i < images; ++i)
    for (Eigen::Index c = 0; c < channels; ++c)
      for (Eigen::Index k = 0; k < positions; ++k) {
        const std::size_t at = static_cast<std::size_t>((i * channels + c) * positions + k);
        const float v = static_cast<float>(static_cast<T>(before[at]));
        const bool inside = map.lower[c] < v && v < map.upper[c];
        const float expected = inside ? v + static_cast<float>(lambda) * ((map.omega[c] - 1.0f) * v + map.beta[c]) : v;
        CHECK(static_cast<float>(x[at]) == doctest::Approx(static_cast<float>(static_cast<T>(expected))).epsilon(1e-3));
      }
}

TEST_CASE("per_pixel: quantile maps transport every pixel; mean_shift is the default and differs unless omega = 1") {
  act::quantile_map<float> q;
  q.knots_source.resize(3, channels);
  q.knots_target.resize(3, channels);
  q.knots_source << -2, -1, 0, 0, 0, 1, 2, 1, 3;
  q.knots_target << -1, -3, 1, 1, 0, 2, 4, 1, 4;
  const std::vector<float> before = feature_maps();
  std::vector<float> x = before;
  act::quantile_hook<float>(q, 1.0).channel_spatial(x.data(), images, channels, positions,
                                                    act::channel_spatial::per_pixel);
  for (Eigen::Index i = 0; i < images; ++i)
    for (Eigen::Index c = 0; c < channels; ++c)
      for (Eigen::Index k = 0; k < positions; ++k) {
        const std::size_t at = static_cast<std::size_t>((i * channels + c) * positions + k);
        CHECK(x[at] == doctest::Approx(q.transport(c, before[at], 1.0)).epsilon(1e-5));
      }

  // An unbounded affine map: channel 2 has omega = 1 (the modes agree), channels 0 and 1 do not.
  auto map = gaussian_like_map();
  map.lower.resize(0);
  map.upper.resize(0);
  std::vector<float> shifted = before, pixels = before, fallback = before;
  const act::affine_hook<float> hook(map, 1.0);
  hook.channel_spatial(shifted.data(), images, channels, positions, act::channel_spatial::mean_shift);
  hook.channel_spatial(fallback.data(), images, channels, positions);  // the default
  hook.channel_spatial(pixels.data(), images, channels, positions, act::channel_spatial::per_pixel);
  CHECK(shifted == fallback);
  for (Eigen::Index c = 0; c < channels; ++c) {
    double largest = 0;
    for (Eigen::Index k = 0; k < positions; ++k) {
      const auto at = static_cast<std::size_t>(c * positions + k);
      largest = std::max(largest, std::abs(static_cast<double>(shifted[at]) - pixels[at]));
    }
    if (c == 2)
      CHECK(largest < 1e-5);
    else
      CHECK(largest > 0.1);
  }
}
