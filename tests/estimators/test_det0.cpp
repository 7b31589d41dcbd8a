#include <act/estimators/det0.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <set>

#include <doctest/doctest.h>

using Eigen::MatrixXd;

namespace {

// Average precision by definition: over each distinct threshold t (descending), predicted
// positive = value >= t; AP = sum (recall step) * precision.
double brute_force_ap(const MatrixXd& a, const MatrixXd& b, Eigen::Index j) {
  std::set<double, std::greater<>> thresholds;
  for (Eigen::Index i = 0; i < a.rows(); ++i) thresholds.insert(a(i, j));
  for (Eigen::Index i = 0; i < b.rows(); ++i) thresholds.insert(b(i, j));
  double ap = 0, previous_recall = 0;
  for (double t : thresholds) {
    const double tp = static_cast<double>((a.col(j).array() >= t).count());
    const double fp = static_cast<double>((b.col(j).array() >= t).count());
    const double recall = tp / static_cast<double>(a.rows());
    if (tp > 0) ap += (recall - previous_recall) * tp / (tp + fp);
    previous_recall = recall;
  }
  return ap;
}

}  // namespace

TEST_CASE("det0: hand-computed average precision; experts are exactly the neurons above the threshold") {
  MatrixXd a(2, 4), b(2, 4);
  // neuron 0: source {3, 4} above target {1, 2}: AP 1          -> expert
  // neuron 1: source {3, 1}, target {2, 0}: 0.5 * 1 + 0.5 * 2/3 = 5/6 -> not an expert at 0.9
  // neuron 2: source below the target: AP = 0.5 * 1/3 + 0.5 * 2/4 = 5/12
  // neuron 3: source {5, 5} vs target {5, 0}: the tie enters together: 1 * 2/3
  a << 3, 3, 1, 5,  //
      4, 1, 2, 5;
  b << 1, 2, 3, 5,  //
      2, 0, 4, 0;
  act::det0 est;
  const Eigen::ArrayXd ap = est.average_precision(a, b);
  CHECK(ap[0] == doctest::Approx(1.0));
  CHECK(ap[1] == doctest::Approx(5.0 / 6.0));
  CHECK(ap[2] == doctest::Approx(5.0 / 12.0));
  CHECK(ap[3] == doctest::Approx(2.0 / 3.0));
  const auto fit = est.fit(a, b);
  CHECK(act::det0::name == "det0");
  CHECK(fit.map.omega[0] == 0.0);
  CHECK(fit.map.beta[0] == doctest::Approx(1.5));  // target mean
  for (Eigen::Index j = 1; j < 4; ++j) {
    CHECK(fit.map.omega[j] == 1.0);
    CHECK(fit.map.beta[j] == 0.0);
  }
  SUBCASE("a lower threshold adds the 5/6 neuron") {
    est.options.threshold = 0.8;
    const auto f = est.fit(a, b);
    CHECK(f.map.omega[1] == 0.0);
    CHECK(f.map.beta[1] == doctest::Approx(1.0));
    CHECK(f.map.omega[3] == 1.0);
  }
  SUBCASE("both directions: a neuron that is low on the source counts too") {
    est.options.both_directions = true;
    est.options.threshold = 0.99;
    const auto f = est.fit(a, b);
    CHECK(f.map.omega[0] == 0.0);
    CHECK(f.map.omega[2] == 0.0);  // source {1, 2} entirely below target {3, 4}
    CHECK(f.map.omega[1] == 1.0);
  }
}

TEST_CASE("det0: average precision equals the definition on tied random data") {
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int> values(0, 5);
  MatrixXd a(19, 6), b(31, 6);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = values(rng) + (i % 3 == 0 ? 2 : 0);
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = values(rng);
  const Eigen::ArrayXd ap = act::det0{}.average_precision(a, b);
  for (Eigen::Index j = 0; j < 6; ++j) CHECK(ap[j] == doctest::Approx(brute_force_ap(a, b, j)).epsilon(1e-14));
}

TEST_CASE("det0: bad threshold and inputs raise the documented errors") {
  act::det0_options opts;
  opts.threshold = 1.5;
  CHECK_THROWS_AS(act::det0(opts).fit(MatrixXd::Zero(3, 2), MatrixXd::Zero(3, 2)), act::invalid_argument);
  CHECK_THROWS_AS(act::det0{}.fit(MatrixXd::Zero(3, 2), MatrixXd::Zero(3, 1)), act::shape_error);
}
