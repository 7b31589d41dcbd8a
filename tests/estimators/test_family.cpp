// Every affine estimator of the family fits and applies through act::affine_hook.
#include <act/estimators/actadd.hpp>
#include <act/estimators/aura.hpp>
#include <act/estimators/caa.hpp>
#include <act/estimators/det0.hpp>
#include <act/estimators/gaussian_act.hpp>
#include <act/estimators/itic.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/estimators/pca_direction.hpp>
#include <act/estimators/pca_uncentred.hpp>
#include <act/hooks/affine_hook.hpp>

#include <random>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

namespace {

template <class Estimator>
void fit_and_apply(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b, std::string_view expected_name) {
  CAPTURE(expected_name);
  CHECK(Estimator::name == expected_name);
  const auto fit = Estimator{}.fit(a, b);
  CHECK(fit.map.dim() == a.cols());
  CHECK_NOTHROW(fit.map.validate());
  CHECK(fit.diagnostics.w2_after.allFinite());
  for (double lambda : {0.0, 0.5, 1.0}) {
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x = a;
    act::affine_hook hook(fit.map, lambda);
    hook(act::view(x));
    for (Eigen::Index r = 0; r < x.rows(); ++r)
      for (Eigen::Index c = 0; c < x.cols(); ++c) {
        if (lambda == 0.0) {
          CHECK(x(r, c) == a(r, c));
        } else {
          CHECK(x(r, c) == doctest::Approx(fit.map.transport(c, a(r, c), lambda)).epsilon(1e-5));
        }
      }
  }
}

}  // namespace

TEST_CASE("family: every affine estimator fits and applies through affine_hook") {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Eigen::MatrixXf a(40, 5), b(40, 5);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = n(rng);
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = 1.5f * n(rng) + (i % 5 == 0 ? 2.0f : 0.5f);
  fit_and_apply<act::linear_act>(a, b, "linear");
  fit_and_apply<act::mean_act>(a, b, "mean");
  fit_and_apply<act::gaussian_act>(a, b, "gaussian");
  fit_and_apply<act::actadd>(a, b, "actadd");
  fit_and_apply<act::caa>(a, b, "caa");
  fit_and_apply<act::pca_direction>(a, b, "pca");
  fit_and_apply<act::pca_uncentred>(a, b, "pca_uncentred");
  fit_and_apply<act::itic>(a, b, "itic");
  fit_and_apply<act::aura>(a, b, "aura");
  fit_and_apply<act::det0>(a, b, "det0");
}
