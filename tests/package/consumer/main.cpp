// Fits and applies a map through the consumed package; exits 0 when the result is right.
#include <act/act.hpp>

int main() {
  Eigen::MatrixXf a(3, 1), b(3, 1);
  a << 0, 1, 2;
  b << 1, 3, 5;
  const auto fit = act::linear_act{}.fit(a, b);  // omega 2, beta 1
  float x = 1.0f;
  act::affine_hook<float>(fit.map, 1.0)(act::view(&x, 1, 1));
  return x == 3.0f ? 0 : 1;
}
