#include <act/maps/quantile_map.hpp>

#include <cmath>
#include <limits>

#include <doctest/doctest.h>

namespace {

// Knots (0, 0), (1, 2), (3, 3) for neuron 0; (-1, 1), (0, 1), (1, 5) for neuron 1.
act::quantile_map<double> small_map() {
  act::quantile_map<double> m;
  m.knots_source.resize(3, 2);
  m.knots_target.resize(3, 2);
  m.knots_source << 0, -1, 1, 0, 3, 1;
  m.knots_target << 0, 1, 2, 1, 3, 5;
  return m;
}

}  // namespace

TEST_CASE("quantile_map: piecewise-linear between knots, slope-1 shift beyond them") {
  const auto m = small_map();
  CHECK(m.dim() == 2);
  CHECK(m.knots() == 3);
  CHECK_NOTHROW(m.validate());
  CHECK(m.transport(0, 0.5) == doctest::Approx(1.0));
  CHECK(m.transport(0, 1.0) == doctest::Approx(2.0));
  CHECK(m.transport(0, 2.0) == doctest::Approx(2.5));
  CHECK(m.transport(0, 3.0) == doctest::Approx(3.0));
  CHECK(m.transport(0, -1.0) == doctest::Approx(-1.0));  // y_0 - x_0 = 0
  CHECK(m.transport(0, 10.0) == doctest::Approx(10.0));  // y_2 - x_2 = 0
  CHECK(m.transport(1, -3.0) == doctest::Approx(-1.0));  // shift by 2 below
  CHECK(m.transport(1, 0.5) == doctest::Approx(3.0));
  CHECK(m.transport(1, 7.0) == doctest::Approx(11.0));  // shift by 4 above
}

TEST_CASE("quantile_map: strength interpolates, lambda 0 is the identity, NaN and Inf pass") {
  const auto m = small_map();
  CHECK(m.transport(0, 0.5, 0.5) == doctest::Approx(0.75));
  CHECK(m.transport(1, 0.5, 2.0) == doctest::Approx(5.5));
  CHECK(m.transport(0, 0.5, 0.0) == 0.5);
  CHECK(std::isnan(m.transport(0, std::numeric_limits<double>::quiet_NaN())));
  CHECK(m.transport(1, std::numeric_limits<double>::infinity()) == std::numeric_limits<double>::infinity());
  CHECK(m.transport(1, -std::numeric_limits<double>::infinity()) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("quantile_map: monotone on a fine grid") {
  const auto m = small_map();
  for (Eigen::Index j = 0; j < 2; ++j) {
    double previous = -1e300;
    for (double a = -5; a <= 5; a += 0.01) {
      const double y = m.transport(j, a);
      CHECK(y >= previous);
      previous = y;
    }
  }
}

TEST_CASE("quantile_map: cast keeps the knots") {
  const auto f = small_map().cast<float>();
  CHECK(f.knots_target(2, 1) == 5.0f);
  CHECK(f.transport(0, 2.0f) == doctest::Approx(2.5f));
}

TEST_CASE("quantile_map: validate names what is wrong") {
  auto m = small_map();
  m.knots_source(2, 1) = -2.0;
  CHECK_THROWS_WITH_AS(m.validate(),
                       "quantile_map: knots_source is not ascending at neuron 1: knot 1 is 0 but knot 2 is -2",
                       act::invalid_argument);
  m = small_map();
  m.knots_target(0, 0) = 2.5;
  CHECK_THROWS_AS(m.validate(), act::invalid_argument);
  m = small_map();
  m.knots_target(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(m.validate(), "quantile_map: knots_target has non-finite value nan at knot 1, neuron 1",
                       act::non_finite_error);
  m = small_map();
  m.knots_target.resize(3, 3);
  m.knots_target.setZero();
  CHECK_THROWS_AS(m.validate(), act::shape_error);
  CHECK_THROWS_AS(act::quantile_map<float>{}.validate(), act::invalid_argument);
}
