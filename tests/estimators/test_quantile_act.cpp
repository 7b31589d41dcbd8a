#include <act/estimators/linear_act.hpp>
#include <act/estimators/quantile_act.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

namespace {

// 1-D W2 between equal-count samples, by sorting and pairing (independent of the library).
double w2_equal_counts(std::vector<double> x, std::vector<double> y) {
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
  return std::sqrt(s / static_cast<double>(x.size()));
}

std::vector<double> column(const MatrixXd& m, Eigen::Index j) { return {m.col(j).data(), m.col(j).data() + m.rows()}; }

}  // namespace

TEST_CASE("quantile_act: hand-computed case, all samples: knots are the sorted samples") {
  MatrixXd a(3, 1), b(3, 1);
  a << 2, 0, 1;
  b << 10, 0, 1;
  const auto fit = act::quantile_act{}.fit(a, b);  // K = 128 >= 3 samples: all samples
  CHECK(act::quantile_act::name == "quantile");
  REQUIRE(fit.map.knots() == 3);
  CHECK(fit.map.knots_source(0, 0) == 0.0);
  CHECK(fit.map.knots_source(2, 0) == 2.0);
  CHECK(fit.map.knots_target(1, 0) == 1.0);
  CHECK(fit.map.transport(0, 1.5) == doctest::Approx(5.5));
  CHECK(fit.diagnostics.w2_after[0] == doctest::Approx(0.0));
  CHECK(fit.diagnostics.w2_before[0] == doctest::Approx(std::sqrt(64.0 / 3.0)));
  CHECK(fit.source_samples == 3);
}

TEST_CASE("quantile_act: K uniform levels k / (K - 1) interpolate order statistics") {
  MatrixXd a(5, 1), b(5, 1);
  a << 0, 1, 2, 3, 4;
  b << 0, 10, 20, 30, 50;
  act::quantile_act est({3, 1});
  const auto fit = est.fit(a, b);
  REQUIRE(fit.map.knots() == 3);
  CHECK(fit.map.knots_source(1, 0) == 2.0);
  CHECK(fit.map.knots_target(1, 0) == 20.0);
  CHECK(fit.map.knots_target(2, 0) == 50.0);
  act::quantile_act est4({4, 1});
  const auto f4 = est4.fit(a, b);  // levels 0, 1/3, 2/3, 1: positions 4/3 and 8/3
  CHECK(f4.map.knots_source(1, 0) == doctest::Approx(4.0 / 3.0));
  CHECK(f4.map.knots_target(2, 0) == doctest::Approx(20.0 + 2.0 / 3.0 * 10.0));
}

TEST_CASE("quantile_act: unequal counts, all samples: the union of both level grids") {
  MatrixXd a(3, 1), b(2, 1);
  a << 0, 1, 2;
  b << 4, 8;
  act::quantile_act est({0, 1});
  const auto fit = est.fit(a, b);
  REQUIRE(fit.map.knots() == 3);  // {0, 1/2, 1} united with {0, 1}
  CHECK(fit.map.knots_target(1, 0) == 6.0);
  MatrixXd c(4, 1), e(3, 1);
  c << 0, 1, 2, 3;
  e << 0, 1, 2;
  const auto f2 = est.fit(c, e);
  CHECK(f2.map.knots() == 5);  // {0, 1/3, 1/2, 2/3, 1}
  CHECK(f2.map.knots_source(2, 0) == 1.5);
  CHECK(f2.map.knots_target(1, 0) == doctest::Approx(2.0 / 3.0));
}

TEST_CASE("quantile_act: tied source samples average their targets; a constant source is the mean shift") {
  MatrixXd a(4, 2), b(4, 2);
  a << 1, 5, 1, 5, 1, 5, 2, 5;
  b << 0, 1, 3, 2, 6, 3, 9, 6;
  const auto fit = act::quantile_act{}.fit(a, b);
  CHECK(fit.map.transport(0, 1.0) == doctest::Approx(3.0));  // mean of 0, 3, 6
  CHECK(fit.map.transport(0, 2.0) == doctest::Approx(9.0));
  CHECK(fit.map.transport(1, 5.0) == doctest::Approx(3.0));  // constant source: + (m_b - a) = -2
  CHECK(fit.map.transport(1, 0.0) == doctest::Approx(-2.0));
  CHECK(fit.map.transport(1, 9.0) == doctest::Approx(7.0));
  CHECK_NOTHROW(fit.map.validate());
}

