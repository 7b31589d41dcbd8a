#include <act/estimators/caa.hpp>

#include <limits>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

TEST_CASE("caa: hand-computed paired case; beta is the mean of the paired differences") {
  MatrixXd a(3, 2), b(3, 2);
  a << 0, 1, 1, 1, 2, 4;
  b << 1, 0, 3, 0, 5, 0;
  const auto fit = act::caa{}.fit(a, b);
  CHECK(act::caa::name == "caa");
  // Differences (1, -1), (2, -1), (3, -4): means 2 and -2.
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.omega[1] == 1.0);
  CHECK(fit.map.beta[0] == doctest::Approx(2.0));
  CHECK(fit.map.beta[1] == doctest::Approx(-2.0));
  CHECK_FALSE(fit.map.bounded());
  // lambda multiplies beta: at lambda 3 the shift is 3 beta.
  CHECK(fit.map.transport(0, 10.0, 3.0) == doctest::Approx(16.0));
}

TEST_CASE("caa: unpaired samples of different counts use the difference of means") {
  MatrixXd a(2, 1), b(5, 1);
  a << 1, 3;
  b << 0, 0, 0, 0, 10;
  CHECK(act::caa{}.fit(a, b).map.beta[0] == doctest::Approx(2.0 - 2.0));
}

TEST_CASE("caa: bad inputs raise the documented errors") {
  MatrixXd a = MatrixXd::Zero(4, 2), b = MatrixXd::Zero(4, 1);
  CHECK_THROWS_AS(act::caa{}.fit(a, b), act::shape_error);
  MatrixXd inf = a;
  inf(0, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(act::caa{}.fit(inf, a), act::non_finite_error);
}
