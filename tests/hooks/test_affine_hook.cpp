#include <act/hooks/affine_hook.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

// A 3-neuron map with a bounded support, and a buffer that hits inside, outside, edges and NaN.
act::affine_map<float> test_map() {
  act::affine_map<float> m;
  m.omega.resize(3);
  m.beta.resize(3);
  m.lower.resize(3);
  m.upper.resize(3);
  m.omega << 0.5f, 2.0f, 1.0f;
  m.beta << 1.0f, -1.0f, 0.25f;
  m.lower << -1.0f, 0.0f, -4.0f;
  m.upper << 1.0f, 2.0f, 4.0f;
  return m;
}

template <class T>
std::vector<T> test_buffer(int rows) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<T> buf(static_cast<std::size_t>(rows) * 3);
  for (auto& v : buf) v = static_cast<T>(u(rng));
  buf[0] = static_cast<T>(-0.0f);
  buf[1] = static_cast<T>(std::numeric_limits<float>::quiet_NaN());
  buf[2] = static_cast<T>(4.0f);  // upper edge: inside the closed interval
  return buf;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE_TEMPLATE("lambda = 0 leaves the buffer bit-identical", T, float, double, Eigen::half, Eigen::bfloat16) {
  const auto map = test_map();
  auto buf = test_buffer<T>(37);
  const auto before = buf;
  act::affine_hook<float> hook(map, 0.0);
  hook(act::view(buf.data(), 37, 3));
  const std::vector<std::uint8_t> mask(37, 1);
  hook.masked(act::view(buf.data(), 37, 3), mask);
  hook.last_rows(act::view(buf.data(), 37, 3), std::vector<Eigen::Index>{30, 7});
  hook.per_row(act::view(buf.data(), 37, 3), std::vector<float>(37, 0.0f));
  hook.channel_spatial(buf.data(), 1, 3, 37);
  CHECK(same_bits(buf, before));
}

TEST_CASE_TEMPLATE("lambda = 1 equals the map inside the support, identity outside", T, float, double, Eigen::half,
                   Eigen::bfloat16) {
  const auto map = test_map();
  auto buf = test_buffer<T>(50);
  const auto before = buf;
  act::affine_hook<float> hook(map, 1.0);
  hook(act::view(buf.data(), 50, 3));
  int outside = 0;
  for (int r = 0; r < 50; ++r)
    for (int c = 0; c < 3; ++c) {
      const auto i = static_cast<std::size_t>(r * 3 + c);
      const float x = static_cast<float>(before[i]);
      if (!map.in_support(c, x)) {
        ++outside;
        CHECK(std::memcmp(&buf[i], &before[i], sizeof(T)) == 0);  // untouched, NaN included
      } else {
        CHECK(static_cast<float>(buf[i]) == static_cast<float>(static_cast<T>(map.omega[c] * x + map.beta[c])));
      }
    }
  CHECK(outside > 10);
}

TEST_CASE("intermediate lambda matches the reference transport") {
  const auto map = test_map();
  auto buf = test_buffer<float>(20);
  const auto before = buf;
  act::affine_hook<float> hook(map, 0.3);
  hook(act::view(buf.data(), 20, 3));
  for (int r = 1; r < 20; ++r)
    for (int c = 0; c < 3; ++c)
      CHECK(buf[r * 3 + c] == doctest::Approx(map.transport(c, before[r * 3 + c], 0.3)).epsilon(1e-6));
}

TEST_CASE("unbounded maps leave NaN bit-identical and move everything else") {
  auto map = act::affine_map<float>::identity(2);
  map.beta << 1.0f, 2.0f;
  std::vector<float> buf = {1.0f, std::nanf("7"), 100.0f, -100.0f};
  const auto before = buf;
  act::affine_hook<float> hook(map, 1.0);
  hook(act::view(buf.data(), 2, 2));
  CHECK(buf[0] == 2.0f);
  CHECK(std::memcmp(&buf[1], &before[1], sizeof(float)) == 0);
  CHECK(buf[2] == 101.0f);
  CHECK(buf[3] == -98.0f);
}

