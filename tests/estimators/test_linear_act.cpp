// The old single-header path on purpose: this test keeps the deprecated forwarding headers in use.
#include <act/estimators/linear_act.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <doctest/doctest.h>

namespace {

using MatrixXd = Eigen::MatrixXd;

// The paper's formula evaluated directly on sorted pairs of equal count.
void direct_fit(std::vector<double> a, std::vector<double> b, double& omega, double& beta) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - ma) * (b[i] - mb);
    den += (a[i] - ma) * (a[i] - ma);
  }
  omega = num / den;
  beta = mb - omega * ma;
}

std::vector<double> column(const MatrixXd& x, Eigen::Index j) { return {x.col(j).data(), x.col(j).data() + x.rows()}; }

}  // namespace

TEST_CASE("equal counts: fit equals the paper's formula on sorted samples") {
  MatrixXd a(6, 2), b(6, 2);
  a << 3.0, -1.0, 1.0, 4.5, -2.0, 0.25, 7.5, 2.0, 0.5, -3.0, 1.5, 1.0;
  b << 0.1, 10.0, 2.0, 9.0, -4.0, 12.5, 3.3, 7.0, 1.1, 8.0, 0.0, 11.0;
  const auto fit = act::linear_act{}.fit(a, b);
  for (Eigen::Index j = 0; j < 2; ++j) {
    double omega = 0, beta = 0;
    direct_fit(column(a, j), column(b, j), omega, beta);
    CHECK(fit.map.omega[j] == doctest::Approx(omega).epsilon(1e-12));
    CHECK(fit.map.beta[j] == doctest::Approx(beta).epsilon(1e-12));
    CHECK(fit.map.omega[j] >= 0.0);
  }
  CHECK(fit.source_samples == 6);
  CHECK(fit.target_samples == 6);
}

TEST_CASE("hand-computed case: a = {0,1,2}, b = {1,3,5} gives omega 2, beta 1") {
  MatrixXd a(3, 1), b(3, 1);
  a << 2, 0, 1;
  b << 5, 1, 3;
  const auto fit = act::linear_act{}.fit(a, b);
  CHECK(fit.map.omega[0] == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(fit.map.beta[0] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(fit.map.lower[0] == 0.0);
  CHECK(fit.map.upper[0] == 2.0);
  CHECK(fit.diagnostics.r2[0] == doctest::Approx(1.0));
  CHECK(fit.diagnostics.w2_after[0] == doctest::Approx(0.0).epsilon(1e-12));
  // W2 before: sqrt(mean((0-1)^2, (1-3)^2, (2-5)^2)) = sqrt(14/3).
  CHECK(fit.diagnostics.w2_before[0] == doctest::Approx(std::sqrt(14.0 / 3.0)).epsilon(1e-12));
}

TEST_CASE("unequal counts: coupled fit equals brute-force replication then sorted matching") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> heavy(0.0, 1.0);
  std::normal_distribution<double> normal(2.0, 3.0);
  for (const auto& counts : {std::pair{3, 5}, std::pair{7, 4}, std::pair{6, 9}, std::pair{2, 11}}) {
    const int na = counts.first,
              nb = counts.second;  // not a structured binding: doctest's CAPTURE takes it into a lambda
    MatrixXd a(na, 3), b(nb, 3);
    for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = heavy(rng);
    for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = normal(rng);
    const auto fit = act::linear_act{}.fit(a, b);
    for (Eigen::Index j = 0; j < 3; ++j) {
      std::vector<double> ra, rb;
      for (Eigen::Index i = 0; i < na; ++i) ra.insert(ra.end(), static_cast<std::size_t>(nb), a(i, j));
      for (Eigen::Index i = 0; i < nb; ++i) rb.insert(rb.end(), static_cast<std::size_t>(na), b(i, j));
      double omega = 0, beta = 0;
      direct_fit(ra, rb, omega, beta);
      CAPTURE(na);
      CAPTURE(nb);
      CHECK(fit.map.omega[j] == doctest::Approx(omega).epsilon(1e-12));
      CHECK(fit.map.beta[j] == doctest::Approx(beta).epsilon(1e-12));
      // W2 after, brute force on the replicated, sorted samples.
      std::sort(ra.begin(), ra.end());
      std::sort(rb.begin(), rb.end());
      double before = 0, after = 0;
      for (std::size_t i = 0; i < ra.size(); ++i) {
        before += (ra[i] - rb[i]) * (ra[i] - rb[i]);
        const double t = omega * ra[i] + beta;
        after += (t - rb[i]) * (t - rb[i]);
      }
      const double n = static_cast<double>(ra.size());
      CHECK(fit.diagnostics.w2_before[j] == doctest::Approx(std::sqrt(before / n)).epsilon(1e-10));
      CHECK(fit.diagnostics.w2_after[j] == doctest::Approx(std::sqrt(after / n)).epsilon(1e-9));
    }
  }
}

TEST_CASE_TEMPLATE("Gaussian to Gaussian recovers omega = sd_B / sd_A and beta = m_B - omega m_A", T, float, double) {
  const Eigen::Index n = 20000;
  const double ma[] = {1.0, -2.0, 0.0}, sa[] = {2.0, 0.5, 1.0};
  const double mb[] = {-3.0, 4.0, 0.5}, sb[] = {0.5, 1.5, 3.0};
  std::mt19937_64 rng(42);
  std::normal_distribution<double> z;
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> a(n, 3), b(n + 1000, 3);  // unequal on purpose
  for (Eigen::Index j = 0; j < 3; ++j) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) a(i, j) = static_cast<T>(ma[j] + sa[j] * z(rng));
    for (Eigen::Index i = 0; i < b.rows(); ++i) b(i, j) = static_cast<T>(mb[j] + sb[j] * z(rng));
  }
  const auto fit = act::linear_act{}.fit(a, b);
  for (Eigen::Index j = 0; j < 3; ++j) {
    const double omega = sb[j] / sa[j];
    // Standard error of a ratio of sample sds at n = 20000 is about 1%; allow 4%.
    CHECK(static_cast<double>(fit.map.omega[j]) == doctest::Approx(omega).epsilon(0.04));
    CHECK(static_cast<double>(fit.map.beta[j]) == doctest::Approx(mb[j] - omega * ma[j]).epsilon(0.04).scale(sb[j]));
    CHECK(fit.diagnostics.r2[j] > 0.99);
    CHECK(fit.diagnostics.w2_after[j] < 0.1 * fit.diagnostics.w2_before[j]);
  }
}

