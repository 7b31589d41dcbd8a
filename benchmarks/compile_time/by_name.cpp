// Every registered method fitted by name through the registry (what act-cli and the bindings do).
#include <act/act.hpp>

int main() {
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(64, 8), b = Eigen::MatrixXf::Random(64, 8);
  Eigen::Index n = 0;
  for (const act::method_info& m : act::methods()) n += act::fit(m.name, a, b).source_samples;
  return n > 0 ? 0 : 1;
}
