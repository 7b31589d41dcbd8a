#pragma once
/// \file map_file.hpp
/// Map files: the reader and writers declared and documented in map_file_decl.hpp, with their definitions,
/// and update_map_file with an edit function.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <sys/stat.h>

#include <act/core/error.hpp>
#include <act/core/text.hpp>
#include <act/core/version.hpp>
#include <act/detail/io/file.hpp>
#include <act/detail/io/text.hpp>
#include <act/core/methods.hpp>
#include <act/io/safetensors.hpp>
#include <act/maps/affine_map.hpp>
#include <act/maps/quantile_map.hpp>
#include <act/io/map_file_decl.hpp>
#include <act/sites/map_set.hpp>

namespace act {

namespace detail {

/// The field names a site's tensors may carry.
inline constexpr std::string_view map_fields[] = {"omega",        "beta",         "lower",     "upper",
                                                  "knots_source", "knots_target", "low_spread"};

/// One site's tensors (safetensors_tensor, or safetensors_span of a file read in place), by the index of
/// their field in map_fields (nullptr where absent), gathered while loading. (The loading steps below are
/// templates only so that translation units that load no maps compile none of them.)
template <class Tensor>
struct site_fields {
  using tensor_type = Tensor;
  std::string_view site;
  const Tensor* tensors[std::size(map_fields)] = {};
};

/// Groups the tensors by site, in the sites' lexicographic order: "<site>.<field>" with a known field;
/// anything else is refused. Tensors that come grouped with their sites in order (as act writes them) are
/// grouped in one pass; others are sorted first.
template <class File, class Tensor = typename decltype(File::tensors)::value_type>
std::vector<site_fields<Tensor>> tensors_by_site(const File& file, std::string_view origin) {
  struct named {
    std::string_view site;
    std::size_t field;
    const Tensor* tensor;
  };
  std::vector<named> all;
  all.reserve(file.tensors.size());
  bool in_order = true;
  for (const auto& t : file.tensors) {
    const auto dot = t.name.rfind('.');
    std::size_t known = std::size(map_fields);
    if (dot != std::string::npos && dot != 0)
      for (std::size_t f = 0; f < std::size(map_fields); ++f)
        if (std::string_view(t.name).substr(dot + 1) == map_fields[f]) known = f;
    if (known == std::size(map_fields))
      raise<format_error>("{}: tensor '{}' is not '<site>.omega|beta|lower|upper|knots_source|knots_target|low_spread'",
                          origin, t.name);
    all.push_back({std::string_view(t.name).substr(0, dot), known, &t});
    in_order = in_order && (all.size() == 1 || all[all.size() - 2].site <= all.back().site);
  }
  if (all.empty()) raise<format_error>("{}: holds no maps", origin);
  // Stable: of two tensors with one name (possible in a file built in memory), the later one is taken.
  if (!in_order)
    std::stable_sort(all.begin(), all.end(), [](const named& a, const named& b) { return a.site < b.site; });
  std::vector<site_fields<Tensor>> sites;
  for (const named& n : all) {
    if (sites.empty() || sites.back().site != n.site) sites.push_back({n.site});
    sites.back().tensors[n.field] = n.tensor;  // names are unique: one tensor per site and field
  }
  return sites;
}

/// The tensor of field `f`, or nullptr.
template <class Fields>
const typename Fields::tensor_type* field(const Fields& fields, std::string_view f) {
  for (std::size_t k = 0; k < std::size(map_fields); ++k)
    if (map_fields[k] == f) return fields.tensors[k];
  return nullptr;
}

/// Finds `<prefix><site>` in a sorted map of metadata, for sites asked in ascending order, by walking on
/// from the previous answer rather than searching from the root: linear in the map over a whole file
/// (and still right, by a search, for a site asked out of order).
template <class Metadata>
class metadata_walk {
 public:
  metadata_walk(const Metadata& metadata, std::string_view prefix)
      : metadata_(&metadata), key_(prefix), prefix_size_(prefix.size()), at_(metadata.lower_bound(key_)) {}

