#pragma once
/// Weights files (safetensors via act/io/safetensors.hpp): every parameter tensor in f32 under its
/// layout name, plus metadata "format" and the config as decimal strings, so a file is self-describing.
#include <act/io/safetensors.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "classifier.hpp"
#include "model.hpp"
#include "params.hpp"

namespace toy_diffusion {

namespace detail {

inline void put_tensors(act::safetensors_file& f, const param_layout& layout, const std::vector<float>& params) {
  for (const auto& s : layout.slots())
    f.tensors.push_back(act::safetensors_tensor::from_floats(s.name, s.shape, params.data() + s.offset));
}

inline void get_tensors(const act::safetensors_file& f, const param_layout& layout, std::vector<float>& params,
                        const std::string& path) {
  for (const auto& s : layout.slots()) {
    const auto* t = f.find(s.name);
    if (!t) throw std::runtime_error(path + ": missing tensor " + s.name);
    if (t->shape != s.shape) throw std::runtime_error(path + ": tensor " + s.name + " has the wrong shape");
    const std::vector<float> v = t->to_floats();
    std::copy(v.begin(), v.end(), params.begin() + static_cast<std::ptrdiff_t>(s.offset));
  }
}

inline int meta_int(const act::safetensors_file& f, const std::string& key, const std::string& path) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) throw std::runtime_error(path + ": weights lack metadata '" + key + "'");
  return std::stoi(it->second);
}

inline void check_format(const act::safetensors_file& f, const std::string& want, const std::string& path) {
  auto it = f.metadata.find("format");
  if (it == f.metadata.end() || it->second != want) throw std::runtime_error(path + ": not an " + want + " weights file");
}

}  // namespace detail

inline void save_denoiser(const std::string& path, const denoiser<float>& m) {
  act::safetensors_file f;
  const auto& c = m.config();
  f.metadata = {{"format", "act-toy-diffusion-denoiser-1"}, {"size", std::to_string(c.size)}, {"c1", std::to_string(c.c1)},
                {"c2", std::to_string(c.c2)},  {"groups", std::to_string(c.groups)}, {"embed", std::to_string(c.embed)},
                {"freqs", std::to_string(c.freqs)}};
  detail::put_tensors(f, m.layout(), m.params());
  act::write_safetensors(path, f);
}

inline denoiser<float> load_denoiser(const std::string& path) {
  const act::safetensors_file f = act::read_safetensors(path);
  detail::check_format(f, "act-toy-diffusion-denoiser-1", path);
  denoiser_config c;
  c.size = detail::meta_int(f, "size", path);
  c.c1 = detail::meta_int(f, "c1", path);
  c.c2 = detail::meta_int(f, "c2", path);
  c.groups = detail::meta_int(f, "groups", path);
  c.embed = detail::meta_int(f, "embed", path);
  c.freqs = detail::meta_int(f, "freqs", path);
  denoiser<float> m(c);
  detail::get_tensors(f, m.layout(), m.params(), path);
  return m;
}

inline void save_classifier(const std::string& path, const classifier<float>& m) {
  act::safetensors_file f;
  const auto& c = m.config();
  f.metadata = {{"format", "act-toy-diffusion-classifier-1"}, {"size", std::to_string(c.size)}, {"c1", std::to_string(c.c1)},
                {"c2", std::to_string(c.c2)}, {"hidden", std::to_string(c.hidden)}};
  detail::put_tensors(f, m.layout(), m.params());
  act::write_safetensors(path, f);
}

inline classifier<float> load_classifier(const std::string& path) {
  const act::safetensors_file f = act::read_safetensors(path);
  detail::check_format(f, "act-toy-diffusion-classifier-1", path);
  classifier_config c;
  c.size = detail::meta_int(f, "size", path);
  c.c1 = detail::meta_int(f, "c1", path);
  c.c2 = detail::meta_int(f, "c2", path);
  c.hidden = detail::meta_int(f, "hidden", path);
  classifier<float> m(c);
  detail::get_tensors(f, m.layout(), m.params(), path);
  return m;
}

}  // namespace toy_diffusion
