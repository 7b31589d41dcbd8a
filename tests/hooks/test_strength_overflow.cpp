// A strength at which a map would turn finite activations into Inf or NaN is an error naming the strength,
// and nothing changes: coefficients, hooks and folding into a linear layer.
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/fold.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <act/maps/affine_map.hpp>
#include <act/maps/quantile_map.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <doctest/doctest.h>

#include "map_test_util.hpp"

namespace {

using rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using act_test::additive;
using act_test::scaling;

/// Two neurons, two knots: neuron 0 maps [-1, 1] to [-1, 2], neuron 1 maps [low, 1] to [-1, high].
act::quantile_map<float> quantile(float high, float low = -1.0f) {
  act::quantile_map<float> q;
  q.knots_source.resize(2, 2);
  q.knots_target.resize(2, 2);
  q.knots_source << -1, low, 1, 1;
  q.knots_target << -1, -1, 2, high;
  return q;
}

rows sample() {
  rows x(2, 3);
  x << 0.5f, -1.0f, 2.0f, 100.0f, -100.0f, 0.0f;
  return x;
}

}  // namespace

TEST_CASE("affine coefficients that overflow at a strength are refused, naming the strength and the neuron") {
  CHECK_THROWS_WITH_AS(
      additive(2.0f).at_strength(1e308),
      doctest::Contains("affine_map::at_strength: strength 1e+308 is too large for this map: neuron 0"),
      act::non_finite_error);
  CHECK_THROWS_AS(scaling(5.0f).at_strength(1e38), act::non_finite_error);  // scale 1 + 4e38
  CHECK_NOTHROW(scaling(2.0f).at_strength(1e38));                           // scale 1 + 1e38
  CHECK_NOTHROW(additive(2.0f).at_strength(1e30));                          // large, but finite: not refused
  CHECK_THROWS_AS(additive(2.0f).at_strength(std::nan("")), act::invalid_argument);
}

TEST_CASE("hooks refuse a strength they cannot take and keep their old one") {
  act::affine_hook<float> hook(additive(2.0f), 0.5);
  CHECK_THROWS_WITH_AS(act::affine_hook<float>(additive(2.0f), 1e308),
                       doctest::Contains("affine_hook: strength 1e+308"), act::non_finite_error);
  CHECK_THROWS_AS(hook.set_strength(1e308), act::non_finite_error);
  CHECK(hook.strength() == 0.5);
  rows x = sample();
  hook(act::view(x));
  CHECK(x(0, 0) == 1.5f);  // still lambda 0.5

  act::quantile_hook<float> q(quantile(3.0e38f), 0.5);  // neuron 1 moves its top knot by 3e38
  CHECK_THROWS_WITH_AS(q.set_strength(10.0),
                       doctest::Contains("quantile_hook: strength 10 is too large for this map: neuron 1"),
                       act::non_finite_error);
  CHECK_THROWS_AS(act::quantile_hook<float>(quantile(1.0f), 1e308), act::non_finite_error);
  CHECK(q.strength() == 0.5);
  CHECK_NOTHROW(q.set_strength(1.0));
}

TEST_CASE("a quantile map whose displacement overflows a float is refused at any strength") {
  // Neuron 1 moves -3e38 to -1 and 1 to 3e38: T(a) - a reaches 3e38 + 1 at one knot, 3e38 at the other ...
  CHECK_NOTHROW(act::quantile_hook<float>(quantile(3.0e38f, -3.0e38f), 1.0));
  // ... while -3e38 -> 3e38 at the same knot would move it by 6e38, more than a float holds.
  act::quantile_map<float> q = quantile(3.0e38f, -3.0e38f);
  q.knots_target(0, 1) = 3.0e38f;
  q.knots_source(1, 1) = 3.0e38f;
  q.knots_target(1, 1) = 3.0e38f;
  CHECK_THROWS_WITH_AS(act::quantile_hook<float>(q, 0.0), doctest::Contains("neuron 1"), act::non_finite_error);
}

TEST_CASE("fold_into_linear refuses a strength that makes weights or biases non-finite, leaving them unchanged") {
  Eigen::MatrixXf w = Eigen::MatrixXf::Ones(3, 2);
  Eigen::VectorXf c = Eigen::VectorXf::Ones(3);
  w(1, 1) = 1e37f;
  const Eigen::MatrixXf w0 = w;
  const Eigen::VectorXf c0 = c;
  CHECK_THROWS_WITH_AS(act::fold_into_linear(w, c, scaling(11.0f), 10.0),
                       doctest::Contains("fold_into_linear: strength 10 makes weight [1, 1] non-finite"),
                       act::non_finite_error);
  CHECK(w == w0);
  CHECK(c == c0);
  c(2) = 3e38f;
  CHECK_THROWS_WITH_AS(act::fold_into_linear(w, c, scaling(2.0f), 1.0), doctest::Contains("bias of neuron 2"),
                       act::non_finite_error);
  CHECK_THROWS_AS(act::fold_into_linear(w, c, additive(1.0f), 1e308), act::non_finite_error);
  CHECK(w == w0);
  act::fold_into_linear(w, c0.eval(), additive(1.0f), 2.0);  // a fine strength still folds
}