  const typename Metadata::mapped_type* find(std::string_view site) {
    key_.resize(prefix_size_);
    key_ += site;
    // Everything before at_ must be smaller than the key for the walk to start there.
    if (at_ != metadata_->begin() && !(std::prev(at_)->first < key_)) at_ = metadata_->lower_bound(key_);
    while (at_ != metadata_->end() && at_->first < key_) ++at_;
    return at_ != metadata_->end() && at_->first == key_ ? &at_->second : nullptr;
  }

 private:
  const Metadata* metadata_;
  std::string key_;
  std::size_t prefix_size_;
  typename Metadata::const_iterator at_;
};

/// The walks over a file's `act.<key>.<site>` metadata, one per key.
template <class Metadata>
struct site_metadata {
  explicit site_metadata(const Metadata& metadata)
      : method(metadata, "act.method."),
        samples(metadata, "act.samples."),
        pooling(metadata, "act.pooling."),
        support(metadata, "act.support."),
        bounds(metadata, "act.bounds."),
        low_spread(metadata, "act.low_spread.") {}
  metadata_walk<Metadata> method, samples, pooling, support, bounds, low_spread;
};

/// Reads a 1-D tensor of `d` values (any float dtype) into an Eigen array: finite, or not NaN with `allow_inf`.
template <class Scalar, class Tensor>
Eigen::Array<Scalar, Eigen::Dynamic, 1> load_vector(const Tensor& t, std::string_view origin, std::uint64_t d,
                                                    bool allow_inf) {
  if (t.shape.size() != 1 || t.shape[0] != d)
    raise<format_error>("{}: tensor '{}' has shape [{}] but the site has d = {}", origin, t.name,
                        join_numbers(t.shape, ", "), d);
  const std::vector<float> values = t.to_floats();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::isnan(values[i]) || (!allow_inf && std::isinf(values[i])))
      raise<format_error>("{}: tensor '{}' holds a non-finite value {} at index {}", origin, t.name, values[i], i);
  return Eigen::Map<const Eigen::ArrayXf>(values.data(), static_cast<Eigen::Index>(values.size()))
      .template cast<Scalar>();
}

/// Reads a [K, d] knot tensor (row-major on disk) into a column-major Eigen matrix of finite values.
template <class Scalar, class Tensor>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> load_knots(const Tensor& t, std::string_view origin,
                                                                 std::uint64_t d) {
  if (t.shape.size() != 2 || t.shape[0] == 0 || t.shape[1] != d)
    raise<format_error>("{}: tensor '{}' has shape [{}] but must be [K, {}] with K >= 1", origin, t.name,
                        join_numbers(t.shape, ", "), d);
  const std::vector<float> values = t.to_floats();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      raise<format_error>("{}: tensor '{}' holds a non-finite value {} at index {}", origin, t.name, values[i], i);
  using rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const rows>(values.data(), static_cast<Eigen::Index>(t.shape[0]), static_cast<Eigen::Index>(d))
      .template cast<Scalar>();
}

/// Parses a decimal count of at most 18 digits; returns false when malformed.
template <class Index>
bool parse_count(std::string_view part, Index& out) {
  if (part.empty() || part.size() > 18) return false;
  Index v = 0;
  for (const char c : part) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

/// Parses "n_a,n_b" sample counts; returns false when malformed.
template <class Index>
bool parse_samples(std::string_view text, Index& na, Index& nb) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return false;
  return parse_count(text.substr(0, comma), na) && parse_count(text.substr(comma + 1), nb);
}

/// The affine part of a site: omega and beta, and the support bounds when present (both or neither,
/// never NaN, lower <= upper).
template <class Scalar, class Fields>
affine_map<Scalar> load_affine_part(const std::string& site, const Fields& fields, support_bounds bounds,
                                    std::string_view origin) {
  const auto* omega = field(fields, "omega");
  const auto* beta = field(fields, "beta");
  if (!omega) raise<format_error>("{}: site '{}' has no tensor '{}.omega'", origin, site, site);
  if (!beta) raise<format_error>("{}: site '{}' has no tensor '{}.beta'", origin, site, site);
  if (omega->shape.size() != 1 || omega->shape[0] == 0)
    raise<format_error>("{}: tensor '{}' must be 1-D and non-empty, has shape [{}]", origin, omega->name,
                        join_numbers(omega->shape, ", "));
  const std::uint64_t d = omega->shape[0];
  affine_map<Scalar> m;
  m.omega = load_vector<Scalar>(*omega, origin, d, false);
  m.beta = load_vector<Scalar>(*beta, origin, d, false);
  const auto* lower = field(fields, "lower");
  const auto* upper = field(fields, "upper");
  if ((lower == nullptr) != (upper == nullptr))
    raise<format_error>("{}: site '{}' has '{}' without '{}'", origin, site, lower ? lower->name : upper->name,
                        lower ? site + ".upper" : site + ".lower");
  if (lower) {
    m.bounds = bounds;
    // Bounds may be infinite (a one-sided support), never NaN.
    m.lower = load_vector<Scalar>(*lower, origin, d, true);
    m.upper = load_vector<Scalar>(*upper, origin, d, true);
    for (Eigen::Index j = 0; j < m.lower.size(); ++j)
      if (!(m.lower[j] <= m.upper[j]))
        raise<format_error>("{}: site '{}': lower > upper at neuron {} ({} > {})", origin, site, j,
                            static_cast<double>(m.lower[j]), static_cast<double>(m.upper[j]));
  }
  return m;
}

/// The knots of a quantile site (both tensors, the same K, ascending and finite), or an empty map for an
/// affine site. A site with knots carries no support.
template <class Scalar, class Fields>
quantile_map<Scalar> load_knots_part(const std::string& site, const Fields& fields, std::uint64_t d, bool has_support,
                                     std::string_view origin) {
  const auto* source = field(fields, "knots_source");
  const auto* target = field(fields, "knots_target");
  if ((source == nullptr) != (target == nullptr))
    raise<format_error>("{}: site '{}' has '{}' without '{}'", origin, site, source ? source->name : target->name,
                        source ? site + ".knots_target" : site + ".knots_source");
  quantile_map<Scalar> q;
  if (!source) return q;
  if (has_support)
    raise<format_error>("{}: site '{}' has both knots and a support; quantile maps carry no support", origin, site);
  q.knots_source = load_knots<Scalar>(*source, origin, d);
  q.knots_target = load_knots<Scalar>(*target, origin, d);
  if (q.knots_target.rows() != q.knots_source.rows())
    raise<format_error>("{}: '{}' has {} knots but '{}' has {}", origin, source->name, q.knots_source.rows(),
                        target->name, q.knots_target.rows());
  try {
    q.validate();
  } catch (const error& e) {
    raise<format_error>("{}: site '{}': {}", origin, site, e.what());
  }
  return q;
}

/// The boundary rule of a site's support from `act.bounds.<site>`: closed when absent (files written before
/// the key existed had closed supports).
template <class Metadata>
support_bounds load_bounds(const std::string& site, site_metadata<Metadata>& metadata, std::string_view origin) {
  const auto* v = metadata.bounds.find(site);
  if (v == nullptr) return support_bounds::closed;
  if (*v != "open" && *v != "closed")
    raise<format_error>("{}: act.bounds.{} is '{}', expected 'open' or 'closed'", origin, printable(site),
                        printable(*v));
  return parse_bounds(*v);
}

/// The provenance of a site from the `act.<key>.<site>` metadata.
template <class Metadata>
map_info load_info(const std::string& site, site_metadata<Metadata>& metadata, std::string_view origin) {
  map_info info;
  // What a map set holds must be valid names (see act::check_name); a file cannot smuggle in others.
  const auto text = [&](const char* key, metadata_walk<Metadata>& walk, std::string& out) {
    const auto* v = walk.find(site);
    if (v == nullptr) return;
    if (const std::string problem = name_problem(*v); !problem.empty())
      raise<format_error>("{}: act.{}.{} '{}' {}", origin, key, printable(site), printable(*v), problem);
    out = *v;
  };
  text("method", metadata.method, info.method);
  text("pooling", metadata.pooling, info.pooling);
  text("support", metadata.support, info.support);
  if (const auto* v = metadata.samples.find(site))
    if (!parse_samples(*v, info.source_samples, info.target_samples))
      raise<format_error>("{}: act.samples.{} is '{}', expected 'n_a,n_b'", origin, site, *v);
  if (const auto* v = metadata.low_spread.find(site))
    if (!parse_count(*v, info.low_spread_neurons))
      raise<format_error>("{}: act.low_spread.{} is '{}', expected a count of neurons", origin, printable(site),
                          printable(*v));
  return info;
}

/// The per-neuron low-spread flags of a site from its optional `<site>.low_spread` tensor ([d], every value
/// 0 or 1, as many ones as `act.low_spread.<site>` counts) into info.low_spread; nothing without the tensor.
template <class Fields, class Info>
void load_low_spread(const std::string& site, const Fields& fields, std::uint64_t d, Info& info,
                     std::string_view origin) {
  const auto* t = field(fields, "low_spread");
  if (t == nullptr) return;
  const Eigen::ArrayXf flags = load_vector<float>(*t, origin, d, false);
  for (Eigen::Index j = 0; j < flags.size(); ++j)
    if (flags[j] != 0.0f && flags[j] != 1.0f)
      raise<format_error>("{}: tensor '{}' holds {} at neuron {}, expected 0 or 1", origin, t->name, flags[j], j);
  info.low_spread = flags != 0.0f;
  if (info.low_spread.count() != info.low_spread_neurons)
    raise<format_error>("{}: tensor '{}' marks {} neuron(s) but act.low_spread.{} counts {}", origin, t->name,
                        info.low_spread.count(), printable(site), info.low_spread_neurons);
}

/// A site whose provenance names a registered method must hold that method's kind of map (knots for a
/// quantile method, none for an affine one); other method names (e.g. "controlvector") are not checked.
template <class Info>
void check_method_kind(const std::string& site, const Info& info, bool has_knots, std::string_view origin) {
  const method_info* m = find_method(info.method);
  if (m == nullptr || (m->kind == map_kind::quantile) == has_knots) return;
  raise<format_error>("{}: site '{}': method '{}' fits {} maps, but the site {}", origin, site, info.method,
                      m->kind == map_kind::quantile ? "quantile" : "affine", has_knots ? "has knots" : "has no knots");
}

/// Refuses files without act's layout version.
template <class File>
void check_map_format(const File& file, std::string_view origin) {
  const auto version = file.metadata.find("act.format_version");
  if (version == file.metadata.end())
    raise<format_error>("{}: metadata key 'act.format_version' is missing: not an act map file", origin);
  if (version->second != map_format_version)
    raise<format_error>("{}: act.format_version is '{}', this library reads '{}'", origin, version->second,
                        map_format_version);
}

}  // namespace detail

