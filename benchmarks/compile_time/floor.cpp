// The floor: Eigen/Core and fmt/core.h, a few lines using them.
#include <Eigen/Core>
#include <fmt/core.h>

int main() {
  Eigen::MatrixXf m(2, 2);
  m.setOnes();
  fmt::print("{}\n", m.sum());
}