TEST_CASE("support options: min-max, quantile band, unbounded") {
  MatrixXd a(5, 1), b(5, 1);
  a << 5, 1, 4, 2, 3;
  b << 1, 2, 3, 4, 5;
  auto fit = act::linear_act{}.fit(a, b);
  REQUIRE(fit.map.bounded());
  CHECK(fit.map.lower[0] == 1.0);
  CHECK(fit.map.upper[0] == 5.0);
  // numpy.percentile([1,2,3,4,5], [25, 90]) = [2.0, 4.6]
  fit = act::linear_act{{act::support::quantile_band(25, 90)}}.fit(a, b);
  CHECK(fit.map.lower[0] == doctest::Approx(2.0));
  CHECK(fit.map.upper[0] == doctest::Approx(4.6));
  fit = act::linear_act{{act::support::unbounded()}}.fit(a, b);
  CHECK_FALSE(fit.map.bounded());
}

TEST_CASE("degenerate neurons give finite, documented maps") {
  MatrixXd a(4, 2), b(4, 2);
  a << 2, 1, 2, 2, 2, 3, 2, 4;  // neuron 0: constant source
  b << 1, 7, 3, 7, 5, 7, 7, 7;  // neuron 1: constant target
  const auto fit = act::linear_act{}.fit(a, b);
  CHECK(fit.map.omega[0] == 1.0);  // mean shift
  CHECK(fit.map.beta[0] == doctest::Approx(4.0 - 2.0));
  CHECK(fit.map.omega[1] == 0.0);  // collapse onto the target
  CHECK(fit.map.beta[1] == doctest::Approx(7.0));
  CHECK(fit.diagnostics.r2[0] == 0.0);
  CHECK(fit.diagnostics.r2[1] == 1.0);
  CHECK(fit.map.omega.allFinite());
  CHECK(fit.map.beta.allFinite());
  CHECK(fit.diagnostics.w2_after.allFinite());
}

TEST_CASE("layouts and threads do not change the result") {
  std::mt19937_64 rng(3);
  std::gamma_distribution<double> g(2.0, 1.5);
  MatrixXd a(200, 17), b(150, 17);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = g(rng);
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = -g(rng);
  const auto ref = act::linear_act{}.fit(a, b);
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> ar = a, br = b;
  const auto rowmajor = act::linear_act{}.fit(ar, br);
  const Eigen::Map<const MatrixXd> am(a.data(), a.rows(), a.cols()), bm(b.data(), b.rows(), b.cols());
  act::linear_act_options opts;
  opts.threads = 3;
  const auto threaded = act::linear_act{opts}.fit(am, bm);
  CHECK((rowmajor.map.omega == ref.map.omega).all());
  CHECK((threaded.map.omega == ref.map.omega).all());
  CHECK((threaded.map.beta == ref.map.beta).all());
  CHECK((threaded.map.upper == ref.map.upper).all());
}