namespace detail {

/// A map set as act's map file lays it out, in the order it is written: `tensor(name, shape, values)` for
/// every tensor (per site in site order; shape a std::vector<std::uint64_t> of 1 or 2 extents, row-major
/// float values), then `metadata(key, value)` for every metadata entry in key order. Throws
/// invalid_argument for what a file cannot hold (inconsistent low-spread flags, notes under `act.`).
template <class Scalar, class Tensor, class Metadata>
void visit_map_file(const basic_map_set<Scalar>& maps, Tensor&& tensor, Metadata&& metadata) {
  // The per-site keys by kind, each in site order: with the sites sorted, so are they.
  enum { bounds, low_spread, method, pooling, samples, support, kinds };
  static constexpr const char* prefixes[kinds] = {"act.bounds.",  "act.low_spread.", "act.method.",
                                                  "act.pooling.", "act.samples.",    "act.support."};
  std::vector<std::pair<std::string_view, std::string>> keys[kinds];
  std::string name;
  std::vector<std::uint64_t> shape;
  std::vector<float> values;
  const auto vector = [&](const std::string& site, const char* field, const auto& v) {
    name.assign(site).append(".").append(field);
    shape.assign({static_cast<std::uint64_t>(v.size())});
    values.resize(static_cast<std::size_t>(v.size()));
    for (Eigen::Index i = 0; i < v.size(); ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(v[i]);
    tensor(name, shape, values.data());
  };
  // A [K, d] tensor of a column-major knot matrix, row-major on disk.
  const auto matrix = [&](const std::string& site, const char* field, const auto& m) {
    name.assign(site).append(".").append(field);
    shape.assign({static_cast<std::uint64_t>(m.rows()), static_cast<std::uint64_t>(m.cols())});
    values.resize(static_cast<std::size_t>(m.size()));
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      for (Eigen::Index c = 0; c < m.cols(); ++c)
        values[static_cast<std::size_t>(r * m.cols() + c)] = static_cast<float>(m(r, c));
    tensor(name, shape, values.data());
  };
  const std::vector<std::string> sites = maps.sites();
  for (const auto& site : sites) {
    const auto& e = maps.at(site);
    const auto* q = std::get_if<quantile_map<Scalar>>(&e.map);
    const affine_map<Scalar> m = q ? least_squares_line(*q) : std::get<affine_map<Scalar>>(e.map);
    vector(site, "omega", m.omega);
    vector(site, "beta", m.beta);
    if (m.bounded()) {
      vector(site, "lower", m.lower);
      vector(site, "upper", m.upper);
      keys[bounds].emplace_back(site, bounds_name(m.bounds));
    }
    if (e.info.low_spread_neurons > 0) keys[low_spread].emplace_back(site, std::to_string(e.info.low_spread_neurons));
    if (e.info.low_spread.size() != 0) {
      const Eigen::Index marked = e.info.low_spread.count();
      if (e.info.low_spread.size() != m.dim() || marked != e.info.low_spread_neurons)
        raise<invalid_argument>(
            "site '{}': map_info::low_spread holds {} flag(s) with {} set, but the map has d = {} and "
            "low_spread_neurons = {}",
            printable(site), e.info.low_spread.size(), marked, m.dim(), e.info.low_spread_neurons);
      if (marked > 0) vector(site, "low_spread", e.info.low_spread);
    }
    if (q) {
      matrix(site, "knots_source", q->knots_source);
      matrix(site, "knots_target", q->knots_target);
    }
    keys[method].emplace_back(site, e.info.method);
    keys[samples].emplace_back(site, fmt::format("{},{}", e.info.source_samples, e.info.target_samples));
    keys[pooling].emplace_back(site, e.info.pooling);
    keys[support].emplace_back(site, !e.info.support.empty() ? e.info.support
                                     : q                     ? "knots"
                                     : m.bounded()           ? "bounded"
                                                             : "all");
  }
  for (const auto& note : maps.metadata())
    if (note.first.empty() || note.first.rfind("act.", 0) == 0)
      raise<invalid_argument>("map_set metadata key '{}' is not allowed: keys starting with 'act.' are act's own",
                              note.first);
  // Key order: the set's notes sort all before or all after "act." (none starts with it), and act's keys
  // in the order of their prefixes: act.bounds.*, act.format_version, act.library_version, act.low_spread.*,
  // act.method.*, act.pooling.*, act.samples.*, act.support.*.
  const auto notes_after = maps.metadata().lower_bound(std::string_view("act."));
  for (auto it = maps.metadata().begin(); it != notes_after; ++it) metadata(it->first, it->second);
  const auto emit_kind = [&](int kind) {
    for (const auto& [site, value] : keys[kind]) {
      name.assign(prefixes[kind]).append(site);
      metadata(name, value);
    }
  };
  emit_kind(bounds);
  metadata("act.format_version", map_format_version);
  metadata("act.library_version", fmt::format("{}.{}.{}", ACT_VERSION_MAJOR, ACT_VERSION_MINOR, ACT_VERSION_PATCH));
  for (const int kind : {low_spread, method, pooling, samples, support}) emit_kind(kind);
  for (auto it = notes_after; it != maps.metadata().end(); ++it) metadata(it->first, it->second);
}

/// The bytes of the map file of `maps`: serialize_safetensors(maps_to_safetensors(maps)), written directly.
template <class Scalar>
std::vector<unsigned char> map_file_bytes(const basic_map_set<Scalar>& maps) {
  std::string tensors;  // the tensors' header entries, each after a comma
  std::vector<unsigned char> data;
  std::string header = "{\"__metadata__\":{";
  // Room for two tensors and five keys per site of short names, so that most sets write without regrowing.
  tensors.reserve(maps.size() * 2 * 96);
  header.reserve(maps.size() * 5 * 48);
  bool first_note = true;
  visit_map_file(
      maps,
      [&](const std::string& name, const std::vector<std::uint64_t>& shape, const float* values) {
        const std::size_t count = shape.size() == 1 ? shape[0] : shape[0] * shape[1];
        tensors += ',';
        append_tensor_entry(tensors, name, dtype::f32, shape, data.size(), data.size() + 4 * count);
        const std::size_t at = data.size();
        data.resize(at + 4 * count);
        for (std::size_t i = 0; i < count; ++i) encode_element(data.data() + at, dtype::f32, i, values[i]);
      },
      [&](std::string_view key, std::string_view value) {
        check_header_utf8("metadata key", key);
        check_header_utf8("metadata value", value);
        if (!first_note) header += ',';
        first_note = false;
        append_metadata_entry(header, key, value);
      });
  header += '}';
  header += tensors;
  header += '}';
  return safetensors_bytes<unsigned char>(header, data.size(), [&data](std::vector<unsigned char>& out) {
    out.insert(out.end(), data.begin(), data.end());
  });
}

}  // namespace detail

template <class Scalar>
safetensors_file maps_to_safetensors(const basic_map_set<Scalar>& maps) {
  safetensors_file file;
  detail::visit_map_file(
      maps,
      [&file](const std::string& name, const std::vector<std::uint64_t>& shape, const float* values) {
        file.tensors.push_back(safetensors_tensor::from_floats(name, shape, values));
      },
      [&file](std::string_view key, std::string_view value) {
        file.metadata.emplace_hint(file.metadata.end(), std::string(key), std::string(value));
      });
  return file;
}

namespace detail {

/// Reads the sites of a safetensors file's content (safetensors_file, or safetensors_contents read in place)
/// in act's layout, validating everything, into `sites`: a map set, or one that keeps nothing (checking
/// only). `origin` names the source in errors.
template <class Scalar, class File, class Sites>
void read_map_sites(const File& file, std::string_view origin, Sites& sites) {
  check_map_format(file, origin);
  site_metadata<decltype(file.metadata)> metadata(file.metadata);
  for (const auto& fields : tensors_by_site(file, origin)) {
    const std::string site(fields.site);
    if (const std::string problem = name_problem(site); !problem.empty())
      raise<format_error>("{}: site name '{}' {}", origin, printable(site), problem);
    const affine_map<Scalar> m = load_affine_part<Scalar>(site, fields, load_bounds(site, metadata, origin), origin);
    const quantile_map<Scalar> q =
        load_knots_part<Scalar>(site, fields, static_cast<std::uint64_t>(m.dim()), m.bounded(), origin);
    map_info info = load_info(site, metadata, origin);
    load_low_spread(site, fields, static_cast<std::uint64_t>(m.dim()), info, origin);
    check_method_kind(site, info, q.dim() != 0, origin);
    try {
      if (q.dim() != 0)
        sites.insert(site, q, std::move(info));
      else
        sites.insert(site, m, std::move(info));
    } catch (const error& e) {
      // What the checks above let through and the set still refuses (a map whose displacement overflows).
      raise<format_error>("{}: {}", origin, e.what());
    }
  }
  for (const auto& [key, value] : file.metadata) {
    if (key.rfind("act.", 0) == 0) continue;
    // The set's own notes must be writable again (maps_to_safetensors refuses an empty key).
    if (key.empty()) raise<format_error>("{}: a metadata key is empty", origin);
    sites.metadata()[std::string(key)] = value;
  }
}

/// A map set that checks what is inserted as basic_map_set::insert does, then lets it go: a file's sites
/// are validated without the memory of holding them all.
template <class Scalar>
class checked_sites {
 public:
  template <class Map>
  void insert(const std::string& site, const Map& map, map_info info) {
    one_.insert(site, map, std::move(info));
    one_.erase(site);
  }
  std::map<std::string, std::string, std::less<>>& metadata() { return one_.metadata(); }

