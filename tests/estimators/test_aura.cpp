#include <act/estimators/aura.hpp>

#include <random>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

namespace {

// Mann-Whitney by definition: count every (source, target) pair, ties one half.
double brute_force_auroc(const MatrixXd& a, const MatrixXd& b, Eigen::Index j) {
  double u = 0;
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index k = 0; k < b.rows(); ++k) u += a(i, j) > b(k, j) ? 1.0 : a(i, j) == b(k, j) ? 0.5 : 0.0;
  return u / static_cast<double>(a.rows() * b.rows());
}

}  // namespace

TEST_CASE("aura: hand-computed cases, including ties") {
  MatrixXd a(2, 4), b(2, 4);
  // neuron 0: perfect source detector (AUROC 1) -> omega 0
  // neuron 1: source below target (AUROC 0) -> omega 1
  // neuron 2: {1, 2} vs {2, 3}: 0.5 / 4 = 0.125 -> omega 1
  // neuron 3: {2, 3} vs {1, 2}: 3.5 / 4 = 0.875 -> omega 1 - 0.75 = 0.25
  a << 3, 1, 1, 2,  //
      4, 2, 2, 3;
  b << 1, 3, 2, 1,  //
      2, 4, 3, 2;
  act::aura est;
  const Eigen::ArrayXd auc = est.auroc(a, b);
  CHECK(auc[0] == 1.0);
  CHECK(auc[1] == 0.0);
  CHECK(auc[2] == 0.125);
  CHECK(auc[3] == 0.875);
  const auto fit = est.fit(a, b);
  CHECK(act::aura::name == "aura");
  CHECK(fit.map.omega[0] == 0.0);
  CHECK(fit.map.omega[1] == 1.0);
  CHECK(fit.map.omega[2] == 1.0);
  CHECK(fit.map.omega[3] == 0.25);
  CHECK((fit.map.beta == 0.0).all());
  CHECK_FALSE(fit.map.bounded());
}

TEST_CASE("aura: AUROC equals brute-force Mann-Whitney with many ties and unequal counts") {
  std::mt19937_64 rng(13);
  std::uniform_int_distribution<int> small(0, 4), wide(-3, 6);
  MatrixXd a(37, 5), b(23, 5);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = small(rng);
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = (i % 2) ? small(rng) : wide(rng);
  act::aura est;
  est.options.threads = 2;
  const Eigen::ArrayXd auc = est.auroc(a, b);
  const auto fit = est.fit(a, b);
  for (Eigen::Index j = 0; j < 5; ++j) {
    const double ref = brute_force_auroc(a, b, j);
    CHECK(auc[j] == doctest::Approx(ref).epsilon(1e-14));
    CHECK(fit.map.omega[j] == doctest::Approx(ref > 0.5 ? 1.0 - 2.0 * (ref - 0.5) : 1.0).epsilon(1e-14));
  }
}

TEST_CASE("aura: bad inputs raise the documented errors") {
  CHECK_THROWS_AS(act::aura{}.fit(MatrixXd::Zero(3, 2), MatrixXd::Zero(3, 1)), act::shape_error);
  CHECK_THROWS_AS(act::aura{}.auroc(MatrixXd::Zero(1, 2), MatrixXd::Zero(3, 2)), act::invalid_argument);
}
