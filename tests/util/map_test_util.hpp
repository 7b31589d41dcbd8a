#pragma once
// Small hand-made maps for tests: a pure shift and a pure scaling on three neurons.
#include <act/maps/affine_map.hpp>

namespace act_test {

/// T(a) = a + beta on 3 neurons, unbounded.
inline act::affine_map<float> additive(float beta) {
  auto m = act::affine_map<float>::identity(3);
  m.beta.setConstant(beta);
  return m;
}

/// T(a) = omega a on 3 neurons, unbounded.
inline act::affine_map<float> scaling(float omega) {
  auto m = act::affine_map<float>::identity(3);
  m.omega.setConstant(omega);
  return m;
}

}  // namespace act_test
