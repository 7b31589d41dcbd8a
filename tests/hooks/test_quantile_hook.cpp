#include <act/estimators/quantile_act.hpp>
#include <act/hooks/quantile_hook.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

// A fitted map with real structure: skewed source onto a bimodal target, 3 neurons, K = 16.
act::quantile_map<float> fitted_map() {
  std::mt19937_64 rng(41);
  std::gamma_distribution<float> skew(2.0f, 1.0f);
  std::normal_distribution<float> mode(0.0f, 0.3f);
  Eigen::MatrixXf a(500, 3), b(400, 3);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = skew(rng) - 2.0f;
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = mode(rng) + ((i % 2) ? 2.0f : -1.0f);
  return act::quantile_act({16, 1}).fit(a, b).map;
}

template <class T>
std::vector<T> random_buffer(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

template <class T>
void check_lambda_zero_is_bit_identity() {
  const auto map = fitted_map();
  const Eigen::Index rows = 7, d = map.dim();
  auto buf = random_buffer<T>(static_cast<std::size_t>(rows * d), 3);
  buf[4] = static_cast<T>(std::numeric_limits<float>::quiet_NaN());
  const auto before = buf;
  act::quantile_hook hook(map, 0.0);
  hook(act::view(buf.data(), rows, d));
  hook(act::view(buf.data(), rows, d), 0);
  hook.masked(act::view(buf.data(), rows, d), std::vector<std::uint8_t>(static_cast<std::size_t>(rows), 1));
  hook.last_rows(act::view(buf.data(), rows, d), std::vector<Eigen::Index>{3, 4});
  hook.per_row(act::view(buf.data(), rows, d), std::vector<float>(static_cast<std::size_t>(rows), 0.0f));
  hook.channel_spatial(buf.data(), 1, d, rows);
  CHECK(std::memcmp(buf.data(), before.data(), buf.size() * sizeof(T)) == 0);
}

}  // namespace

TEST_CASE("quantile_hook: lambda = 0 is a bit-identical no-op in every storage type") {
  check_lambda_zero_is_bit_identity<float>();
  check_lambda_zero_is_bit_identity<double>();
  check_lambda_zero_is_bit_identity<Eigen::half>();
  check_lambda_zero_is_bit_identity<Eigen::bfloat16>();
}

TEST_CASE("quantile_hook: agrees with quantile_map::transport; NaN and Inf pass unchanged") {
  const auto map = fitted_map();
  const Eigen::Index rows = 200, d = map.dim();
  for (double lambda : {1.0, 0.5, 1.7, -0.3}) {
    auto buf = random_buffer<float>(static_cast<std::size_t>(rows * d), 5);
    buf[0] = std::numeric_limits<float>::quiet_NaN();
    buf[1] = std::numeric_limits<float>::infinity();
    buf[2] = -std::numeric_limits<float>::infinity();
    // exact knot values hit segment boundaries
    buf[3] = map.knots_source(5, 0);
    buf[4] = map.knots_source(0, 1);
    buf[5] = map.knots_source(15, 2);
    const auto in = buf;
    act::quantile_hook hook(map, lambda);
    CHECK(hook.strength() == lambda);
    CHECK(hook.knots() == 16);
    hook(act::view(buf.data(), rows, d));
    CHECK(std::isnan(buf[0]));
    CHECK(buf[1] == in[1]);
    CHECK(buf[2] == in[2]);
    for (std::size_t i = 3; i < buf.size(); ++i) {
      const auto c = static_cast<Eigen::Index>(i % static_cast<std::size_t>(d));
      CHECK(buf[i] == doctest::Approx(map.transport(c, in[i], lambda)).epsilon(1e-5));
    }
  }
}

TEST_CASE("quantile_hook: double map on double buffers matches the reference closely") {
  const auto map = fitted_map().cast<double>();
  act::quantile_hook hook(map, 1.0);
  auto buf = random_buffer<double>(300, 9);
  const auto in = buf;
  hook(act::view(buf.data(), 100, 3));
  for (std::size_t i = 0; i < buf.size(); ++i)
    CHECK(buf[i] == doctest::Approx(map.transport(static_cast<Eigen::Index>(i % 3), in[i])).epsilon(1e-12));
}

