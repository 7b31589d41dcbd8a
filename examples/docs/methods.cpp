// Every method of the table fitted by name on one neuron: source N(0, 1), target N(2, 0.5^2), whose
// optimal transport map is a -> 0.5 a + 2.
#include <act/act.hpp>
#include <fmt/core.h>

#include <random>

int main() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::MatrixXf source(400, 1), target(400, 1);
  for (Eigen::Index i = 0; i < 400; ++i) source(i) = normal(rng), target(i) = 2.0f + 0.5f * normal(rng);

  for (const act::method_info& m : act::methods()) {
    const auto fit = act::fit(m.name, source, target);
    if (const auto* map = std::get_if<act::affine_map<float>>(&fit.map))
      fmt::print("{:<14} omega {:6.3f}  beta {:6.3f}  support {}\n", m.name, map->omega[0], map->beta[0],
                 act::support_label(m, {}));
  }
}
