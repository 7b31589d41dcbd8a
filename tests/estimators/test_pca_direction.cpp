#include <act/estimators/pca_direction.hpp>
#include <act/estimators/pca_uncentred.hpp>
#include <act/estimators/registry.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <doctest/doctest.h>

using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

MatrixXd random_matrix(Eigen::Index rows, Eigen::Index cols, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, 1.0);
  MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = n(rng);
  return m;
}

// Independent references: power iteration on the scatter of the (centred or raw) differences, a unit
// vector; centred: repeng's sign (most pairs' differences project positively), uncentred: toward the mean.
VectorXd reference_beta(const MatrixXd& a, const MatrixXd& b, bool centred = true) {
  const MatrixXd raw = b - a;
  MatrixXd diff = raw;
  const VectorXd mean = diff.colwise().mean().transpose();
  if (centred) diff.rowwise() -= mean.transpose();
  const MatrixXd scatter = diff.transpose() * diff;
  VectorXd v = VectorXd::Ones(a.cols());
  for (int it = 0; it < 5000; ++it) v = (scatter * v).normalized();
  if (centred) {
    int positive = 0, negative = 0;
    for (Eigen::Index i = 0; i < raw.rows(); ++i) {
      const double p = raw.row(i).dot(v);
      positive += p > 0;
      negative += p < 0;
    }
    if (negative > positive || (negative == positive && mean.dot(v) < 0)) v = -v;
  } else if (mean.dot(v) < 0) {
    v = -v;
  }
  return v;
}

}  // namespace

TEST_CASE("pca_direction: hand-computed case: spread along x, a unit vector") {
  MatrixXd a(3, 2), diff(3, 2);
  a << 0.5, -1, 2, 3, -4, 0.25;
  diff << 3, 1, 1, 1, 2, 1;  // centred: (1, 0), (-1, 0), (0, 0): the first component is the x axis
  const auto fit = act::pca_direction{}.fit(a, MatrixXd(a + diff));
  CHECK(act::pca_direction::name == "pca");
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == doctest::Approx(1.0));  // unit x: repeng's scale
  CHECK(fit.map.beta[1] == doctest::Approx(0.0).epsilon(1e-12));
  CHECK_FALSE(fit.map.bounded());
}

TEST_CASE("pca_direction: the sign is the majority vote of the pairs' projections, not the mean's") {
  MatrixXd a = MatrixXd::Zero(3, 2), diff(3, 2);
  diff << -3, 0, -1, 0, -2, 0;
  CHECK(act::pca_direction{}.fit(a, diff).map.beta[0] == doctest::Approx(-1.0));
  // Four pairs differ by +1 along x, one by -10: the mean points to -x, most pairs to +x.
  MatrixXd b(5, 1), z = MatrixXd::Zero(5, 1);
  b << 1, 1.2, 0.8, 1.1, -10;
  CHECK(act::pca_direction{}.fit(z, b).map.beta[0] == doctest::Approx(1.0));
  CHECK(act::pca_uncentred{}.fit(z, b).map.beta[0] == doctest::Approx(-1.0));  // toward the mean difference
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const MatrixXd s = random_matrix(30, 6, rng);
    MatrixXd t = random_matrix(30, 6, rng);
    t.col(trial % 6).array() += (trial % 2 ? 1.5 : -1.5);
    const VectorXd f = act::pca_direction{}.fit(s, t).map.beta.matrix();
    CHECK(f.norm() == doctest::Approx(1.0));
    const VectorXd projections = (t - s) * f;
    CHECK((projections.array() > 0).count() >= (projections.array() < 0).count());
  }
}

