#pragma once
/// \file map_file.hpp
/// Saves and loads a map_set as a safetensors file with act's fixed layout.
///
/// Tensors, for every site `<site>` (any name, dots allowed; the field is after the last dot):
///   `<site>.omega`, `<site>.beta`            F32 [d]
///   `<site>.lower`, `<site>.upper`           F32 [d], only when the support is bounded
///   `<site>.knots_source`, `<site>.knots_target`  F32 [K, d], non-parametric maps only; their
///                                            omega/beta are then the least-squares line through the
///                                            knots, a summary for readers that only know affine maps
/// `__metadata__`: `act.format_version` = "1", and per site `act.method.<site>`, `act.samples.<site>`
/// ("n_a,n_b"), `act.pooling.<site>`, `act.support.<site>`; plus `act.library_version`.
/// Loading validates everything and names the offending tensor or key.

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <act/core/error.hpp>
#include <act/core/version.hpp>
#include <act/detail/io/text.hpp>
#include <act/io/safetensors.hpp>
#include <act/maps/affine_map.hpp>
#include <act/maps/quantile_map.hpp>
#include <act/sites/map_set.hpp>

namespace act {

/// The layout version written to and required in `act.format_version`.
inline constexpr std::string_view map_format_version = "1";

/// Per neuron, the least-squares line through a quantile map's knots (x_k, y_k).
inline affine_map<float> least_squares_line(const quantile_map<float>& q) {
  affine_map<float> line = affine_map<float>::identity(q.dim());
  for (Eigen::Index j = 0; j < q.dim(); ++j) {
    const Eigen::ArrayXd x = q.knots_source.col(j).cast<double>().array(), y = q.knots_target.col(j).cast<double>().array();
    const double mx = x.mean(), my = y.mean();
    const double sxx = (x - mx).square().sum(), sxy = ((x - mx) * (y - my)).sum();
    const double slope = sxx > 0 ? sxy / sxx : 1.0;  // one knot, or all equal: a shift
    line.omega[j] = static_cast<float>(slope);
    line.beta[j] = static_cast<float>(my - slope * mx);
  }
  return line;
}

namespace detail {

inline safetensors_tensor vector_tensor(const std::string& name, const Eigen::ArrayXf& v) {
  return safetensors_tensor::from_floats(name, {static_cast<std::uint64_t>(v.size())}, v.data());
}

/// Row-major [K, d] tensor of a column-major knot matrix.
inline safetensors_tensor matrix_tensor(const std::string& name, const Eigen::MatrixXf& m) {
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = m;
  return safetensors_tensor::from_floats(name, {static_cast<std::uint64_t>(m.rows()), static_cast<std::uint64_t>(m.cols())},
                                         rows.data());
}

/// A site's tensors gathered by field name while loading.
struct site_tensors {
  std::map<std::string, const safetensors_tensor*, std::less<>> fields;
};

/// Reads a 1-D tensor of `d` finite values (any float dtype) into an Eigen array.
inline Eigen::ArrayXf load_vector(const safetensors_tensor& t, std::string_view origin, std::uint64_t d, bool allow_inf) {
  if (t.shape.size() != 1 || t.shape[0] != d)
    raise<format_error>("{}: tensor '{}' has shape [{}] but the site has d = {}", origin, t.name,
                        detail::join_numbers(t.shape, ", "), d);
  const std::vector<float> values = t.to_floats();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::isnan(values[i]) || (!allow_inf && std::isinf(values[i])))
      raise<format_error>("{}: tensor '{}' holds a non-finite value {} at index {}", origin, t.name, values[i], i);
  return Eigen::Map<const Eigen::ArrayXf>(values.data(), static_cast<Eigen::Index>(values.size()));
}

/// Reads a [K, d] knot tensor (row-major on disk) into a column-major Eigen matrix.
inline Eigen::MatrixXf load_knots(const safetensors_tensor& t, std::string_view origin, std::uint64_t d) {
  if (t.shape.size() != 2 || t.shape[0] == 0 || t.shape[1] != d)
    raise<format_error>("{}: tensor '{}' has shape [{}] but must be [K, {}] with K >= 1", origin, t.name,
                        detail::join_numbers(t.shape, ", "), d);
  const std::vector<float> values = t.to_floats();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      raise<format_error>("{}: tensor '{}' holds a non-finite value {} at index {}", origin, t.name, values[i], i);
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      values.data(), static_cast<Eigen::Index>(t.shape[0]), static_cast<Eigen::Index>(d));
}

