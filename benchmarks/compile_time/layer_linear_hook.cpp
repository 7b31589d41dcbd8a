// The two layer headers a Linear-AcT fit and an affine hook need, the same use.
#include <act/estimators/linear_act.hpp>
#include <act/hooks/affine_hook.hpp>

int main() {
  const Eigen::MatrixXf source = Eigen::MatrixXf::Random(64, 8), target = Eigen::MatrixXf::Random(64, 8);
  const auto fit = act::linear_act{}.fit(source, target);
  act::affine_hook hook(fit.map, 0.5);
  Eigen::MatrixXf x = Eigen::MatrixXf::Random(4, 8);
  hook(act::view(x));
  return x(0, 0) > 0;
}
