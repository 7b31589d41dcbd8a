#include <act/estimators/mean_act.hpp>

#include <cmath>
#include <limits>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

TEST_CASE("mean_act: hand-computed case a = {0,1,2}, b = {1,3,5}: omega 1, beta 2, unbounded") {
  MatrixXd a(3, 1), b(3, 1);
  a << 2, 0, 1;
  b << 5, 1, 3;
  const auto fit = act::mean_act{}.fit(a, b);
  CHECK(act::mean_act::name == "mean");
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == doctest::Approx(2.0).epsilon(1e-15));
  CHECK_FALSE(fit.map.bounded());
  CHECK(fit.source_samples == 3);
  CHECK(fit.target_samples == 3);
  // W2 before: sqrt(mean(1, 4, 9)); after the shift {2, 3, 4} vs {1, 3, 5}: sqrt(mean(1, 0, 1)).
  CHECK(fit.diagnostics.w2_before[0] == doctest::Approx(std::sqrt(14.0 / 3.0)));
  CHECK(fit.diagnostics.w2_after[0] == doctest::Approx(std::sqrt(2.0 / 3.0)));
  CHECK(fit.diagnostics.r2[0] == doctest::Approx(1.0));
}

TEST_CASE("mean_act: unequal counts, several neurons, float, and a [min, max] support on request") {
  Eigen::MatrixXf a(2, 2), b(4, 2);
  a << 0, 10, 2, 20;
  b << 1, -1, 2, -2, 3, -3, 6, -6;
  act::mean_act est({act::support::min_max(), 1});
  const auto fit = est.fit(a, b);
  CHECK(fit.map.beta[0] == doctest::Approx(3.0 - 1.0));
  CHECK(fit.map.beta[1] == doctest::Approx(-3.0 - 15.0));
  CHECK(fit.map.lower[1] == 10.0f);
  CHECK(fit.map.upper[1] == 20.0f);
}

TEST_CASE("mean_act: bad inputs raise the documented errors") {
  MatrixXd a = MatrixXd::Ones(3, 2), b = MatrixXd::Ones(3, 3), one = MatrixXd::Ones(1, 2);
  CHECK_THROWS_AS(act::mean_act{}.fit(a, b), act::shape_error);
  CHECK_THROWS_AS(act::mean_act{}.fit(one, a), act::invalid_argument);
  MatrixXd nan = a;
  nan(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(act::mean_act{}.fit(a, nan), act::non_finite_error);
}
