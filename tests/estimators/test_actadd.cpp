#include <act/estimators/actadd.hpp>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

TEST_CASE("actadd: beta is the chosen pair's difference; default rows 0") {
  MatrixXd a(3, 2), b(2, 2);
  a << 1, 2, 3, 4, 5, 6;
  b << 10, 20, 30, 40;
  const auto first = act::actadd{}.fit(a, b);
  CHECK(act::actadd::name == "actadd");
  CHECK(first.map.omega[0] == 1.0);
  CHECK(first.map.beta[0] == 9.0);
  CHECK(first.map.beta[1] == 18.0);
  CHECK_FALSE(first.map.bounded());
  act::actadd_options opts;
  opts.source_row = 2;
  opts.target_row = 1;
  const auto chosen = act::actadd(opts).fit(a, b);
  CHECK(chosen.map.beta[0] == 25.0);
  CHECK(chosen.map.beta[1] == 34.0);
  // lambda multiplies beta.
  CHECK(chosen.map.transport(0, 1.0, 2.0) == doctest::Approx(51.0));
}

TEST_CASE("actadd: rows out of range raise act::invalid_argument") {
  MatrixXd a = MatrixXd::Zero(3, 2), b = MatrixXd::Zero(2, 2);
  act::actadd_options opts;
  opts.target_row = 2;
  CHECK_THROWS_AS(act::actadd(opts).fit(a, b), act::invalid_argument);
  opts.target_row = 0;
  opts.source_row = -1;
  CHECK_THROWS_AS(act::actadd(opts).fit(a, b), act::invalid_argument);
  CHECK_THROWS_AS(act::actadd{}.fit(a, MatrixXd::Zero(2, 3)), act::shape_error);
}
