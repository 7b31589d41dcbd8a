#pragma once
/// \file gguf_test_util.hpp
/// The sample control vector shared by the GGUF tests (tests/io/test_gguf.cpp, tests/detail/test_gguf_layout.cpp).

#include <act/io/gguf.hpp>

namespace act_test {

inline act::control_vector sample_vector() {
  act::control_vector cv;
  cv.model_hint = "llama";
  cv.directions[1] = {0.5f, -1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  cv.directions[2] = {1.5f, -2.0f, 0.0f, 1e-3f, -7.0f, 8.0f, 9.0f};
  cv.directions[12] = {-0.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f};
  return cv;
}

}  // namespace act_test
