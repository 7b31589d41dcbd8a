// The floor on the source spread: near-constant source neurons get their method's fallback map
// (Linear-AcT: the mean shift; Gaussian-AcT and Mean-AcT: the identity, as the reference) and are flagged.
#include <act/estimators/gaussian_act.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/estimators/registry.hpp>

#include <random>

#include <doctest/doctest.h>

namespace {

// Neuron 0: source sd 3e-5 around 1.5 (the audit's case); neuron 1: an ordinary neuron; target sd 1 on both.
struct samples {
  Eigen::MatrixXd a{200, 2}, b{200, 2};
  samples() {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> z;
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      a(i, 0) = 1.5 + 3e-5 * z(rng);
      a(i, 1) = z(rng);
      b(i, 0) = 2.0 + z(rng);
      b(i, 1) = 2.0 + z(rng);
    }
  }
};

}  // namespace

TEST_CASE("gaussian_act: source sd 3e-5 gets the identity, not omega ~ 3e4, and is flagged") {
  const samples s;
  const auto fit = act::gaussian_act{}.fit(s.a, s.b);
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == 0.0);
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK_FALSE(fit.diagnostics.low_spread[1]);
  CHECK(act::low_spread_count(fit.diagnostics) == 1);
  CHECK(fit.map.omega[1] != 1.0);
  // Without the floor (min_std = 0) the ratio is what the audit saw.
  act::gaussian_act raw;
  raw.options.min_std = 0;
  CHECK(raw.fit(s.a, s.b).map.omega[0] > 1e4);
}

TEST_CASE("mean_act: source sd at or below min_std gets the identity (the reference's rule)") {
  const samples s;
  const auto fit = act::mean_act{}.fit(s.a, s.b);
  CHECK(fit.map.beta[0] == 0.0);
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK(fit.map.beta[1] == doctest::Approx(s.b.col(1).mean() - s.a.col(1).mean()));
  act::mean_act loose;
  loose.options.min_std = 0;
  CHECK(loose.fit(s.a, s.b).map.beta[0] == doctest::Approx(s.b.col(0).mean() - s.a.col(0).mean()));
}

TEST_CASE("linear_act: below the floor no slope is estimated: the mean shift, flagged") {
  const samples s;
  const auto fit = act::linear_act{}.fit(s.a, s.b);
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == doctest::Approx(s.b.col(0).mean() - s.a.col(0).mean()));
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK_FALSE(fit.diagnostics.low_spread[1]);
  act::linear_act raw;
  raw.options.min_std = 0;
  CHECK(raw.fit(s.a, s.b).map.omega[0] > 100.0);
}

TEST_CASE("min_std through the registry, and bad values refused") {
  const samples s;
  act::fit_settings settings;
  settings.min_std = 0;
  CHECK(std::get<act::affine_map<double>>(act::fit("gaussian", s.a, s.b, settings).map).omega[0] > 1e4);
  settings.min_std = 1e-4;
  const auto fit = act::fit("gaussian", s.a, s.b, settings);
  CHECK(act::low_spread_count(fit.diagnostics) == 1);
  // Methods without a floor flag nothing.
  CHECK(act::low_spread_count(act::fit("caa", s.a, s.b).diagnostics) == 0);
  CHECK(act::method("linear").has_min_std);
  CHECK_FALSE(act::method("caa").has_min_std);
  act::gaussian_act bad;
  bad.options.min_std = -1;
  CHECK_THROWS_WITH_AS(bad.fit(s.a, s.b), doctest::Contains("min_std"), act::invalid_argument);
}
