#include <act/maps/affine_map.hpp>

#include <limits>

#include <doctest/doctest.h>

TEST_CASE_TEMPLATE("fused coefficients at strength lambda", T, float, double) {
  act::affine_map<T> m = act::affine_map<T>::identity(2);
  m.omega << T(3), T(0.5);
  m.beta << T(2), T(-1);
  const auto f = m.at_strength(0.5);
  CHECK(f.scale[0] == doctest::Approx(2.0));  // 1 + 0.5 (3 - 1)
  CHECK(f.scale[1] == doctest::Approx(0.75));
  CHECK(f.shift[0] == doctest::Approx(1.0));
  CHECK(f.shift[1] == doctest::Approx(-0.5));
  const auto zero = m.at_strength(0.0);
  CHECK((zero.scale == T(1)).all());
  CHECK((zero.shift == T(0)).all());
  CHECK(m.transport(0, T(1), 0.5) == doctest::Approx(0.5 * 1 + 0.5 * 5));
  CHECK(m.dim() == 2);
  CHECK_FALSE(m.bounded());
  CHECK(m.template cast<double>().omega[1] == doctest::Approx(0.5));
}

TEST_CASE("support gates the reference transport") {
  act::affine_map<float> m = act::affine_map<float>::identity(1);
  m.beta[0] = 1.0f;
  m.lower = Eigen::ArrayXf::Constant(1, 0.0f);
  m.upper = Eigen::ArrayXf::Constant(1, 1.0f);
  CHECK(m.transport(0, 0.5f) == 1.5f);
  CHECK(m.bounds == act::support_bounds::open);  // the default: the reference's strict test
  CHECK(m.transport(0, 1.0f) == 1.0f);
  CHECK(m.transport(0, 0.0f) == 0.0f);
  m.bounds = act::support_bounds::closed;
  CHECK(m.transport(0, 1.0f) == 2.0f);
  CHECK(m.transport(0, 0.0f) == 1.0f);
  CHECK(m.transport(0, 1.5f) == 1.5f);
  CHECK(std::isnan(m.transport(0, std::numeric_limits<float>::quiet_NaN())));
  CHECK(m.cast<double>().bounds == act::support_bounds::closed);
}

TEST_CASE_TEMPLATE("transport keeps +-Inf bit for bit, bounded or not, even when omega = 0", T, float, double) {
  constexpr T inf = std::numeric_limits<T>::infinity();
  act::affine_map<T> m = act::affine_map<T>::identity(1);
  m.omega[0] = 0;  // inf * 0 would be NaN
  m.beta[0] = 2;
  for (const bool bounded : {false, true})
    for (const auto rule : {act::support_bounds::open, act::support_bounds::closed}) {
      if (bounded) {
        m.lower = Eigen::Array<T, Eigen::Dynamic, 1>::Constant(1, -inf);
        m.upper = Eigen::Array<T, Eigen::Dynamic, 1>::Constant(1, inf);
      }
      m.bounds = rule;
      CHECK(m.transport(0, inf) == inf);
      CHECK(m.transport(0, -inf) == -inf);
      CHECK_FALSE(m.in_support(0, inf));
      CHECK(m.transport(0, T(1)) == T(2));
    }
}

TEST_CASE("validate names what is malformed") {
  act::affine_map<float> m = act::affine_map<float>::identity(3);
  CHECK_NOTHROW(m.validate());
  auto e = m;
  e.beta.resize(2);
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("beta has 2"), act::shape_error);
  e = m;
  e.omega[2] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("neuron 2"), act::non_finite_error);
  e = m;
  e.lower = Eigen::ArrayXf::Zero(3);
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("upper has 0"), act::shape_error);
  e.upper = Eigen::ArrayXf::Zero(3);
  e.upper[1] = -1.0f;
  CHECK_THROWS_WITH_AS(e.validate(), doctest::Contains("neuron 1"), act::invalid_argument);
  CHECK_THROWS_AS(act::affine_map<float>{}.validate(), act::invalid_argument);
  CHECK_THROWS_AS(m.at_strength(std::nan("")), act::invalid_argument);
}