TEST_CASE("row strides, column-major buffers and Eigen views") {
  const auto map = test_map();
  act::affine_hook<float> hook(map, 0.75);
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rm = Eigen::MatrixXf::Random(9, 3);
  Eigen::MatrixXf cm = rm;
  // A padded row stride: 5 floats per row, 3 used.
  std::vector<float> padded(9 * 5, 42.0f);
  for (int r = 0; r < 9; ++r)
    for (int c = 0; c < 3; ++c) padded[r * 5 + c] = rm(r, c);
  hook(act::view(rm));
  hook(act::view(cm));
  hook(act::view(padded.data(), 9, 3, 5));
  CHECK(rm.isApprox(Eigen::MatrixXf(cm)));
  for (int r = 0; r < 9; ++r) {
    for (int c = 0; c < 3; ++c) CHECK(padded[r * 5 + c] == rm(r, c));
    CHECK(padded[r * 5 + 3] == 42.0f);
    CHECK(padded[r * 5 + 4] == 42.0f);
  }
}

TEST_CASE("selections: mask, last rows, per-row strengths") {
  auto map = act::affine_map<float>::identity(2);
  map.omega << 2.0f, 3.0f;
  act::affine_hook<float> hook(map, 1.0);
  Eigen::Matrix<float, 5, 2, Eigen::RowMajor> x = Eigen::Matrix<float, 5, 2, Eigen::RowMajor>::Ones();

  auto m = x;
  hook.masked(act::view(m), {1, 0, 0, 1, 0});
  CHECK(m(0, 0) == 2.0f);
  CHECK(m(1, 0) == 1.0f);
  CHECK(m(3, 1) == 3.0f);
  CHECK(m(4, 1) == 1.0f);

  auto l = x;
  hook.last_rows(act::view(l), std::vector<Eigen::Index>{2, 3});  // rows 1 and 4 are last
  CHECK(l(0, 0) == 1.0f);
  CHECK(l(1, 0) == 2.0f);
  CHECK(l(3, 1) == 1.0f);
  CHECK(l(4, 1) == 3.0f);

  auto p = x;
  hook.per_row(act::view(p), std::vector<float>{0.0f, 0.5f, 1.0f, 2.0f, 0.0f});
  CHECK(p(0, 0) == 1.0f);
  CHECK(p(1, 0) == 1.5f);  // 1 + 0.5 * (2 - 1)
  CHECK(p(2, 1) == 3.0f);
  CHECK(p(3, 1) == 5.0f);  // extrapolation: 1 + 2 * (3 - 1)
  CHECK(p(4, 1) == 1.0f);
}

TEST_CASE("channel-spatial mode transports each channel's spatial mean") {
  act::affine_map<float> map;
  map.omega = (Eigen::ArrayXf(2) << 0.5f, 2.0f).finished();
  map.beta = (Eigen::ArrayXf(2) << 1.0f, 0.0f).finished();
  map.lower = (Eigen::ArrayXf(2) << -10.0f, 5.0f).finished();  // channel 1's support excludes its mean below
  map.upper = (Eigen::ArrayXf(2) << 10.0f, 6.0f).finished();
  const float lambda = 0.5f;
  act::affine_hook<float> hook(map, lambda);
  // Two images, 2 channels, 4 positions each.
  std::vector<float> x = {1, 2, 3, 6, /*c1*/ 0, 0, 1, 1, /*img 2*/ 2, 2, 2, 2, /*c1*/ 5, 6, 5, 6};
  const auto before = x;
  hook.channel_spatial(x.data(), 2, 2, 4);
  for (int img = 0; img < 2; ++img)
    for (int c = 0; c < 2; ++c) {
      double mean = 0;
      for (int k = 0; k < 4; ++k) mean += before[(img * 2 + c) * 4 + k];
      mean /= 4;
      const bool inside = map.lower[c] <= mean && mean <= map.upper[c];
      const double shift = inside ? lambda * ((map.omega[c] - 1) * mean + map.beta[c]) : 0.0;
      for (int k = 0; k < 4; ++k) {
        const int i = (img * 2 + c) * 4 + k;
        CHECK(x[i] == doctest::Approx(before[i] + shift));
      }
    }
  CHECK(x[4] == before[4]);    // image 0, channel 1: mean 0.5 outside [5, 6]
  CHECK(x[12] != before[12]);  // image 1, channel 1: mean 5.5 inside
}

