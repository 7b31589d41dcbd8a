#pragma once
/// \file map_set_decl.hpp
/// Declarations only (what <act/host.hpp> brings with act::act_compiled); programs include <act/sites/map_set.hpp>.
/// A named set of maps (site name -> affine or non-parametric map) that host code asks at each hook point, with a
/// global strength and per-site overrides. Sites without a map are left alone.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <act/core/error.hpp>
#include <act/core/executor.hpp>
#include <act/hooks/activations.hpp>
#include <act/hooks/affine_hook_decl.hpp>
#include <act/hooks/quantile_hook_decl.hpp>
#include <act/maps/fit_result.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Where a site's map came from; saved with it in map files.
struct map_info {
  std::string method;  ///< estimator name: "linear", "mean", ...
  Eigen::Index source_samples = 0;
  Eigen::Index target_samples = 0;
  std::string pooling = "mean";         ///< how tokens were pooled into samples
  std::string support;                  ///< the support option fitted with ("q0_100", "all", ...), if known
  Eigen::Index low_spread_neurons = 0;  ///< neurons the fit flagged low_spread (fit_diagnostics), if known
  /// Which neurons those are (fit_diagnostics::low_spread, d flags), if known; empty otherwise.
  Eigen::Array<bool, Eigen::Dynamic, 1> low_spread{};
};

/// Site name -> map, applied at a strength lambda (global, or overridden per site). Maps are stored
/// and applied in `Scalar` (act::map_set: float, for float, half and bfloat16 buffers).
///
///     act::map_set maps;
///     maps.insert("blk.3.post_attn_norm", fit.map, {"linear", n_a, n_b});
///     maps.set_strength(0.8);                            // every site
///     maps.set_strength("blk.3.post_attn_norm", 1.0);    // this one only
///     // inside the forward pass, at every hook point:
///     maps(site_name, act::view(buf, tokens, d));        // no map at this site: nothing happens
///
/// Applying is const and thread-safe; changing maps or strengths is not (do it between passes).
///
/// Site names are non-empty, valid UTF-8 without control characters, and so are the method, pooling and
/// support of a map_info (act::check_name): insert refuses others, so every set can be saved to a map file
/// and read back. A strength at which a site's map would turn finite activations into Inf or NaN (its fused
/// coefficients overflow) is refused by set_strength with the site's name; the set is then unchanged.
template <class Scalar>
class basic_map_set {
 public:
  using scalar_type = Scalar;
  using map_type = any_map<Scalar>;
  using hook_type = std::variant<affine_hook<Scalar>, quantile_hook<Scalar>>;

  /// One site's map, provenance, optional strength override and the hook fused at its strength.
  struct entry {
    map_type map;
    map_info info;
    std::optional<double> strength;
    hook_type hook;
  };

  /// Adds or replaces the map of `site` (cast to Scalar, validated; names checked as above).
  template <class MapScalar>
  void insert(std::string site, const affine_map<MapScalar>& map, map_info info = {});
  /// Adds or replaces the non-parametric map of `site` (cast to Scalar, validated).
  template <class MapScalar>
  void insert(std::string site, const quantile_map<MapScalar>& map, map_info info = {});
  /// Adds or replaces the map of `site`, whichever kind it holds.
  template <class MapScalar>
  void insert(std::string site, const any_map<MapScalar>& map, map_info info = {});

  bool contains(std::string_view site) const { return entries_.find(site) != entries_.end(); }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void erase(std::string_view site);

  /// Site names in lexicographic order.
  std::vector<std::string> sites() const;

  /// The entry of `site`, or nullptr. Hosts may keep the pointer to skip the name lookup per call
  /// (valid until the set is changed).
  const entry* find(std::string_view site) const;
  /// The entry of `site`; throws act::invalid_argument naming it when absent.
  const entry& at(std::string_view site) const;

  /// The global strength (default 1), used by every site without an override.
  double strength() const { return global_strength_; }
  void set_strength(double lambda);
  /// The strength in force at `site`.
  double strength(std::string_view site) const;
  /// Overrides the strength of one site.
  void set_strength(std::string_view site, double lambda);
  /// Drops a site's override: it follows the global strength again.
  void reset_strength(std::string_view site);

  /// The hook point: applies the map of `site` to `x` in place. Returns false (and touches nothing)
  /// when the set has no map for `site`.
  template <class T>
  bool operator()(std::string_view site, activations<T> x) const;
  /// The same, rows split over the host's executor where the buffer is large enough (see row_modes).
  template <class T>
  bool operator()(std::string_view site, activations<T> x, executor& ex) const;
  /// Like operator() but only on the last row of each packed sequence (see row_modes::last_rows).
  template <class T>
  bool last_rows(std::string_view site, activations<T> x, const std::vector<Eigen::Index>& lengths) const;
  /// Like operator() but only on rows whose mask entry is non-zero.
  template <class T>
  bool masked(std::string_view site, activations<T> x, const std::vector<std::uint8_t>& mask) const;
  /// One strength per row, ignoring the set's strengths (a serving batch with mixed requests).
  template <class T>
  bool per_row(std::string_view site, activations<T> x, const std::vector<float>& lambdas) const;

  /// Notes kept with the set, key -> value, saved in map files next to act's own `act.*` keys (which
  /// they may not use), e.g. "controlvector.model_hint" of an imported llama.cpp control vector.
  std::map<std::string, std::string, std::less<>>& metadata() { return metadata_; }
  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }

  /// Calls `f(hook)` with the hook of `site` (an affine_hook<Scalar> or a quantile_hook<Scalar>, fused
  /// at the site's strength); returns false, calling nothing, when the set has no map for `site`.
  template <class F>
  bool visit_hook(std::string_view site, F&& f) const {
    const entry* e = find(site);
    if (e == nullptr) return false;
    std::visit(f, e->hook);
    return true;
  }

 private:
  void emplace(std::string site, map_type map, map_info info);
  entry& mutable_at(std::string_view site);
  /// The hook of `map` at strength `lambda`; a strength the map cannot take names `site`.
  static hook_type make_hook(std::string_view site, const map_type& map, double lambda);

  double global_strength_ = 1.0;
  std::map<std::string, entry, std::less<>> entries_;
  std::map<std::string, std::string, std::less<>> metadata_;
};

/// The map set hosts use: float maps, applied to float, half and bfloat16 buffers.
using map_set = basic_map_set<float>;

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_MAP_SET)