TEST_CASE("quantile_hook: half and bfloat16 buffers compute in float") {
  const auto map = fitted_map();
  act::quantile_hook hook(map, 1.0);
  auto h = random_buffer<Eigen::half>(60, 2);
  auto bf = random_buffer<Eigen::bfloat16>(60, 2);
  const auto hin = h;
  const auto bin = bf;
  hook(act::view(h.data(), 20, 3));
  hook(act::view(bf.data(), 20, 3));
  for (std::size_t i = 0; i < h.size(); ++i) {
    const auto c = static_cast<Eigen::Index>(i % 3);
    CHECK(static_cast<float>(h[i]) ==
          doctest::Approx(static_cast<float>(Eigen::half(map.transport(c, static_cast<float>(hin[i]))))).epsilon(2e-3));
    CHECK(static_cast<float>(bf[i]) ==
          doctest::Approx(static_cast<float>(Eigen::bfloat16(map.transport(c, static_cast<float>(bin[i])))))
              .epsilon(1e-2));
  }
}

TEST_CASE("quantile_hook: masked, last_rows, per_row, threads and strided views agree with the full apply") {
  const auto map = fitted_map();
  const Eigen::Index rows = 9, d = map.dim();
  act::quantile_hook hook(map, 0.8);
  const auto in = random_buffer<float>(static_cast<std::size_t>(rows * d), 12);
  auto full = in;
  hook(act::view(full.data(), rows, d));
  const auto row_equal = [&](const std::vector<float>& got, Eigen::Index r, const std::vector<float>& want) {
    return std::memcmp(got.data() + r * d, want.data() + r * d, sizeof(float) * static_cast<std::size_t>(d)) == 0;
  };

  auto threaded = in;
  hook(act::view(threaded.data(), rows, d), 2);
  CHECK(threaded == full);

  auto masked = in;
  std::vector<std::uint8_t> mask{1, 0, 0, 1, 1, 0, 1, 0, 1};
  hook.masked(act::view(masked.data(), rows, d), mask);
  for (Eigen::Index r = 0; r < rows; ++r) CHECK(row_equal(masked, r, mask[static_cast<std::size_t>(r)] ? full : in));

  auto last = in;
  hook.last_rows(act::view(last.data(), rows, d), std::vector<Eigen::Index>{2, 4, 3});
  for (Eigen::Index r = 0; r < rows; ++r) CHECK(row_equal(last, r, (r == 1 || r == 5 || r == 8) ? full : in));

  auto per = in;
  std::vector<float> lambdas(static_cast<std::size_t>(rows), 0.8f);
  lambdas[2] = 0.0f;
  hook.per_row(act::view(per.data(), rows, d), lambdas);
  for (Eigen::Index r = 0; r < rows; ++r) CHECK(row_equal(per, r, r == 2 ? in : full));

  // Column-major Eigen matrix viewed as [rows x d] with col_stride = rows.
  Eigen::MatrixXf cm(rows, d);
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) cm(r, c) = in[static_cast<std::size_t>(r * d + c)];
  hook(act::view(cm));
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) CHECK(cm(r, c) == full[static_cast<std::size_t>(r * d + c)]);

  SUBCASE("set_strength changes lambda") {
    act::quantile_hook other(map, 0.1);
    other.set_strength(0.8);
    auto again = in;
    other(act::view(again.data(), rows, d));
    CHECK(again == full);
  }
}

TEST_CASE("quantile_hook: large buffers split over threads stay bit-identical") {
  const auto map = fitted_map();
  act::quantile_hook hook(map, 1.0);
  const Eigen::Index rows = 20000;
  const auto in = random_buffer<float>(static_cast<std::size_t>(rows * 3), 77);
  auto one = in, two = in;
  hook(act::view(one.data(), rows, 3));
  hook(act::view(two.data(), rows, 3), 2);
  CHECK(one == two);
}