TEST_CASE("pca_uncentred: the leading direction of the raw differences, toward the mean, unit length") {
  // The differences share a shift (2, 0) and spread along y: centred PCA finds y, uncentred finds mostly x.
  std::mt19937_64 rng(3);
  const MatrixXd s = random_matrix(200, 2, rng);
  MatrixXd t = s;
  std::normal_distribution<double> n(0.0, 1.0);
  for (Eigen::Index i = 0; i < t.rows(); ++i) {
    t(i, 0) += 2.0 + 0.1 * n(rng);
    t(i, 1) += 1.0 * n(rng);
  }
  const VectorXd centred = act::pca_direction{}.fit(s, t).map.beta.matrix();
  const VectorXd raw = act::pca_uncentred{}.fit(s, t).map.beta.matrix();
  CHECK(std::abs(centred[0]) < 0.2);
  CHECK(raw[0] > 0.9);
  CHECK(raw.norm() == doctest::Approx(1.0));
  const VectorXd ref = reference_beta(s, t, false);
  for (Eigen::Index j = 0; j < 2; ++j) CHECK(raw[j] == doctest::Approx(ref[j]).epsilon(1e-8));
  for (auto [n_rows, d] : {std::pair<Eigen::Index, Eigen::Index>{40, 5}, {6, 12}}) {
    const MatrixXd a = random_matrix(n_rows, d, rng);
    const MatrixXd b = a + random_matrix(n_rows, d, rng) + MatrixXd::Constant(n_rows, d, 0.5);
    const auto fit = act::pca_uncentred{}.fit(a, b);
    const VectorXd r = reference_beta(a, b, false);
    for (Eigen::Index j = 0; j < d; ++j) CHECK(fit.map.beta[j] == doctest::Approx(r[j]).epsilon(1e-8));
  }
  CHECK(act::method("pca_uncentred").additive);
  CHECK(act::method("pca_uncentred").strength == act::strength_meaning::multiplier);
}

TEST_CASE("pca_direction: matches an independent power iteration on both solver routes (n >= d and n < d)") {
  std::mt19937_64 rng(5);
  for (auto [n, d] : {std::pair<Eigen::Index, Eigen::Index>{40, 5}, {6, 12}}) {
    const MatrixXd s = random_matrix(n, d, rng);
    MatrixXd t = s + random_matrix(n, d, rng);
    t.col(0).array() += 3.0 * VectorXd::LinSpaced(n, 0.0, 1.0).array();  // a clear leading direction
    const auto fit = act::pca_direction{}.fit(s, t);
    const VectorXd ref = reference_beta(s, t);
    for (Eigen::Index j = 0; j < d; ++j) CHECK(fit.map.beta[j] == doctest::Approx(ref[j]).epsilon(1e-8));
  }
}

TEST_CASE("pca_direction: independent of row order up to rounding") {
  std::mt19937_64 rng(9);
  const MatrixXd s = random_matrix(50, 5, rng);
  MatrixXd t = s + random_matrix(50, 5, rng);
  t.col(2) *= 3.0;
  t.col(2).array() += 1.0;
  std::vector<int> order(50);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  MatrixXd ps(50, 5), pt(50, 5);
  for (int i = 0; i < 50; ++i) {
    ps.row(i) = s.row(order[static_cast<std::size_t>(i)]);
    pt.row(i) = t.row(order[static_cast<std::size_t>(i)]);
  }
  const auto f1 = act::pca_direction{}.fit(s, t);
  const auto f2 = act::pca_direction{}.fit(ps, pt);
  for (Eigen::Index j = 0; j < 5; ++j) CHECK(f1.map.beta[j] == doctest::Approx(f2.map.beta[j]).epsilon(1e-10));
}

TEST_CASE("pca_direction: identical differences have no spread; beta is the unit mean difference") {
  MatrixXd a(4, 3), b(4, 3);
  a << 1, 2, 3, 4, 5, 6, 7, 8, 9, 0.1, 0.2, 0.3;
  b = a.rowwise() + Eigen::RowVector3d(0.1, -0.7, 0.3);
  const double norm = std::sqrt(0.01 + 0.49 + 0.09);
  for (const auto& beta : {act::pca_direction{}.fit(a, b).map.beta, act::pca_uncentred{}.fit(a, b).map.beta}) {
    CHECK(beta[0] == doctest::Approx(0.1 / norm));
    CHECK(beta[1] == doctest::Approx(-0.7 / norm));
    CHECK(beta[2] == doctest::Approx(0.3 / norm));
  }
  CHECK((act::pca_direction{}.fit(a, a).map.beta == 0.0).all());  // no difference at all
}

TEST_CASE("pca_direction: unequal counts raise act::shape_error naming both counts") {
  MatrixXd a = MatrixXd::Zero(4, 2), b = MatrixXd::Zero(5, 2);
  CHECK_THROWS_WITH_AS(act::pca_direction{}.fit(a, b),
                       "pca: paired differences need equal counts, but source has 4 rows and target has 5",
                       act::shape_error);
}
