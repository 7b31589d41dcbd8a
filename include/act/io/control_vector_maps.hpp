#pragma once
/// \file control_vector_maps.hpp
/// Map sets <-> llama.cpp control vectors, and the one place that says which site a control vector's
/// layer is: act-cli (export-gguf / import-gguf), act-llama and the Python binding convert through here.
///
///     act::control_vector cv = act::to_control_vector(maps, 1.0, "llama");   // then act::write_control_vector
///     act::map_set back = act::maps_from_control_vector(act::read_control_vector("cv.gguf"));
///
/// Naming: llama.cpp adds `direction.N` of a control vector to the output of 0-based block N, the graph
/// tensor it calls `l_out-N`. act names that site `l_out-N` (the name act-llama steers), and reads `blk.N`
/// as the same place. Any other site (`blk.2.post_attn_norm`, `attn_norm-3`) is somewhere else in the
/// block, where a control vector cannot add anything: exporting it needs an explicit layer. Block 0's output
/// has no slot in a control vector (its layers start at 1).
///
/// | site name     | llama.cpp graph tensor  | control vector tensor        |
/// |---------------|-------------------------|------------------------------|
/// | `l_out-N`     | `l_out-N`               | `direction.N` (N >= 1)       |
/// | `blk.N`       | `l_out-N`               | `direction.N` (N >= 1)       |
/// | anything else | the tensor of that name | only with an explicit layer  |
///
/// llama.cpp's cvector-generator measures at `l_out-(N-1)` what it writes as `direction.N`: its vectors are
/// added one block after where they were measured. Imports keep llama.cpp's meaning (direction.N ->
/// `l_out-N`, where llama.cpp adds it).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/io/gguf.hpp>
#include <act/maps/affine_map.hpp>
#include <act/sites/map_set.hpp>

