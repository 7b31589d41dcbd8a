#include <act/estimators/gaussian_act.hpp>

#include <cmath>
#include <limits>
#include <random>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

TEST_CASE("gaussian_act: hand-computed case: sd 1 -> sd 2 gives omega 2, beta 1, support [min, max]") {
  MatrixXd a(3, 1), b(3, 1);
  a << 0, 2, 1;  // mean 1, sample sd 1
  b << 5, 3, 1;  // mean 3, sample sd 2
  const auto fit = act::gaussian_act{}.fit(a, b);
  CHECK(act::gaussian_act::name == "gaussian");
  CHECK(fit.map.omega[0] == doctest::Approx(2.0));
  CHECK(fit.map.beta[0] == doctest::Approx(1.0));
  REQUIRE(fit.map.bounded());
  CHECK(fit.map.lower[0] == 0.0);
  CHECK(fit.map.upper[0] == 2.0);
  CHECK(fit.diagnostics.w2_after[0] == doctest::Approx(0.0).epsilon(1e-12));
}

TEST_CASE("gaussian_act: unequal counts use each side's own n - 1") {
  MatrixXd a(2, 1), b(3, 1);
  a << 0, 2;     // mean 1, sample sd sqrt(2)
  b << 0, 3, 6;  // mean 3, sample sd 3
  const auto fit = act::gaussian_act{}.fit(a, b);
  const double omega = 3.0 / std::sqrt(2.0);
  CHECK(fit.map.omega[0] == doctest::Approx(omega));
  CHECK(fit.map.beta[0] == doctest::Approx(3.0 - omega));
}

TEST_CASE("gaussian_act: a constant source neuron gets the identity (the reference's rule), flagged") {
  MatrixXd a(3, 2), b(3, 2);
  a << 4, 0, 4, 1, 4, 2;
  b << 1, 0, 2, 1, 6, 2;
  const auto fit = act::gaussian_act{}.fit(a, b);
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == 0.0);
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK_FALSE(fit.diagnostics.low_spread[1]);
  CHECK(fit.map.omega[1] == doctest::Approx(1.0));
  CHECK(fit.map.beta[1] == doctest::Approx(0.0));
  CHECK(std::isfinite(fit.diagnostics.w2_after[0]));
}

TEST_CASE("gaussian_act: on large Gaussian samples omega ~ sd_B / sd_A") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> na(1.0, 2.0), nb(-1.0, 0.5);
  MatrixXd a(4000, 1), b(3000, 1);
  for (Eigen::Index i = 0; i < a.rows(); ++i) a(i, 0) = na(rng);
  for (Eigen::Index i = 0; i < b.rows(); ++i) b(i, 0) = nb(rng);
  const auto fit = act::gaussian_act{}.fit(a, b);
  CHECK(fit.map.omega[0] == doctest::Approx(0.25).epsilon(0.05));
}

TEST_CASE("gaussian_act: bad inputs raise the documented errors") {
  MatrixXd a = MatrixXd::Zero(1, 2), b = MatrixXd::Zero(3, 2);
  CHECK_THROWS_AS(act::gaussian_act{}.fit(a, b), act::invalid_argument);
  MatrixXd nan = b;
  nan(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(act::gaussian_act{}.fit(b, nan), act::non_finite_error);
}
