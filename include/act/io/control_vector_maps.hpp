#pragma once
/// \file control_vector_maps.hpp
/// Map sets <-> llama.cpp control vectors: additive maps become one direction per layer, and control
/// vectors come back as additive maps at sites "blk.N" (what `act-cli export-gguf` / `import-gguf` do).
///
///     act::control_vector cv = act::to_control_vector(maps, 1.0, "llama");   // then act::write_control_vector
///     act::map_set back = act::maps_from_control_vector(act::read_control_vector("cv.gguf"));

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/io/gguf.hpp>
#include <act/sites/map_set.hpp>

namespace act {

/// The last integer in a site's name: "blk.12" and "blk.12.attn_out" -> 12; -1 when there is none (or it
/// has more than 9 digits).
inline long site_layer(std::string_view site) {
  long value = -1;
  for (std::size_t i = 0; i < site.size();) {
    if (site[i] >= '0' && site[i] <= '9') {
      std::size_t j = i;
      long v = 0;
      for (; j < site.size() && site[j] >= '0' && site[j] <= '9'; ++j)
        if (j - i < 9) v = v * 10 + (site[j] - '0');
      value = j - i > 9 ? -1 : v;
      i = j;
    } else {
      ++i;
    }
  }
  return value;
}

/// The control vector of `maps` at strength `lambda`: tensor `direction.N` = lambda * beta of the site whose
/// name ends in layer number N (site_layer). Every map must be additive everywhere (an affine map with
/// omega = 1 and an unbounded support) and name its own layer >= 1; otherwise act::invalid_argument names
/// `origin` (e.g. the map file) and the site.
template <class Scalar>
control_vector to_control_vector(const basic_map_set<Scalar>& maps, double lambda = 1.0, std::string model_hint = "unknown",
                                 std::string_view origin = "map set") {
  detail::check_strength("to_control_vector strength", lambda);
  control_vector cv;
  cv.model_hint = std::move(model_hint);
  for (const auto& site : maps.sites()) {
    const auto* m = std::get_if<affine_map<Scalar>>(&maps.at(site).map);
    // A control vector can only add a constant: the map must be a pure shift everywhere.
    if (m == nullptr || m->bounded() || !(m->omega == Scalar(1)).all())
      raise<invalid_argument>(
          "{}: site '{}' is not additive (a control vector needs omega = 1 and an unbounded support; refit with "
          "--method mean/caa/actadd/pca/itic --support all)",
          origin, site);
    const long layer = site_layer(site);
    if (layer < 1) raise<invalid_argument>("{}: site '{}' has no layer number >= 1 in its name (as in 'blk.12')", origin, site);
    if (cv.directions.count(static_cast<int>(layer)))
      raise<invalid_argument>("{}: two sites map to layer {} (site '{}')", origin, layer, site);
    std::vector<float> direction(static_cast<std::size_t>(m->dim()));
    for (Eigen::Index j = 0; j < m->dim(); ++j)
      direction[static_cast<std::size_t>(j)] = static_cast<float>(strength_shift(static_cast<double>(m->beta[j]), lambda));
    cv.directions[static_cast<int>(layer)] = std::move(direction);
  }
  return cv;
}

/// Additive maps (omega = 1, unbounded) at sites "blk.N", one per direction of the control vector, with
/// provenance method "controlvector", pooling "unknown", support "all".
template <class Scalar = float>
basic_map_set<Scalar> maps_from_control_vector(const control_vector& cv) {
  basic_map_set<Scalar> maps;
  for (const auto& [layer, direction] : cv.directions) {
    auto m = affine_map<Scalar>::identity(static_cast<Eigen::Index>(direction.size()));
    for (std::size_t j = 0; j < direction.size(); ++j) m.beta[static_cast<Eigen::Index>(j)] = static_cast<Scalar>(direction[j]);
    maps.insert("blk." + std::to_string(layer), m, {"controlvector", 0, 0, "unknown", "all"});
  }
  return maps;
}

}  // namespace act
