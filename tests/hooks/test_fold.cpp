#include <act/hooks/affine_hook.hpp>
#include <act/hooks/fold.hpp>

#include <random>

#include <doctest/doctest.h>

namespace {

act::affine_map<double> random_map(Eigen::Index d, std::mt19937& rng) {
  std::uniform_real_distribution<double> w(0.2, 2.0), b(-1.0, 1.0);
  act::affine_map<double> m = act::affine_map<double>::identity(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    m.omega[j] = w(rng);
    m.beta[j] = b(rng);
  }
  return m;
}

}  // namespace

TEST_CASE("a folded layer equals the layer followed by the hook") {
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0.0, 1.0);
  const Eigen::Index d_in = 7, d_out = 9, tokens = 13;
  Eigen::MatrixXd w(d_out, d_in);
  Eigen::VectorXd c(d_out);
  Eigen::MatrixXd x(d_in, tokens);
  for (auto* m : {&w, &x})
    for (Eigen::Index i = 0; i < m->size(); ++i) m->data()[i] = n(rng);
  for (Eigen::Index i = 0; i < d_out; ++i) c[i] = n(rng);
  const auto map = random_map(d_out, rng);

  for (const double lambda : {0.0, 0.5, 1.0, 2.5}) {
    // Layer, then the hook on every token (rows = tokens, columns = neurons).
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> y = ((w * x).colwise() + c).transpose();
    act::affine_hook<double> hook(map, lambda);
    hook(act::view(y));

    Eigen::MatrixXd w2 = w;
    Eigen::VectorXd c2 = c;
    act::fold_into_linear(w2, c2, map, lambda);
    const Eigen::MatrixXd folded = ((w2 * x).colwise() + c2).transpose();
    CHECK((folded - y).cwiseAbs().maxCoeff() < 1e-12);
    if (lambda == 0.0) {
      CHECK(w2 == w);
      CHECK(c2 == c);
    }
  }
}

TEST_CASE("folding works on float layers, row-major weights and blocks") {
  std::mt19937 rng(9);
  const auto map = random_map(4, rng).cast<float>();
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> big = Eigen::MatrixXf::Random(6, 3);
  Eigen::VectorXf c = Eigen::VectorXf::Random(4);
  const Eigen::Vector3f x(0.5f, -1.0f, 2.0f);
  Eigen::RowVectorXf y = (big.topRows(4) * x + c).transpose();
  act::affine_hook<float> hook(map, 0.75);
  hook(act::view(y));
  act::fold_into_linear(big.topRows(4), c, map, 0.75);
  const Eigen::RowVectorXf folded = (big.topRows(4) * x + c).transpose();
  CHECK((folded - y).cwiseAbs().maxCoeff() < 1e-5f);
}

TEST_CASE("bounded supports, shape mismatches and bad strengths are refused") {
  std::mt19937 rng(1);
  auto map = random_map(3, rng);
  Eigen::MatrixXd w = Eigen::MatrixXd::Ones(3, 2);
  Eigen::VectorXd c = Eigen::VectorXd::Zero(3);
  map.lower = Eigen::ArrayXd::Constant(3, -1.0);
  map.upper = Eigen::ArrayXd::Constant(3, 1.0);
  CHECK_THROWS_AS(act::fold_into_linear(w, c, map, 1.0), act::invalid_argument);
  CHECK(w == Eigen::MatrixXd::Ones(3, 2));  // untouched on refusal
  map.lower.resize(0);
  map.upper.resize(0);
  Eigen::MatrixXd w_bad = Eigen::MatrixXd::Ones(2, 3);
  CHECK_THROWS_AS(act::fold_into_linear(w_bad, c, map, 1.0), act::shape_error);
  Eigen::VectorXd c_bad = Eigen::VectorXd::Zero(4);
  CHECK_THROWS_AS(act::fold_into_linear(w, c_bad, map, 1.0), act::shape_error);
  CHECK_THROWS_AS(act::fold_into_linear(w, c, map, std::numeric_limits<double>::infinity()), act::invalid_argument);
}