/// Parses "n_a,n_b" sample counts; returns false when malformed.
inline bool parse_samples(std::string_view text, Eigen::Index& na, Eigen::Index& nb) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return false;
  const auto number = [](std::string_view part, Eigen::Index& out) {
    if (part.empty() || part.size() > 18) return false;
    Eigen::Index v = 0;
    for (const char c : part) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    return true;
  };
  return number(text.substr(0, comma), na) && number(text.substr(comma + 1), nb);
}

}  // namespace detail

/// The safetensors content of a map set (what save_maps writes).
inline safetensors_file maps_to_safetensors(const map_set& maps) {
  safetensors_file file;
  file.metadata["act.format_version"] = std::string(map_format_version);
  file.metadata["act.library_version"] = fmt::format("{}.{}.{}", ACT_VERSION_MAJOR, ACT_VERSION_MINOR, ACT_VERSION_PATCH);
  for (const auto& site : maps.sites()) {
    const auto& e = maps.at(site);
    const auto* q = std::get_if<quantile_map<float>>(&e.map);
    const affine_map<float> m = q ? least_squares_line(*q) : std::get<affine_map<float>>(e.map);
    file.tensors.push_back(detail::vector_tensor(site + ".omega", m.omega));
    file.tensors.push_back(detail::vector_tensor(site + ".beta", m.beta));
    if (m.bounded()) {
      file.tensors.push_back(detail::vector_tensor(site + ".lower", m.lower));
      file.tensors.push_back(detail::vector_tensor(site + ".upper", m.upper));
    }
    if (q) {
      file.tensors.push_back(detail::matrix_tensor(site + ".knots_source", q->knots_source));
      file.tensors.push_back(detail::matrix_tensor(site + ".knots_target", q->knots_target));
    }
    file.metadata["act.method." + site] = e.info.method;
    file.metadata["act.samples." + site] = fmt::format("{},{}", e.info.source_samples, e.info.target_samples);
    file.metadata["act.pooling." + site] = e.info.pooling;
    file.metadata["act.support." + site] =
        !e.info.support.empty() ? e.info.support : q ? "knots" : m.bounded() ? "bounded" : "all";
  }
  return file;
}