TEST_CASE("quantile_hook: channel_spatial adds the transported mean's shift to every position") {
  const auto map = fitted_map();
  act::quantile_hook hook(map, 1.0);
  std::vector<float> fm{0.0f, 1.0f, 2.0f, 3.0f, -1.0f, -1.0f, 5.0f, 7.0f, 6.0f};  // 1 image, 3 channels, 3 positions
  const auto in = fm;
  hook.channel_spatial(fm.data(), 1, 3, 3);
  const float means[3] = {1.0f, 1.0f / 3.0f, 6.0f};
  for (int c = 0; c < 3; ++c) {
    const float shift = map.transport(c, means[c]) - means[c];
    for (int k = 0; k < 3; ++k)
      CHECK(fm[static_cast<std::size_t>(c * 3 + k)] ==
            doctest::Approx(in[static_cast<std::size_t>(c * 3 + k)] + shift).epsilon(1e-5));
  }
}

TEST_CASE("quantile_hook: bad maps, strengths and buffers raise the documented errors") {
  auto map = fitted_map();
  std::vector<float> buf(12);
  act::quantile_hook hook(map, 1.0);
  CHECK_THROWS_AS(hook(act::view(buf.data(), 3, 4)), act::shape_error);
  CHECK_THROWS_AS(hook.set_strength(std::numeric_limits<double>::quiet_NaN()), act::invalid_argument);
  CHECK_THROWS_AS(hook.masked(act::view(buf.data(), 4, 3), std::vector<std::uint8_t>(3, 1)), act::shape_error);
  CHECK_THROWS_AS(hook.last_rows(act::view(buf.data(), 4, 3), std::vector<Eigen::Index>{2, 1}), act::shape_error);
  CHECK_THROWS_AS(hook.last_rows(act::view(buf.data(), 4, 3), std::vector<Eigen::Index>{4, 0}), act::invalid_argument);
  CHECK_THROWS_AS(hook.per_row(act::view(buf.data(), 4, 3), std::vector<float>{1, 1, std::nanf(""), 1}),
                  act::invalid_argument);
  CHECK_THROWS_AS(hook.channel_spatial(buf.data(), 1, 4, 3), act::shape_error);
  map.knots_source(3, 1) = map.knots_source(2, 1) - 1.0f;
  CHECK_THROWS_AS(act::quantile_hook(map, 1.0), act::invalid_argument);
}

// Wide rows go through the kernel that runs 8 neighbouring searches side by side; the tail of a
// row (d not a multiple of 8) goes element by element. Both must agree with the reference.
TEST_CASE_TEMPLATE("wide rows: side-by-side searches match the reference transport", T, float, Eigen::half) {
  std::mt19937_64 rng(8);
  std::gamma_distribution<float> skew(2.0f, 1.0f);
  std::normal_distribution<float> z;
  const Eigen::Index d = 21;
  Eigen::MatrixXf a(300, d), b(250, d);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = skew(rng) - 2.0f;
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = 0.5f * z(rng) + ((i % 3) ? 1.0f : -2.0f);
  act::quantile_act_options opts;
  opts.knots = 37;  // not a power of two: uneven search steps
  const auto map = act::quantile_act(opts).fit(a, b).map;
  const Eigen::Index rows = 40;
  auto buf = random_buffer<T>(static_cast<std::size_t>(rows * d), 12);
  buf[0] = static_cast<T>(std::numeric_limits<float>::quiet_NaN());
  buf[1] = static_cast<T>(std::numeric_limits<float>::infinity());
  buf[2] = static_cast<T>(map.knots_source(0, 2));           // exactly the first knot
  buf[3] = static_cast<T>(map.knots_source(36, 3));          // exactly the last knot
  buf[4] = static_cast<T>(map.knots_source(17, 4));          // an inner knot
  buf[5] = static_cast<T>(map.knots_source(0, 5) - 100.0f);  // far below
  const auto before = buf;
  act::quantile_hook<float>(map, 0.7)(act::view(buf.data(), rows, d));
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) {
      const auto i = static_cast<std::size_t>(r * d + c);
      const float v = static_cast<float>(before[i]);
      CAPTURE(r);
      CAPTURE(c);
      if (!std::isfinite(v)) {
        CHECK(std::memcmp(&buf[i], &before[i], sizeof(T)) == 0);
        continue;
      }
      const float expected = static_cast<float>(static_cast<T>(map.transport(c, v, 0.7)));
      CHECK(static_cast<float>(buf[i]) == doctest::Approx(expected).epsilon(2e-3).scale(1.0));
    }
}