TEST_CASE("quantile_act: bimodal to Gaussian at lambda 1: W2 cut >= 20x where the affine map cannot") {
  std::mt19937_64 rng(31);
  std::normal_distribution<double> mode(0.0, 0.4), gauss(1.0, 1.0);
  std::bernoulli_distribution coin(0.5);
  const Eigen::Index n = 2000;
  MatrixXd a(n, 2), b(n, 2);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < 2; ++j) {
      a(i, j) = (coin(rng) ? 3.0 : -3.0) + mode(rng) + static_cast<double>(j);
      b(i, j) = gauss(rng) * (1.0 + static_cast<double>(j));
    }
  const auto fit = act::quantile_act{}.fit(a, b);  // K = 128
  act::linear_act_options lopts;
  lopts.support = act::support::unbounded();
  const auto linear = act::linear_act(lopts).fit(a, b);
  for (Eigen::Index j = 0; j < 2; ++j) {
    std::vector<double> moved, affine;
    for (Eigen::Index i = 0; i < n; ++i) {
      moved.push_back(fit.map.transport(j, a(i, j)));
      affine.push_back(linear.map.transport(j, a(i, j)));
    }
    const double before = w2_equal_counts(column(a, j), column(b, j));
    const double after = w2_equal_counts(moved, column(b, j));
    const double after_affine = w2_equal_counts(affine, column(b, j));
    CAPTURE(before);
    CAPTURE(after);
    CAPTURE(after_affine);
    CHECK(after * 20.0 <= before);
    CHECK(after_affine * 20.0 > before);
    CHECK(fit.diagnostics.w2_after[j] == doctest::Approx(after).epsilon(1e-9));
    CHECK(fit.diagnostics.w2_before[j] == doctest::Approx(before).epsilon(1e-9));
    // Monotone through the whole range, extensions included.
    double previous = -1e300;
    for (double x = -8; x <= 8; x += 0.003) {
      const double y = fit.map.transport(j, x);
      CHECK(y >= previous);
      previous = y;
    }
  }
  SUBCASE("all samples: the source lands exactly on the target's empirical distribution") {
    const auto exact = act::quantile_act({0, 2}).fit(a, b);
    CHECK(exact.map.knots() == n);
    std::vector<double> moved;
    for (Eigen::Index i = 0; i < n; ++i) moved.push_back(exact.map.transport(0, a(i, 0)));
    CHECK(w2_equal_counts(moved, column(b, 0)) < 1e-12);
  }
}

TEST_CASE("quantile_act: reduces to linear_act on Gaussian pairs") {
  std::mt19937_64 rng(37);
  std::normal_distribution<double> ga(1.0, 2.0), gb(-0.5, 0.7);
  const Eigen::Index n = 20000;
  MatrixXd a(n, 1), b(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, 0) = ga(rng);
    b(i, 0) = gb(rng);
  }
  const auto q = act::quantile_act{}.fit(a, b);
  const auto l = act::linear_act{}.fit(a, b);
  CHECK(q.diagnostics.w2_after[0] <= l.diagnostics.w2_after[0] + 1e-12);
  // Over the central 98% of the source (tails rest on a handful of samples).
  for (double x = 1.0 - 2.0 * 2.33; x <= 1.0 + 2.0 * 2.33; x += 0.05)
    CHECK(std::abs(q.map.transport(0, x) - l.map.transport(0, x)) < 0.05 * 0.7);
}

TEST_CASE("quantile_act: float samples and threads give the same knots as one thread") {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(300, 7), b = Eigen::MatrixXf::Random(200, 7).array().cube().matrix();
  const auto one = act::quantile_act({16, 1}).fit(a, b);
  const auto two = act::quantile_act({16, 2}).fit(a, b);
  CHECK(one.map.knots_source == two.map.knots_source);
  CHECK(one.map.knots_target == two.map.knots_target);
  CHECK_NOTHROW(one.map.validate());
}

TEST_CASE("quantile_act: bad options and inputs raise the documented errors") {
  MatrixXd a = MatrixXd::Random(4, 2), b = MatrixXd::Random(5, 2);
  CHECK_THROWS_AS(act::quantile_act({1, 1}).fit(a, b), act::invalid_argument);
  CHECK_THROWS_AS(act::quantile_act({-3, 1}).fit(a, b), act::invalid_argument);
  CHECK_THROWS_AS(act::quantile_act{}.fit(a, MatrixXd::Random(5, 3)), act::shape_error);
  CHECK_THROWS_AS(act::quantile_act{}.fit(MatrixXd::Random(1, 2), b), act::invalid_argument);
}