/// Builds a map set from safetensors content in act's layout; `origin` names the source in errors.
inline map_set maps_from_safetensors(const safetensors_file& file, std::string_view origin) {
  const auto version = file.metadata.find("act.format_version");
  if (version == file.metadata.end())
    raise<format_error>("{}: metadata key 'act.format_version' is missing: not an act map file", origin);
  if (version->second != map_format_version)
    raise<format_error>("{}: act.format_version is '{}', this library reads '{}'", origin, version->second,
                                map_format_version);

  static const std::set<std::string, std::less<>> known = {"omega", "beta", "lower", "upper", "knots_source",
                                                           "knots_target"};
  std::map<std::string, detail::site_tensors, std::less<>> sites;
  for (const auto& t : file.tensors) {
    const auto dot = t.name.rfind('.');
    if (dot == std::string::npos || dot == 0 || known.count(std::string_view(t.name).substr(dot + 1)) == 0)
      raise<format_error>("{}: tensor '{}' is not '<site>.omega|beta|lower|upper|knots_source|knots_target'", origin, t.name);
    sites[t.name.substr(0, dot)].fields[t.name.substr(dot + 1)] = &t;
  }
  if (sites.empty()) raise<format_error>("{}: holds no maps", origin);

  map_set maps;
  // Plain references, not a structured binding: C++17 forbids lambdas capturing bindings (Clang refuses).
  for (const auto& site_entry : sites) {
    const std::string& site = site_entry.first;
    const detail::site_tensors& parts = site_entry.second;
    const auto field = [&](std::string_view f) -> const safetensors_tensor* {
      const auto it = parts.fields.find(f);
      return it == parts.fields.end() ? nullptr : it->second;
    };
    const safetensors_tensor* omega = field("omega");
    const safetensors_tensor* beta = field("beta");
    if (!omega) raise<format_error>("{}: site '{}' has no tensor '{}.omega'", origin, site, site);
    if (!beta) raise<format_error>("{}: site '{}' has no tensor '{}.beta'", origin, site, site);
    if (omega->shape.size() != 1 || omega->shape[0] == 0)
      raise<format_error>("{}: tensor '{}' must be 1-D and non-empty, has shape [{}]", origin, omega->name,
                                  detail::join_numbers(omega->shape, ", "));
    const std::uint64_t d = omega->shape[0];
    affine_map<float> m;
    m.omega = detail::load_vector(*omega, origin, d, false);
    m.beta = detail::load_vector(*beta, origin, d, false);
    const safetensors_tensor* lower = field("lower");
    const safetensors_tensor* upper = field("upper");
    if ((lower == nullptr) != (upper == nullptr))
      raise<format_error>("{}: site '{}' has '{}' without '{}'", origin, site, lower ? lower->name : upper->name,
                                  lower ? site + ".upper" : site + ".lower");
    if (lower) {
      // Bounds may be infinite (a one-sided support), never NaN.
      m.lower = detail::load_vector(*lower, origin, d, true);
      m.upper = detail::load_vector(*upper, origin, d, true);
      for (Eigen::Index j = 0; j < m.lower.size(); ++j)
        if (!(m.lower[j] <= m.upper[j]))
          raise<format_error>("{}: site '{}': lower > upper at neuron {} ({} > {})", origin, site, j, m.lower[j],
                                      m.upper[j]);
    }
    const safetensors_tensor* knots_source = field("knots_source");
    const safetensors_tensor* knots_target = field("knots_target");
    if ((knots_source == nullptr) != (knots_target == nullptr))
      raise<format_error>("{}: site '{}' has '{}' without '{}'", origin, site,
                                  knots_source ? knots_source->name : knots_target->name,
                                  knots_source ? site + ".knots_target" : site + ".knots_source");
    quantile_map<float> q;
    if (knots_source) {
      if (lower) raise<format_error>("{}: site '{}' has both knots and a support; quantile maps carry no support", origin, site);
      q.knots_source = detail::load_knots(*knots_source, origin, d);
      q.knots_target = detail::load_knots(*knots_target, origin, d);
      if (q.knots_target.rows() != q.knots_source.rows())
        raise<format_error>("{}: '{}' has {} knots but '{}' has {}", origin, knots_source->name, q.knots_source.rows(),
                                    knots_target->name, q.knots_target.rows());
      try {
        q.validate();
      } catch (const error& e) {
        raise<format_error>("{}: site '{}': {}", origin, site, e.what());
      }
    }
    map_info info;
    const auto meta = [&](const char* key) -> const std::string* {
      const auto it = file.metadata.find(fmt::format("act.{}.{}", key, site));
      return it == file.metadata.end() ? nullptr : &it->second;
    };
    if (const auto* v = meta("method")) info.method = *v;
    if (const auto* v = meta("pooling")) info.pooling = *v;
    if (const auto* v = meta("support")) info.support = *v;
    if (const auto* v = meta("samples"))
      if (!detail::parse_samples(*v, info.source_samples, info.target_samples))
        raise<format_error>("{}: act.samples.{} is '{}', expected 'n_a,n_b'", origin, site, *v);
    if (knots_source)
      maps.insert(site, q, info);
    else
      maps.insert(site, m, info);
  }
  return maps;
}

/// Writes `maps` to `path` atomically (temporary file in the same folder, then rename).
inline void save_maps(const std::string& path, const map_set& maps) {
  if (maps.empty()) raise<invalid_argument>("save_maps: {}: the map set is empty", path);
  write_safetensors(path, maps_to_safetensors(maps));
}

/// Reads and validates an act map file.
inline map_set load_maps(const std::string& path) { return maps_from_safetensors(read_safetensors(path), path); }

}  // namespace act