namespace act {

/// The map-set metadata key that carries a control vector's `controlvector.model_hint`.
inline constexpr std::string_view model_hint_key = "controlvector.model_hint";

/// The 0-based block whose output `site` names: "l_out-N" or "blk.N" (N decimal digits) -> N; any
/// other name -> std::nullopt.
inline std::optional<int> block_output_index(std::string_view site) {
  std::string_view digits;
  if (site.substr(0, 6) == "l_out-")
    digits = site.substr(6);
  else if (site.substr(0, 4) == "blk.")
    digits = site.substr(4);
  else
    return std::nullopt;
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

/// The site name of block `block`'s output: "l_out-N".
inline std::string block_output_site(int block) { return "l_out-" + std::to_string(block); }

/// How a map set becomes a control vector.
struct control_vector_options {
  /// Each direction is lambda * beta (after normalising): control vectors have no strength of their own.
  double strength = 1.0;
  /// Scale each direction to unit length first, as llama.cpp's cvector-generator writes them.
  bool normalize = false;
  /// Export the set's only site as direction.<layer>, whatever its name (for sites that are not block
  /// outputs, or to move a direction, e.g. by the generator's one-block offset).
  std::optional<int> layer;
  /// controlvector.model_hint; empty: the set's metadata (model_hint_key), else the model's architecture
  /// when `model` is given, else "unknown". Set it to the model's architecture to export maps whose
  /// recorded hint names another.
  std::string model_hint;
  /// Check against this model: the hint names its architecture, direction length n_embd, layers 1 ..
  /// n_layer - 1 (those llama.cpp applies).
  std::optional<gguf_model_info> model;
};

/// The control vector of a set of additive maps (omega = 1, unbounded support: CAA, ActAdd, PCA, ITI-c,
/// Mean-AcT with support all). Throws act::invalid_argument naming the site for anything llama.cpp could
/// not apply as asked; `origin` (e.g. the map file) starts the messages. A strength at which the direction
/// overflows a float raises act::non_finite_error naming the site, the neuron and the strength.
template <class Scalar>
control_vector to_control_vector(const basic_map_set<Scalar>& maps, const control_vector_options& options,
                                 std::string_view origin = "map set") {
  if (maps.empty()) raise<invalid_argument>("{}: no maps to export", origin);
  detail::check_strength("to_control_vector strength", options.strength);
  const std::vector<std::string> sites = maps.sites();
  if (options.layer) {
    if (sites.size() != 1)
      raise<invalid_argument>("{}: an explicit layer needs a map set with one site; this one has {}", origin,
                              sites.size());
    if (*options.layer < 1)
      raise<invalid_argument>("{}: layer {} is invalid: control-vector layers start at 1", origin, *options.layer);
  }
  control_vector cv;
  std::map<int, std::string> site_of_layer;
  for (const auto& site : sites) {
    const auto* m = std::get_if<affine_map<Scalar>>(&maps.at(site).map);
    // A control vector can only add a constant: the map must be a pure shift everywhere.
    if (m == nullptr || m->bounded() || !(m->omega == Scalar(1)).all())
      raise<invalid_argument>(
          "{}: site '{}' is not additive (a control vector needs omega = 1 and an unbounded support; refit with an "
          "additive method such as caa, mean, actadd, pca or itic and support all)",
          origin, site);
    int layer = 0;
    if (options.layer) {
      layer = *options.layer;
    } else if (const auto block = block_output_index(site)) {
      layer = *block;
      if (layer == 0)
        raise<invalid_argument>(
            "{}: site '{}' is the output of block 0, which control vectors cannot reach (llama.cpp "
            "adds direction.N to l_out-N for N >= 1)",
            origin, site);
    } else {
      raise<invalid_argument>(
          "{}: site '{}' is not a block output: llama.cpp adds control vectors to l_out-N, the output "
          "of block N (sites 'l_out-N' or 'blk.N'); give the layer explicitly to export it anyway",
          origin, site);
    }
    if (const auto it = site_of_layer.find(layer); it != site_of_layer.end())
      raise<invalid_argument>("{}: sites '{}' and '{}' both name the output of block {}", origin, it->second, site,
                              layer);
    site_of_layer[layer] = site;
    double scale = options.strength;
    if (options.normalize) {
      double norm = 0;
      for (Eigen::Index j = 0; j < m->dim(); ++j)
        norm += static_cast<double>(m->beta[j]) * static_cast<double>(m->beta[j]);
      norm = std::sqrt(norm);
      if (!(norm > 0) || !std::isfinite(norm))
        raise<invalid_argument>("{}: site '{}' has a zero direction, which cannot be normalised", origin, site);
      scale /= norm;
    }
    std::vector<float> direction(static_cast<std::size_t>(m->dim()));
    for (Eigen::Index j = 0; j < m->dim(); ++j) {
      direction[static_cast<std::size_t>(j)] =
          static_cast<float>(strength_shift(static_cast<double>(m->beta[j]), scale));
      if (!std::isfinite(direction[static_cast<std::size_t>(j)]))
        raise<non_finite_error>("{}: site '{}' at strength {}: lambda * beta overflows at neuron {} (beta {})", origin,
                                site, options.strength, j, static_cast<double>(m->beta[j]));
    }
    cv.directions[layer] = std::move(direction);
  }

  const auto hint = maps.metadata().find(model_hint_key);
  cv.model_hint = !options.model_hint.empty()                              ? options.model_hint
                  : hint != maps.metadata().end() && !hint->second.empty() ? hint->second
                  : options.model                                          ? options.model->architecture
                                                                           : std::string("unknown");
  if (options.model) {
    const gguf_model_info& model = *options.model;
    if (cv.model_hint != model.architecture)
      raise<invalid_argument>("{}: the model hint '{}' ({}) is not the model's architecture '{}'", origin,
                              cv.model_hint, !options.model_hint.empty() ? "given" : "recorded in the maps",
                              model.architecture);
    for (const auto& [layer, direction] : cv.directions) {
      if (static_cast<std::int64_t>(direction.size()) != model.n_embd)
        raise<invalid_argument>("{}: site '{}' has width {} but the model's n_embd is {}", origin, site_of_layer[layer],
                                direction.size(), model.n_embd);
      if (layer >= model.n_layer)
        raise<invalid_argument>(
            "{}: site '{}' goes to layer {}, but the model has {} blocks: llama.cpp applies layers 1 "
            "to {} and would drop this one silently",
            origin, site_of_layer[layer], layer, model.n_layer, model.n_layer - 1);
    }
  }
  return cv;
}

/// The same with a strength and a model hint only: every site must be a block output.
template <class Scalar>
control_vector to_control_vector(const basic_map_set<Scalar>& maps, double lambda, std::string model_hint = {},
                                 std::string_view origin = "map set") {
  control_vector_options options;
  options.strength = lambda;
  options.model_hint = std::move(model_hint);
  return to_control_vector(maps, options, origin);
}

/// The map set of a control vector: site `l_out-N` adds direction.N (omega = 1, beta = direction,
/// unbounded); method "controlvector"; the model hint in the set's metadata (model_hint_key). A direction holding Inf
/// or NaN raises act::non_finite_error naming `origin` (e.g. the GGUF file), the tensor and the index.
template <class Scalar = float>
basic_map_set<Scalar> maps_from_control_vector(const control_vector& cv, std::string_view origin = "control vector") {
  basic_map_set<Scalar> maps;
  for (const auto& [layer, direction] : cv.directions) {
    for (std::size_t j = 0; j < direction.size(); ++j)
      if (!std::isfinite(direction[j]))
        raise<non_finite_error>("{}: tensor 'direction.{}' holds a non-finite value {} at index {}", origin, layer,
                                direction[j], j);
    auto m = affine_map<Scalar>::identity(static_cast<Eigen::Index>(direction.size()));
    m.beta = Eigen::Map<const Eigen::ArrayXf>(direction.data(), m.dim()).template cast<Scalar>();
    maps.insert(block_output_site(layer), m, {"controlvector", 0, 0, "unknown", "all"});
  }
  if (!cv.model_hint.empty()) maps.metadata()[std::string(model_hint_key)] = cv.model_hint;
  return maps;
}

}  // namespace act
