// Quick start: fit Linear-AcT on synthetic activations with a known optimal map, apply it at several
// strengths and report how far the transported source moves towards the target.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <act/act.hpp>
#include <fmt/core.h>

namespace {

// Source and target samples of d neurons whose per-neuron 1-D OT map is known: Gaussians, for which
// it is affine with omega = sd_B / sd_A and beta = m_B - omega m_A.
struct synthetic {
  Eigen::MatrixXf source, target;
  Eigen::ArrayXd mean_a, sd_a, mean_b, sd_b;
};

synthetic make_data(Eigen::Index n_a, Eigen::Index n_b, Eigen::Index d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::uniform_real_distribution<double> u(0.3, 2.0);
  synthetic s{Eigen::MatrixXf(n_a, d), Eigen::MatrixXf(n_b, d), Eigen::ArrayXd(d),
              Eigen::ArrayXd(d),       Eigen::ArrayXd(d),       Eigen::ArrayXd(d)};
  for (Eigen::Index j = 0; j < d; ++j) {
    s.mean_a[j] = 2.0 * z(rng);
    s.sd_a[j] = u(rng);
    s.mean_b[j] = 2.0 * z(rng);
    s.sd_b[j] = u(rng);
    for (Eigen::Index i = 0; i < n_a; ++i) s.source(i, j) = static_cast<float>(s.mean_a[j] + s.sd_a[j] * z(rng));
    for (Eigen::Index i = 0; i < n_b; ++i) s.target(i, j) = static_cast<float>(s.mean_b[j] + s.sd_b[j] * z(rng));
  }
  return s;
}

double median(const Eigen::ArrayXd& x) {
  std::vector<double> v(x.data(), x.data() + x.size());
  std::nth_element(v.begin(), v.begin() + x.size() / 2, v.end());
  return v[static_cast<std::size_t>(x.size() / 2)];
}

// Mean over neurons of |mean(x_j) - mean(y_j)|: how far apart the two sets sit.
double mean_gap(const Eigen::MatrixXf& x, const Eigen::MatrixXf& y) {
  return (x.cast<double>().colwise().mean() - y.cast<double>().colwise().mean()).cwiseAbs().mean();
}

}  // namespace

int main() {
  const Eigen::Index n_a = 4000, n_b = 3000, d = 256;
  const auto data = make_data(n_a, n_b, d, 2025);

  const auto fit = act::linear_act{}.fit(data.source, data.target);

  const Eigen::ArrayXd omega_true = data.sd_b / data.sd_a;
  const Eigen::ArrayXd beta_true = data.mean_b - omega_true * data.mean_a;
  const Eigen::ArrayXd omega_err = (fit.map.omega.cast<double>() - omega_true).abs() / omega_true;
  const Eigen::ArrayXd beta_err = (fit.map.beta.cast<double>() - beta_true).abs();

  fmt::print("act {}.{}.{} quick start: Linear-AcT on synthetic Gaussian activations\n", ACT_VERSION_MAJOR,
             ACT_VERSION_MINOR, ACT_VERSION_PATCH);
  fmt::print("  samples: {} source x {} target, {} neurons (unequal counts use the monotone coupling)\n", n_a, n_b, d);
  fmt::print("  omega vs the true OT slope sd_B/sd_A: median relative error {:.2f}%, max {:.2f}%\n",
             100.0 * median(omega_err), 100.0 * omega_err.maxCoeff());
  fmt::print("  beta vs m_B - omega m_A: mean absolute error {:.4f}\n", beta_err.mean());
  fmt::print("  fit quality: mean R^2 {:.4f}; mean W2(source, target) {:.3f} -> {:.4f} after transport\n",
             fit.diagnostics.r2.mean(), fit.diagnostics.w2_before.mean(), fit.diagnostics.w2_after.mean());

  fmt::print("\n  lambda   mean gap to target   (apply on a fresh copy of the source)\n");
  for (double lambda : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    Eigen::MatrixXf x = data.source;
    act::affine_hook hook(fit.map, lambda);
    hook(act::view(x));
    fmt::print("  {:6.2f}   {:18.4f}\n", lambda, mean_gap(x, data.target));
  }
  fmt::print("\n  lambda = 0 is the identity; lambda = 1 carries the source onto the target.\n");
}
