#pragma once
/// \file map_file_decl.hpp
/// Declarations only (what <act/host.hpp> brings with act::act_compiled); programs include <act/io/map_file.hpp>.
/// Saves and loads a map set as a safetensors file with act's fixed layout.
///
/// Tensors, for every site `<site>` (any name, dots allowed; the field is after the last dot):
///   `<site>.omega`, `<site>.beta`            F32 [d]
///   `<site>.lower`, `<site>.upper`           F32 [d], only when the support is bounded
///   `<site>.knots_source`, `<site>.knots_target`  F32 [K, d], non-parametric maps only; their
///                                            omega/beta are then the least-squares line through the
///                                            knots, a summary for readers that only know affine maps
///   `<site>.low_spread`                      F32 [d] of 0 and 1, optional: 1 marks a neuron fitted below the
///                                            spread floor (written when the fit flagged any; its number of
///                                            ones equals `act.low_spread.<site>`)
/// `__metadata__`: `act.format_version` = "1", and per site `act.method.<site>`, `act.samples.<site>`
/// ("n_a,n_b"), `act.pooling.<site>`, `act.support.<site>`, `act.bounds.<site>` ("open" or "closed", for
/// bounded supports; a file without it was written when supports were closed and loads as "closed"),
/// `act.low_spread.<site>` (neurons fitted below the spread floor, when any); plus `act.library_version`. Every other
/// key is the map set's own metadata (basic_map_set::metadata(), e.g. `controlvector.model_hint`), kept as is. Site
/// names and the metadata values of a site are valid UTF-8 without control characters (act::check_name; a map_set
/// refuses other names when they are inserted). Loading validates everything, these names included, and names the
/// offending tensor or key; a site whose method is in the method table must hold that method's kind of map.
///
/// save_maps replaces a file; update_map_file adds or replaces sites in it; both under the file's lock, so
/// that processes fitting different sites into one file at the same time never lose each other's sites.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <act/sites/map_set_decl.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

struct safetensors_file;

/// The layout version written to and required in `act.format_version`.
inline constexpr std::string_view map_format_version = "1";

/// How long save_maps and update_map_file wait by default for other processes writing the same file: 60 s.
inline constexpr std::chrono::milliseconds map_file_lock_timeout{60'000};

/// The safetensors content of a map set (what save_maps writes).
template <class Scalar>
safetensors_file maps_to_safetensors(const basic_map_set<Scalar>& maps);

/// Builds a map set from safetensors content in act's layout; `origin` names the source in errors.
template <class Scalar = float>
basic_map_set<Scalar> maps_from_safetensors(const safetensors_file& file, std::string_view origin);

/// Reads and validates an act map file.
template <class Scalar = float>
basic_map_set<Scalar> load_maps(const std::string& path);

/// Validates an act map file as load_maps does (same errors, same messages) without keeping its maps: what
/// a program checks of an existing output before long work (act-cli fit --out), in a fraction of the memory.
template <class Scalar = float>
void check_map_file(const std::string& path);

/// Replaces the map file at `path` by `maps`, atomically (temporary file in the same folder, then rename)
/// and under the file's lock, so that it waits for update_map_file calls on the same file in other
/// processes and threads instead of racing them (a replace drops the sites the file held; use
/// update_map_file to add sites). A symbolic link is followed: the file it points to is replaced, and its
/// lock taken. Throws io_error naming the file when the lock is not free within `timeout`, when the path
/// exists and is not a regular file, or when writing fails (nothing is changed then). Not from inside an
/// update_map_file edit of the same file: it would wait for the lock that edit holds.
template <class Scalar>
void save_maps(const std::string& path, const basic_map_set<Scalar>& maps,
               std::chrono::milliseconds timeout = map_file_lock_timeout);

/// Adds the sites of `sites` to the map file at `path`, replacing sites of the same name and keeping the
/// others, under the file's lock (update_map_file with an edit, in map_file.hpp; a missing file is created). The
/// set's own metadata (e.g. `controlvector.model_hint`) is written over the file's keys of the same name. Strength
/// overrides are not part of a file and are not copied.
///
///     act::map_set fitted;
///     fitted.insert("blk.12.post_attn_norm", fit.map, {"linear", fit.source_samples, fit.target_samples});
///     act::update_map_file("detox.safetensors", fitted);   // one job per layer can do this in parallel
template <class Scalar>
basic_map_set<Scalar> update_map_file(const std::string& path, const basic_map_set<Scalar>& sites,
                                      std::chrono::milliseconds timeout = map_file_lock_timeout);

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_MAP_FILE)
