#include <act/estimators/itic.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

TEST_CASE("itic: hand-computed 1-D case: unit normal +1, beta = sample sd of all samples") {
  MatrixXd a(2, 1), b(2, 1);
  a << -2, -1;
  b << 1, 2;
  const auto fit = act::itic{}.fit(a, b);
  CHECK(act::itic::name == "itic");
  CHECK(fit.map.omega[0] == 1.0);
  // Projections {-2, -1, 1, 2}: mean 0, sample variance 10 / 3.
  CHECK(fit.map.beta[0] == doctest::Approx(std::sqrt(10.0 / 3.0)));
}

TEST_CASE("itic: hand-computed 2-D symmetric case: the probe normal is the x axis by symmetry") {
  MatrixXd a(2, 2), b(2, 2);
  a << -1, 1, -1, -1;
  b << 1, 1, 1, -1;
  const auto fit = act::itic{}.fit(a, b);
  CHECK(fit.map.beta[0] == doctest::Approx(std::sqrt(4.0 / 3.0)));
  CHECK(fit.map.beta[1] == doctest::Approx(0.0).epsilon(1e-12));
}

TEST_CASE("itic: the probe separates linearly separable data; the direction points to the target") {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> noise(0.0, 0.3);
  const Eigen::Index n = 60, d = 4;
  MatrixXd a(n, d), b(n + 10, d);
  const Eigen::Vector4d axis = Eigen::Vector4d(1, -2, 0.5, 0).normalized();
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    for (Eigen::Index j = 0; j < d; ++j) a(i, j) = noise(rng) * 3;
    a.row(i) -= (a.row(i).dot(axis) + 1.0 + std::abs(noise(rng))) * axis.transpose();  // projection <= -1
  }
  for (Eigen::Index i = 0; i < b.rows(); ++i) {
    for (Eigen::Index j = 0; j < d; ++j) b(i, j) = noise(rng) * 3;
    b.row(i) += (1.0 + std::abs(noise(rng)) - b.row(i).dot(axis)) * axis.transpose();  // projection >= 1
  }
  act::itic est;
  const auto probe = est.probe(a, b);
  CHECK(probe.iterations > 0);
  CHECK(probe.iterations < est.options.max_iterations);
  for (Eigen::Index i = 0; i < a.rows(); ++i) CHECK(a.row(i).dot(probe.normal) + probe.offset < 0.0);
  for (Eigen::Index i = 0; i < b.rows(); ++i) CHECK(b.row(i).dot(probe.normal) + probe.offset > 0.0);
  const auto fit = est.fit(a, b);
  const Eigen::VectorXd mean_diff = (b.colwise().mean() - a.colwise().mean()).transpose();
  CHECK(fit.map.beta.matrix().dot(mean_diff) > 0.0);
  CHECK(fit.map.beta.matrix().normalized().dot(axis) > 0.9);

  SUBCASE("deterministic across runs (bit for bit)") {
    const auto again = act::itic{}.fit(a, b);
    CHECK(std::memcmp(again.map.beta.data(), fit.map.beta.data(), sizeof(double) * d) == 0);
  }
  SUBCASE("unstandardised probe also separates") {
    act::itic_options opts;
    opts.standardize = false;
    const auto raw = act::itic(opts).probe(a, b);
    for (Eigen::Index i = 0; i < a.rows(); ++i) CHECK(a.row(i).dot(raw.normal) + raw.offset < 0.0);
    for (Eigen::Index i = 0; i < b.rows(); ++i) CHECK(b.row(i).dot(raw.normal) + raw.offset > 0.0);
  }
}

TEST_CASE("itic: identical samples give beta = 0; a constant neuron is harmless") {
  MatrixXd a(3, 2);
  a << 1, 5, 2, 5, 3, 5;
  const auto fit = act::itic{}.fit(a, a);
  CHECK(fit.map.beta[0] == doctest::Approx(0.0));
  CHECK(fit.map.beta[1] == doctest::Approx(0.0));
}

TEST_CASE("itic: bad options and inputs raise the documented errors") {
  MatrixXd a = MatrixXd::Random(4, 2), b = MatrixXd::Random(4, 2);
  act::itic_options opts;
  opts.l2 = 0.0;
  CHECK_THROWS_AS(act::itic(opts).fit(a, b), act::invalid_argument);
  opts.l2 = 1.0;
  opts.max_iterations = 0;
  CHECK_THROWS_AS(act::itic(opts).fit(a, b), act::invalid_argument);
  CHECK_THROWS_AS(act::itic{}.fit(a, MatrixXd::Random(4, 3)), act::shape_error);
}
