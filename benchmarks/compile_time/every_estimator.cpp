// Every estimator, each fitted on float samples.
#include <act/act.hpp>

template <class Estimator>
double fitted(const Estimator& estimator, const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  return static_cast<double>(estimator.fit(a, b).source_samples);
}

int main() {
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(64, 8), b = Eigen::MatrixXf::Random(64, 8);
  double n = 0;
  n += fitted(act::linear_act{}, a, b) + fitted(act::mean_act{}, a, b) + fitted(act::gaussian_act{}, a, b);
  n += fitted(act::actadd{}, a, b) + fitted(act::caa{}, a, b) + fitted(act::pca_direction{}, a, b);
  n += fitted(act::itic{}, a, b) + fitted(act::aura{}, a, b) + fitted(act::det0{}, a, b) +
       fitted(act::quantile_act{}, a, b);
  return n > 0 ? 0 : 1;
}