TEST_CASE("row-major samples: strided views and expressions fit as their column-major copy") {
  // The row-major gather works in blocks of neurons with a padded buffer and prefetches through the
  // data pointer when there is one: cover partial blocks, an outer stride, row counts around a page of
  // floats, and an expression without a data pointer.
  using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (const Eigen::Index rows : {2, 3, 1023, 1024, 1025}) {
    row_matrix big(rows, 53), other(rows + 7, 41);
    for (Eigen::Index i = 0; i < big.size(); ++i) big.data()[i] = g(rng);
    for (Eigen::Index i = 0; i < other.size(); ++i) other.data()[i] = 2.0f + g(rng);
    const auto source = big.block(0, 5, rows, 37);    // outer stride 53, partial last block
    const auto target = other.block(7, 2, rows, 37);  // offset rows and columns
    const Eigen::MatrixXf source_columns = source, target_columns = target;
    const auto ref = act::linear_act{}.fit(source_columns, target_columns);
    const auto strided = act::linear_act{}.fit(source, target);
    const auto expression = act::linear_act{}.fit(source * 1.0f, target * 1.0f);
    CAPTURE(rows);
    CHECK((strided.map.omega == ref.map.omega).all());
    CHECK((strided.map.beta == ref.map.beta).all());
    CHECK((strided.map.upper == ref.map.upper).all());
    CHECK((expression.map.omega == ref.map.omega).all());
    CHECK((expression.map.beta == ref.map.beta).all());
  }
}

TEST_CASE("bad input raises errors that name the argument") {
  const MatrixXd ok = MatrixXd::Random(5, 3);
  act::linear_act est;
  CHECK_THROWS_WITH_AS(est.fit(ok, MatrixXd::Random(5, 4)), doctest::Contains("[5 x 4]"), act::shape_error);
  CHECK_THROWS_WITH_AS(est.fit(MatrixXd(5, 0), MatrixXd(5, 0)), doctest::Contains("0 columns"), act::shape_error);
  CHECK_THROWS_WITH_AS(est.fit(MatrixXd::Random(1, 3), ok), doctest::Contains("source: needs at least 2"),
                       act::invalid_argument);
  CHECK_THROWS_WITH_AS(est.fit(ok, MatrixXd(0, 3)), doctest::Contains("target"), act::invalid_argument);
  MatrixXd bad = ok;
  bad(3, 1) = std::numeric_limits<double>::quiet_NaN();
  bad(4, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(est.fit(ok, bad), doctest::Contains("target: non-finite value nan at row 3, neuron 1"),
                       act::non_finite_error);
  CHECK_THROWS_AS(est.fit(bad, ok), act::non_finite_error);
}

TEST_CASE("non-finite samples met while sorting raise the error the up-front check raised") {
  using MatrixXf = Eigen::MatrixXf;
  using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const MatrixXf ok = MatrixXf::Random(2000, 40);
  MatrixXf bad_source = ok, bad_target = ok;
  bad_source(1700, 2) = -std::numeric_limits<float>::infinity();
  bad_source(1500, 37) = std::numeric_limits<float>::quiet_NaN();  // first in row-major order
  bad_target(10, 30) = std::numeric_limits<float>::infinity();
  for (const int threads : {1, 2}) {
    CAPTURE(threads);
    act::linear_act_options options;
    options.threads = threads;
    const act::linear_act est(options);
    CHECK_THROWS_WITH_AS(est.fit(bad_source, bad_target),
                         doctest::Contains("source: non-finite value nan at row 1500, neuron 37"),
                         act::non_finite_error);
    CHECK_THROWS_WITH_AS(est.fit(ok, bad_target),
                         doctest::Contains("target: non-finite value inf at row 10, neuron 30"), act::non_finite_error);
    const RowMatrixXf row_source = bad_source, row_target = bad_target, row_ok = ok;
    CHECK_THROWS_WITH_AS(est.fit(row_source, row_target),
                         doctest::Contains("source: non-finite value nan at row 1500, neuron 37"),
                         act::non_finite_error);
    CHECK_THROWS_WITH_AS(est.fit(row_ok, row_target),
                         doctest::Contains("target: non-finite value inf at row 10, neuron 30"), act::non_finite_error);
  }
}
