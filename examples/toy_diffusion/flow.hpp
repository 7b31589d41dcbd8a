#pragma once
/// Flow matching (rectified flow): x_t = (1 - t) x_data + t noise, the denoiser learns the velocity
/// v = noise - x_data, and sampling integrates dx/dt = v from t = 1 (noise) to t = 0 (image) with
/// Euler steps. Deterministic given the initial noise, so every strength sees the same start.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "model.hpp"
#include "rng.hpp"

namespace toy_diffusion {

/// hook(site, step, acts): the denoising step (0 = first, at t = 1) is passed along.
template <class T>
using step_hook = std::function<void(std::string_view site, int step, fmap<T>& acts)>;

/// Mean squared velocity error on a batch; adds its gradient into `grads` when given.
template <class T>
double flow_loss(const denoiser<T>& model, const fmap<T>& data, const fmap<T>& noise, const std::vector<T>& t,
                 const std::vector<prompt>& prompts, std::vector<T>* grads) {
  fmap<T> xt = data;
  const std::size_t per = static_cast<std::size_t>(data.positions());
  for (std::size_t k = 0; k < xt.v.size(); ++k) {
    const T ti = t[k / per];
    xt.v[k] = (T(1) - ti) * data.v[k] + ti * noise.v[k];
  }
  typename denoiser<T>::cache c;
  const fmap<T> v = model.forward(xt, t, prompts, {}, grads ? &c : nullptr);
  fmap<T> dv(v.n, v.c, v.h, v.w);
  double loss = 0;
  const double scale = 1.0 / static_cast<double>(v.v.size());
  for (std::size_t k = 0; k < v.v.size(); ++k) {
    const double e = static_cast<double>(v.v[k]) - (static_cast<double>(noise.v[k]) - static_cast<double>(data.v[k]));
    loss += e * e * scale;
    dv.v[k] = static_cast<T>(2.0 * e * scale);
  }
  if (grads) model.backward(c, dv, *grads);
  return loss;
}

/// Standard normal noise for n images; image i depends only on (seed, i).
template <class T>
fmap<T> initial_noise(int n, int size, std::uint64_t seed) {
  fmap<T> x(n, 1, size, size);
  for (int i = 0; i < n; ++i) {
    rng r(derive_seed(seed, static_cast<std::uint64_t>(i)));
    T* p = x.image(i);
    for (int k = 0; k < size * size; ++k) p[k] = static_cast<T>(r.normal());
  }
  return x;
}

/// One Euler step k of `steps` (t from 1 - k/steps to 1 - (k+1)/steps), in place.
template <class T>
void euler_step(const denoiser<T>& model, fmap<T>& x, const std::vector<prompt>& prompts, int k, int steps,
                const step_hook<T>& hook) {
  const T t = static_cast<T>(1.0 - static_cast<double>(k) / steps);
  hook_fn<T> h;
  if (hook) h = [&](std::string_view site, fmap<T>& acts) { hook(site, k, acts); };
  const fmap<T> v = model.forward(x, std::vector<T>(static_cast<std::size_t>(x.n), t), prompts, h);
  const T dt = static_cast<T>(1.0 / steps);
  for (std::size_t q = 0; q < x.v.size(); ++q) x.v[q] -= dt * v.v[q];
}

/// Clamps samples to the data range [-1, 1].
template <class T>
void clamp_images(fmap<T>& x) {
  for (auto& v : x.v) v = std::clamp(v, T(-1), T(1));
}

/// Images for `prompts` from the given initial noise, with `hook` at every site of every step.
template <class T>
fmap<T> sample(const denoiser<T>& model, fmap<T> x, const std::vector<prompt>& prompts, int steps,
               const step_hook<T>& hook = {}) {
  for (int k = 0; k < steps; ++k) euler_step(model, x, prompts, k, steps, hook);
  clamp_images(x);
  return x;
}

}  // namespace toy_diffusion
