#pragma once
/// Weights files (safetensors via act/io/safetensors.hpp): every parameter tensor in f32 under its
/// layout name, plus metadata "format" and the config as decimal strings, so a file is self-describing.
#include <act/io/safetensors.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "../common/weights.hpp"
#include "classifier.hpp"
#include "model.hpp"
#include "params.hpp"

namespace toy_diffusion {

/// Tensor shapes in the file: as in the layout.
inline const std::vector<std::uint64_t>& tensor_shape(const param_slot& s) { return s.shape; }

inline void save_denoiser(const std::string& path, const denoiser<float>& m) {
  act::safetensors_file f;
  const auto& c = m.config();
  f.metadata = {{"format", "act-toy-diffusion-denoiser-1"},
                {"size", std::to_string(c.size)},
                {"c1", std::to_string(c.c1)},
                {"c2", std::to_string(c.c2)},
                {"groups", std::to_string(c.groups)},
                {"embed", std::to_string(c.embed)},
                {"freqs", std::to_string(c.freqs)}};
  examples_common::put_tensors(f, m.layout().slots(), tensor_shape, m.params());
  act::write_safetensors(path, f);
}

inline denoiser<float> load_denoiser(const std::string& path) {
  using examples_common::metadata_int;
  const act::safetensors_file f = act::read_safetensors(path);
  examples_common::check_format(f, "act-toy-diffusion-denoiser-1", path);
  denoiser_config c;
  c.size = metadata_int(f, "size", path);
  c.c1 = metadata_int(f, "c1", path);
  c.c2 = metadata_int(f, "c2", path);
  c.groups = metadata_int(f, "groups", path);
  c.embed = metadata_int(f, "embed", path);
  c.freqs = metadata_int(f, "freqs", path);
  denoiser<float> m(c);
  examples_common::get_tensors(f, m.layout().slots(), tensor_shape, m.params(), path);
  return m;
}

inline void save_classifier(const std::string& path, const classifier<float>& m) {
  act::safetensors_file f;
  const auto& c = m.config();
  f.metadata = {{"format", "act-toy-diffusion-classifier-1"},
                {"size", std::to_string(c.size)},
                {"c1", std::to_string(c.c1)},
                {"c2", std::to_string(c.c2)},
                {"hidden", std::to_string(c.hidden)}};
  examples_common::put_tensors(f, m.layout().slots(), tensor_shape, m.params());
  act::write_safetensors(path, f);
}

inline classifier<float> load_classifier(const std::string& path) {
  using examples_common::metadata_int;
  const act::safetensors_file f = act::read_safetensors(path);
  examples_common::check_format(f, "act-toy-diffusion-classifier-1", path);
  classifier_config c;
  c.size = metadata_int(f, "size", path);
  c.c1 = metadata_int(f, "c1", path);
  c.c2 = metadata_int(f, "c2", path);
  c.hidden = metadata_int(f, "hidden", path);
  classifier<float> m(c);
  examples_common::get_tensors(f, m.layout().slots(), tensor_shape, m.params(), path);
  return m;
}

}  // namespace toy_diffusion
