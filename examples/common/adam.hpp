#pragma once
/// Adam with bias correction over a flat parameter vector, shared by the toy models' trainers.
#include <cmath>
#include <cstddef>
#include <vector>

namespace examples_common {

/// How a step reaches a parameter stored as T. The two toy models were trained with different
/// roundings; each keeps its own so that its committed weights retrain bit for bit.
enum class adam_rounding {
  round_step,    ///< p -= T(step): the step is rounded to T and subtracted in T (the toy LM)
  round_result,  ///< p = T(p - step): subtracted in double, the result rounded to T (the toy diffusion model)
};

struct adam_options {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  adam_rounding rounding = adam_rounding::round_result;
};

class adam {
 public:
  explicit adam(std::size_t n, adam_options options = {}) : m_(n, 0.0), v_(n, 0.0), o_(options) {}

  /// One step of learning rate `lr` along `grads` (the gradient of the loss).
  template <class T>
  void step(std::vector<T>& params, const std::vector<T>& grads, double lr) {
    ++t_;
    const double b1 = o_.beta1, b2 = o_.beta2;
    const double c1 = 1.0 - std::pow(b1, static_cast<double>(t_)), c2 = 1.0 - std::pow(b2, static_cast<double>(t_));
    for (std::size_t k = 0; k < params.size(); ++k) {
      const double g = static_cast<double>(grads[k]);
      m_[k] = b1 * m_[k] + (1 - b1) * g;
      v_[k] = b2 * v_[k] + (1 - b2) * g * g;
      const double step = lr * (m_[k] / c1) / (std::sqrt(v_[k] / c2) + o_.epsilon);
      if (o_.rounding == adam_rounding::round_step)
        params[k] -= static_cast<T>(step);
      else
        params[k] = static_cast<T>(static_cast<double>(params[k]) - step);
    }
  }

 private:
  std::vector<double> m_, v_;
  adam_options o_;
  long t_ = 0;
};

}  // namespace examples_common