TEST_CASE("double maps give double arithmetic") {
  act::affine_map<double> map = act::affine_map<double>::identity(1);
  map.omega[0] = 1.0 + 1e-12;
  act::affine_hook hook(map, 1.0);  // deduces affine_hook<double>
  std::vector<double> x = {1.0};
  hook(act::view(x.data(), 1, 1));
  CHECK(x[0] == 1.0 + 1e-12);
}

TEST_CASE("bad arguments raise errors naming what is wrong") {
  const auto map = test_map();
  std::vector<float> buf(12);
  CHECK_THROWS_WITH_AS(act::affine_hook<float>(map, std::nan("")), doctest::Contains("strength must be finite"),
                       act::invalid_argument);
  act::affine_hook<float> hook(map, 0.5);
  CHECK_THROWS_AS(hook.set_strength(std::numeric_limits<double>::infinity()), act::invalid_argument);
  CHECK_THROWS_WITH_AS(hook(act::view(buf.data(), 3, 4)), doctest::Contains("[3 x 4]"), act::shape_error);
  CHECK_THROWS_WITH_AS(hook.masked(act::view(buf.data(), 4, 3), {1, 0}), doctest::Contains("mask has 2"),
                       act::shape_error);
  CHECK_THROWS_WITH_AS(hook.last_rows(act::view(buf.data(), 4, 3), std::vector<Eigen::Index>{1, 2}),
                       doctest::Contains("add up to 3"), act::shape_error);
  CHECK_THROWS_AS(hook.last_rows(act::view(buf.data(), 4, 3), std::vector<Eigen::Index>{4, 0}), act::invalid_argument);
  CHECK_THROWS_WITH_AS(hook.per_row(act::view(buf.data(), 4, 3), std::vector<float>{0, 1, std::nanf(""), 0}),
                       doctest::Contains("lambdas[2]"), act::invalid_argument);
  CHECK_THROWS_AS(hook.per_row(act::view(buf.data(), 4, 3), std::vector<float>{0, 1}), act::shape_error);
  CHECK_THROWS_AS(hook.channel_spatial(buf.data(), 1, 4, 3), act::shape_error);
  CHECK_THROWS_AS(act::view(buf.data(), 4, 3, 2), act::shape_error);
  auto broken = map;
  broken.lower[1] = 5.0f;  // above upper
  CHECK_THROWS_WITH_AS(act::affine_hook<float>(broken, 1.0), doctest::Contains("neuron 1"), act::invalid_argument);
}

TEST_CASE("copies of a hook apply the same map, wherever their storage lands") {
  // The packed coefficients start at a 64-byte boundary of the hook's own storage; a copy made at a
  // different offset once read the slack instead (found through the Python binding's MapSet.copy()).
  act::affine_map<float> map = act::affine_map<float>::identity(40);
  map.omega.setConstant(2.0f);
  map.beta.setConstant(1.0f);
  const act::affine_hook<float> original(map, 1.0);
  std::vector<std::vector<float>> spacers;
  for (int trial = 0; trial < 16; ++trial) {
    spacers.emplace_back(static_cast<std::size_t>(1 + trial));  // moves the next allocation around
    act::affine_hook<float> copy = original;
    act::affine_hook<float> assigned;
    assigned = copy;
    std::vector<float> a(3 * 40, 1.0f), b = a;
    copy(act::view(a.data(), 3, 40));
    assigned(act::view(b.data(), 3, 40));
    CHECK(a == std::vector<float>(3 * 40, 3.0f));
    CHECK(b == a);
  }
}
