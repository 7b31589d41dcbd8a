// The README's first example, compiled by the build so it cannot go stale.
#include <act/act.hpp>
#include <fmt/core.h>

int main() {
  // Activations of 500 "source" and 400 "target" inputs at one site, 8 neurons each.
  Eigen::MatrixXf source = Eigen::MatrixXf::Random(500, 8);
  Eigen::MatrixXf target = (Eigen::MatrixXf::Random(400, 8).array() * 0.5f + 2.0f).matrix();

  act::linear_act estimator;                 // support (min, max) of the source
  auto fit = estimator.fit(source, target);  // one affine map per neuron

  act::affine_hook hook(fit.map, 0.5);  // strength lambda = 0.5
  Eigen::MatrixXf tokens = Eigen::MatrixXf::Random(16, 8);
  hook(act::view(tokens));  // in place, inside your forward pass
  fmt::print("omega[0] = {:.3f}, beta[0] = {:.3f}\n", fit.map.omega[0], fit.map.beta[0]);
}