 private:
  basic_map_set<Scalar> one_;
};

}  // namespace detail

template <class Scalar>
basic_map_set<Scalar> maps_from_safetensors(const safetensors_file& file, std::string_view origin) {
  basic_map_set<Scalar> maps;
  detail::read_map_sites<Scalar>(file, origin, maps);
  return maps;
}

template <class Scalar>
basic_map_set<Scalar> load_maps(const std::string& path) {
  // Read in place: the tensors' bytes are decoded from the file's, not copied out first.
  const std::vector<unsigned char> bytes = detail::read_file(path);
  basic_map_set<Scalar> maps;
  detail::read_map_sites<Scalar>(detail::read_safetensors_contents(bytes.data(), bytes.size(), path), path, maps);
  return maps;
}

template <class Scalar>
void check_map_file(const std::string& path) {
  const std::vector<unsigned char> bytes = detail::read_file(path);
  detail::checked_sites<Scalar> sites;
  detail::read_map_sites<Scalar>(detail::read_safetensors_contents(bytes.data(), bytes.size(), path), path, sites);
}

namespace detail {

/// Writes `maps` over `target` atomically; the caller holds the target's lock.
template <class Scalar>
void write_locked_map_file(const target_path& target, const basic_map_set<Scalar>& maps) {
  if (maps.empty())
    raise<invalid_argument>("{}: the map set is empty; a map file holds at least one site", target.name());
  const std::vector<unsigned char> bytes = map_file_bytes(maps);
  atomic_write(target.path, bytes.data(), bytes.size());
}

}  // namespace detail

template <class Scalar>
void save_maps(const std::string& path, const basic_map_set<Scalar>& maps, std::chrono::milliseconds timeout) {
  if (maps.empty()) raise<invalid_argument>("save_maps: {}: the map set is empty", path);
  const detail::target_path target = detail::target_of(path);
  detail::check_replaceable(target);
  const detail::target_lock lock(target, timeout);
  detail::write_locked_map_file(target, maps);
}

/// Changes the map file at `path` in place, safely against other processes and threads doing the same:
/// takes the file's lock, reads the file (a missing file is an empty map set), calls `edit(maps)` on what it
/// holds, writes the result atomically (as save_maps) and releases the lock; returns the set as written.
///
///     act::update_map_file("detox.safetensors", [&](act::map_set& maps) { maps.erase("blk.3"); });
///
/// The guarantee: every writer of act's (act-cli, act-mpi, act-llama, the Python binding, save_maps) takes
/// the same lock, so no update is lost: each edit sees every update and replace finished before it, and
/// they apply one at a time. Readers never wait and never see a partial file. The lock is an flock on the
/// sibling file `.NAME.lock` (NAME shortened with a hash when it is very long; a symbolic link's target
/// is locked, not the link), created when needed and removed by its holder; other programs may join the
/// protocol described at detail::target_lock.
///
/// Keep `edit` short (the lock is held while it runs): fit before, insert inside. When the lock is not
/// free within `timeout`, throws io_error naming the file and nothing is written; so does any error of
/// reading (a file that is not a valid map file is never replaced), of `edit` (whatever it throws
/// propagates) or of writing. An edit that leaves the set empty is refused as in save_maps.
template <class Scalar = float, class Path, class Edit,
          class = std::enable_if_t<std::is_invocable_v<Edit&, basic_map_set<Scalar>&>>>
basic_map_set<Scalar> update_map_file(const Path& path, Edit&& edit,
                                      std::chrono::milliseconds timeout = map_file_lock_timeout) {
  const detail::target_path target = detail::target_of(path);
  detail::check_replaceable(target);
  const detail::target_lock lock(target, timeout);
  basic_map_set<Scalar> maps;
  struct stat info {};
  if (::lstat(target.path.c_str(), &info) == 0 || errno != ENOENT) maps = load_maps<Scalar>(target.path);
  edit(maps);
  detail::write_locked_map_file(target, maps);
  return maps;
}

template <class Scalar>
basic_map_set<Scalar> update_map_file(const std::string& path, const basic_map_set<Scalar>& sites,
                                      std::chrono::milliseconds timeout) {
  if (sites.empty()) raise<invalid_argument>("update_map_file: {}: no sites to add", path);
  return update_map_file<Scalar>(
      path,
      [&sites](basic_map_set<Scalar>& maps) {
        for (const auto& site : sites.sites()) {
          const auto& e = sites.at(site);
          maps.insert(site, e.map, e.info);
        }
        for (const auto& [key, value] : sites.metadata()) maps.metadata()[key] = value;
      },
      timeout);
}

}  // namespace act
