#pragma once
/// Weights files of the toy models: safetensors files (act/io/safetensors.hpp) holding every parameter
/// tensor in f32 under its layout name, with the format and the config as metadata strings. These are
/// the pieces both models' save / load functions are made of.
#include <act/io/safetensors.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples_common {

/// Adds every slot of a parameter layout as an f32 tensor: `slots` lists items with a `name` and an
/// `offset` into `params`, and `shape_of(slot)` gives each tensor's shape.
template <class Slots, class ShapeOf>
void put_tensors(act::safetensors_file& f, const Slots& slots, ShapeOf&& shape_of, const std::vector<float>& params) {
  for (const auto& s : slots)
    f.tensors.push_back(act::safetensors_tensor::from_floats(s.name, shape_of(s), params.data() + s.offset));
}

/// Reads every slot of a parameter layout back into `params`; throws naming `path` when a tensor is
/// missing or has another shape.
template <class Slots, class ShapeOf>
void get_tensors(const act::safetensors_file& f, const Slots& slots, ShapeOf&& shape_of, std::vector<float>& params,
                 const std::string& path) {
  for (const auto& s : slots) {
    const auto* t = f.find(s.name);
    if (!t) throw std::runtime_error(path + ": missing tensor " + s.name);
    if (t->shape != shape_of(s)) throw std::runtime_error(path + ": tensor " + s.name + " has the wrong shape");
    const std::vector<float> v = t->to_floats();
    std::copy(v.begin(), v.end(), params.begin() + static_cast<std::ptrdiff_t>(s.offset));
  }
}

/// The metadata value `key`; throws naming `path` when the file has none.
inline const std::string& metadata(const act::safetensors_file& f, const std::string& key, const std::string& path) {
  const auto it = f.metadata.find(key);
  if (it == f.metadata.end()) throw std::runtime_error(path + ": weights lack metadata '" + key + "'");
  return it->second;
}

inline int metadata_int(const act::safetensors_file& f, const std::string& key, const std::string& path) {
  return std::stoi(metadata(f, key, path));
}

/// Throws unless the file's metadata "format" is `want` (e.g. "act-toy-lm-1").
inline void check_format(const act::safetensors_file& f, const std::string& want, const std::string& path) {
  const auto it = f.metadata.find("format");
  if (it == f.metadata.end() || it->second != want)
    throw std::runtime_error(path + ": not an " + want + " weights file");
}

}  // namespace examples_common
