// act.MapSet (map files, strengths, the hook point), GGUF control vectors, causal fitting with a Python
// collect function, and pooling tokens into samples.

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <mutex>
#include <string>

#include <act/estimators.hpp>
#include <act/io.hpp>
#include <act/sites.hpp>

#include "binding.hpp"

namespace act_python {

using namespace pybind11::literals;

bool apply_planned(const py_map_set& self, std::string_view site, const array_ref& x, const apply_plan& plan) {
  py::gil_scoped_release no_gil;
  const std::shared_lock lock(self.mutex);
  return self.maps.visit_hook(site, [&](const auto& hook) { run_apply(hook, x, plan); });
}

namespace {

using map_set_ptr = std::shared_ptr<py_map_set>;

std::string path_string(const std::filesystem::path& p) { return p.string(); }

map_set_ptr load(const std::filesystem::path& path) {
  auto out = std::make_shared<py_map_set>();
  py::gil_scoped_release no_gil;
  out->maps = act::load_maps(path_string(path));
  return out;
}

void save(const py_map_set& self, const std::filesystem::path& path) {
  py::gil_scoped_release no_gil;
  const std::shared_lock lock(self.mutex);
  act::save_maps(path_string(path), self.maps);
}

/// Adds the set's sites (all, or those named) to the map file under its lock; returns the file as written.
map_set_ptr update_file(const py_map_set& self, const std::filesystem::path& path,
                        const std::optional<std::vector<std::string>>& sites) {
  act::map_set chosen;
  {
    const std::shared_lock lock(self.mutex);
    if (!sites) {
      chosen = self.maps;
    } else {
      for (const std::string& site : *sites) {
        const auto& e = self.maps.at(site);
        chosen.insert(site, e.map, e.info);
      }
      chosen.metadata() = self.maps.metadata();
    }
  }
  auto out = std::make_shared<py_map_set>();
  py::gil_scoped_release no_gil;
  out->maps = act::update_map_file(path_string(path), chosen);
  return out;
}

void insert(py_map_set& self, const std::string& site, py::handle fit_or_map, const std::optional<std::string>& method,
            const std::optional<std::string>& pooling, const std::optional<std::string>& support,
            const std::optional<Eigen::Index> source_samples, const std::optional<Eigen::Index> target_samples) {
  act::map_info info;
  act::any_map<float> map;
  if (py::isinstance<py_fit>(fit_or_map)) {
    const auto& f = fit_or_map.cast<const py_fit&>();
    map = float_map_of(f.map, "MapSet.insert");
    info = {f.method, f.source_samples, f.target_samples, "mean", f.support, f.low_spread_neurons};
  } else {
    map = float_map_of(fit_or_map, "MapSet.insert");
  }
  if (method) info.method = *method;
  if (pooling) info.pooling = std::string(act::to_string(act::parse_pooling(*pooling)));
  if (support) info.support = *support;
  if (source_samples) info.source_samples = *source_samples;
  if (target_samples) info.target_samples = *target_samples;
  if (info.source_samples < 0 || info.target_samples < 0)
    act::raise<act::invalid_argument>("MapSet.insert: sample counts must be >= 0, got {} and {}", info.source_samples,
                                      info.target_samples);
  const std::unique_lock lock(self.mutex);
  self.maps.insert(site, map, std::move(info));
  ++self.map_version;
}

bool apply(const py_map_set& self, const std::string& site, py::handle x_object, py::handle mask, py::handle lengths,
           py::handle strength, int threads) {
  if (!self.maps.contains(site)) return false;  // like the C++ hook point: nothing read, nothing touched
  const array_ref x(x_object, "x", true);
  return apply_planned(self, site, x, plan_apply(x, strength, mask, lengths, threads, false));
}

py::dict info(const py_map_set& self, const std::string& site) {
  const auto& e = self.maps.at(site);
  py::dict out;
  out["method"] = e.info.method;
  out["source_samples"] = e.info.source_samples;
  out["target_samples"] = e.info.target_samples;
  out["pooling"] = e.info.pooling;
  out["support"] = e.info.support;
  out["strength"] = self.maps.strength(site);
  if (const auto* q = std::get_if<act::quantile_map<float>>(&e.map)) {
    out["kind"] = "quantile";
    out["dim"] = q->dim();
    out["knots"] = q->knots();
    out["bounded"] = false;
  } else {
    const auto& a = std::get<act::affine_map<float>>(e.map);
    out["kind"] = "affine";
    out["dim"] = a.dim();
    out["bounded"] = a.bounded();
  }
  return out;
}

py::object map_at(const py_map_set& self, const std::string& site) {
  const auto* e = self.maps.find(site);
  if (e == nullptr) throw py::key_error(site);
  return to_python(e->map);
}

/// An estimator chosen by name that fits without the GIL (for act::fit_causal / fit_simultaneous).
struct released_estimator {
  act::method_estimator inner;
  std::string_view name;

  explicit released_estimator(act::method_estimator e) : inner(e), name(e.name) {}

  template <class DA, class DB>
  auto fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
    py::gil_scoped_release no_gil;
    return inner.fit(source, target);
  }

  /// What the map set records as the support (act::fit_causal asks).
  std::string support_label() const { return inner.support_label(); }
};

/// A pooled 2-D array returned by a collect function, as float samples.
Eigen::MatrixXf samples_of(py::handle object, const std::string& name) {
  const array_ref a(object, name, false);
  a.require_ndim(2, 2, "a 2-D array [samples x neurons]");
  Eigen::MatrixXf out(a.shape()[0], a.shape()[1]);
  const Eigen::Index s0 = a.strides()[0], s1 = a.strides()[1];
  for (Eigen::Index i = 0; i < out.rows(); ++i)
    for (Eigen::Index j = 0; j < out.cols(); ++j) {
      const Eigen::Index k = i * s0 + j * s1;
      switch (a.type()) {
        case dtype::f32:
          out(i, j) = static_cast<const float*>(a.data())[k];
          break;
        case dtype::f64:
          out(i, j) = static_cast<float>(static_cast<const double*>(a.data())[k]);
          break;
        case dtype::f16:
          out(i, j) = static_cast<float>(static_cast<const Eigen::half*>(a.data())[k]);
          break;
        case dtype::bf16:
          out(i, j) = static_cast<float>(static_cast<const Eigen::bfloat16*>(a.data())[k]);
          break;
      }
    }
  return out;
}

map_set_ptr fit_sites(bool causal, const std::vector<std::string>& sites, const std::string& method,
                      py::function collect, const std::string& pooling, double strength,
                      const std::optional<std::string>& support, const std::optional<std::string>& support_bounds,
                      double min_std, int knots, int threads) {
  act::fit_settings settings;
  if (support) settings.support = act::support::parse(*support);
  if (support_bounds) settings.bounds = act::parse_bounds(*support_bounds, "fit_causal: support_bounds");
  if (!(min_std >= 0.0 && std::isfinite(min_std)))
    act::raise<act::invalid_argument>("fit_causal: min_std must be finite and >= 0, got {}", min_std);
  settings.min_std = min_std;
  settings.knots = knots;
  if (threads < 0)
    act::raise<act::invalid_argument>("fit_causal: threads must be >= 0 (0 = all cores), got {}", threads);
  settings.threads = threads;
  const released_estimator estimator(act::method_estimator(method, settings));
  act::causal_options options;
  options.pooling = act::parse_pooling(pooling);
  options.strength = strength;
  const auto call = [&](const std::string& site, const act::map_set& installed, act::pooling how) {
    auto snapshot = std::make_shared<py_map_set>();
    snapshot->maps = installed;
    py::object result = collect(site, snapshot, std::string(act::to_string(how)));
    py::tuple pair;
    try {
      pair = py::tuple(result);
    } catch (py::error_already_set&) {
      act::raise<act::invalid_argument>("collect('{}', ...) must return (source, target) arrays, got {}", site,
                                        describe(result));
    }
    if (pair.size() != 2)
      act::raise<act::invalid_argument>("collect('{}', ...) must return (source, target) arrays, got {} items", site,
                                        pair.size());
    return act::site_samples{samples_of(pair[0], "collect('" + site + "') source"),
                             samples_of(pair[1], "collect('" + site + "') target")};
  };
  auto out = std::make_shared<py_map_set>();
  out->maps = causal ? act::fit_causal(sites, estimator, call, options)
                     : act::fit_simultaneous(sites, estimator, call, options);
  return out;
}

template <class T>
py::array pooled(const array_ref& x, const apply_plan& g, Eigen::Index seq_len, const std::vector<std::uint8_t>& valid,
                 const std::vector<Eigen::Index>& lengths, act::pooling how) {
  using strided = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned,
                             Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  const strided rows(static_cast<const T*>(x.data()), g.rows, g.cols,
                     Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(g.row_stride, g.col_stride));
  using out_scalar = act::pooled_scalar_t<T>;
  Eigen::Matrix<out_scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> result;
  {
    py::gil_scoped_release no_gil;
    if (!lengths.empty())
      result = act::pool_packed(rows, lengths, how);
    else
      result = act::pool_padded(rows, seq_len, valid, how);
  }
  py::array_t<out_scalar> out({result.rows(), result.cols()});
  std::copy(result.data(), result.data() + result.size(), out.mutable_data());
  return out;
}

py::array pool(py::handle x_object, const std::string& pooling, py::handle mask, py::handle lengths) {
  const act::pooling how = act::parse_pooling(pooling);
  const array_ref x(x_object, "x", false);
  x.require_ndim(2, 3, "a 3-D [batch x tokens x d] or 2-D [tokens x d] array");
  if (!mask.is_none() && !lengths.is_none()) act::raise<act::invalid_argument>("pool: give mask or lengths, not both");
  const apply_plan g = plan_apply(x, py::none(), py::none(), py::none(), 1, true);  // the rows' geometry only
  const Eigen::Index seq_len = x.ndim() == 3 ? x.shape()[1] : x.shape()[0];
  std::vector<std::uint8_t> valid;
  std::vector<Eigen::Index> packed;
  py::object numpy = py::module_::import("numpy");
  if (!mask.is_none()) {
    const auto m = py::array_t<bool, py::array::c_style | py::array::forcecast>::ensure(
        numpy.attr("not_equal")(numpy.attr("asarray")(mask), 0).attr("ravel")());
    valid.assign(m.data(), m.data() + m.size());
  }
  if (!lengths.is_none()) {
    const auto l = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(
        numpy.attr("asarray")(lengths).attr("ravel")());
    if (x.ndim() == 3) {
      // Padded batch: token t of sequence b is valid when t < lengths[b].
      if (l.size() != x.shape()[0])
        act::raise<act::shape_error>("pool: {} lengths for a batch of {} sequences", l.size(), x.shape()[0]);
      valid.assign(static_cast<std::size_t>(g.rows), 0);
      for (Eigen::Index b = 0; b < x.shape()[0]; ++b) {
        if (l.data()[b] < 1 || l.data()[b] > seq_len)
          act::raise<act::invalid_argument>("pool: lengths[{}] = {}; need 1 to {}", b, l.data()[b], seq_len);
        std::fill_n(valid.begin() + b * seq_len, l.data()[b], std::uint8_t{1});
      }
    } else {
      packed.assign(l.data(), l.data() + l.size());  // packed sequences
    }
  }
  switch (x.type()) {
    case dtype::f32:
      return pooled<float>(x, g, seq_len, valid, packed, how);
    case dtype::f64:
      return pooled<double>(x, g, seq_len, valid, packed, how);
    case dtype::f16:
      return pooled<Eigen::half>(x, g, seq_len, valid, packed, how);
    case dtype::bf16:
      return pooled<Eigen::bfloat16>(x, g, seq_len, valid, packed, how);
  }
  return {};
}

bool same_set(const py_map_set& a, const py_map_set& b) {
  if (&a == &b) return true;
  const std::shared_lock lock_a(a.mutex), lock_b(b.mutex);
  if (a.maps.strength() != b.maps.strength() || a.maps.metadata() != b.maps.metadata() ||
      a.maps.sites() != b.maps.sites())
    return false;
  for (const auto& site : a.maps.sites()) {
    const auto& x = a.maps.at(site);
    const auto& y = b.maps.at(site);
    const auto& i = x.info;
    const auto& j = y.info;
    if (x.strength != y.strength || i.method != j.method || i.source_samples != j.source_samples ||
        i.target_samples != j.target_samples || i.pooling != j.pooling || i.support != j.support ||
        i.low_spread_neurons != j.low_spread_neurons || !same_map(x.map, y.map))
      return false;
  }
  return true;
}

/// (global strength, metadata, [(site, map, method, source samples, target samples, pooling, support, low-spread
/// neurons, strength override or None)]).
py::tuple set_state(const py_map_set& self) {
  const std::shared_lock lock(self.mutex);
  py::list entries;
  for (const auto& site : self.maps.sites()) {
    const auto& e = self.maps.at(site);
    entries.append(py::make_tuple(site, to_python(e.map), e.info.method, e.info.source_samples, e.info.target_samples,
                                  e.info.pooling, e.info.support, e.info.low_spread_neurons,
                                  e.strength ? py::object(py::float_(*e.strength)) : py::object(py::none())));
  }
  return py::make_tuple(self.maps.strength(),
                        std::map<std::string, std::string>(self.maps.metadata().begin(), self.maps.metadata().end()),
                        entries);
}

map_set_ptr from_state(const py::tuple& state) {
  if (state.size() != 3) act::raise<act::invalid_argument>("MapSet: bad pickle state ({} items)", state.size());
  auto out = std::make_shared<py_map_set>();
  for (const py::handle item : state[2].cast<py::list>()) {
    const auto e = item.cast<py::tuple>();
    if (e.size() != 9) act::raise<act::invalid_argument>("MapSet: bad pickle entry ({} items)", e.size());
    const auto site = e[0].cast<std::string>();
    act::map_info info{e[2].cast<std::string>(), e[3].cast<Eigen::Index>(), e[4].cast<Eigen::Index>(),
                       e[5].cast<std::string>(), e[6].cast<std::string>(),  e[7].cast<Eigen::Index>()};
    out->maps.insert(site, float_map_of(e[1], "MapSet pickle"), std::move(info));
    if (!e[8].is_none()) out->maps.set_strength(site, e[8].cast<double>());
  }
  out->maps.set_strength(state[0].cast<double>());
  const auto metadata = state[1].cast<std::map<std::string, std::string>>();
  out->maps.metadata().insert(metadata.begin(), metadata.end());
  return out;
}

}  // namespace

void bind_map_set(py::module_& m) {
  py::class_<py_map_set, map_set_ptr> c(m, "MapSet",
                                        R"(Site name -> map, applied at a global strength (default 1) with per-site
overrides: act::map_set. Maps are stored in float32. Load and save act's safetensors map files
(atomic writes); apply(site, x) is the hook point.)");
  c.def(py::init<>())
      .def_static("load", &load, py::arg("path"), "Reads and validates an act map file (safetensors).")
      .def("save", &save, py::arg("path"),
           "Writes the set as an act map file, replacing the file: atomically (a temporary file, then rename) and "
           "under\n"
           "the file's lock, as every act writer (act-cli, act-mpi, act-llama, update_file) takes it. A symbolic link\n"
           "is followed; a path that is a device, FIFO or folder is refused.")
      .def("update_file", &update_file, py::arg("path"), py::arg("sites") = py::none(),
           R"(Adds this set's sites (all of them, or the names in `sites`) to the map file at `path`, replacing
sites of the same name and keeping the file's others; the set's metadata is written over the file's keys of
the same name. The file is read, changed and replaced under its lock (act::update_map_file), so writers in
other processes and threads (act-cli fit, act-mpi, act-llama, other update_file calls) never lose each
other's sites. A missing file is created. Returns the file's content as written.

    maps.update_file("detox.safetensors")   # one process per layer can do this at once)")
      .def("insert", &insert, py::arg("site"), py::arg("map"), py::kw_only(), py::arg("method") = py::none(),
           py::arg("pooling") = py::none(), py::arg("support") = py::none(), py::arg("source_samples") = py::none(),
           py::arg("target_samples") = py::none(),
           R"(Adds or replaces the map of `site`: an act.Fit (its map and provenance: method, sample counts,
support label; pooling 'mean') or an act.AffineMap / act.QuantileMap (cast to float32). Keyword arguments
override the recorded provenance.)")
      .def(
          "sites", [](const py_map_set& self) { return self.maps.sites(); }, "Site names in lexicographic order.")
      .def(
          "set_strength",
          [](py_map_set& self, double lambda) {
            const std::unique_lock lock(self.mutex);
            self.maps.set_strength(lambda);
          },
          py::arg("strength"), "Sets the global strength (sites without an override follow it).")
      .def(
          "set_strength",
          [](py_map_set& self, const std::string& site, double lambda) {
            const std::unique_lock lock(self.mutex);
            self.maps.set_strength(site, lambda);
          },
          py::arg("site"), py::arg("strength"), "Overrides the strength of one site.")
      .def(
          "reset_strength",
          [](py_map_set& self, const std::string& site) {
            const std::unique_lock lock(self.mutex);
            self.maps.reset_strength(site);
          },
          py::arg("site"), "Drops a site's override: it follows the global strength again.")
      .def(
          "strength",
          [](const py_map_set& self, const std::optional<std::string>& site) {
            return site ? self.maps.strength(*site) : self.maps.strength();
          },
          py::arg("site") = py::none(), "The global strength, or the strength in force at `site`.")
      .def("apply", &apply, py::arg("site"), py::arg("x"), py::kw_only(), py::arg("mask") = py::none(),
           py::arg("lengths") = py::none(), py::arg("strength") = py::none(), py::arg("threads") = 1,
           R"(The hook point: applies the map of `site` to x in place at the site's strength and returns True;
returns False, touching nothing, when the set has no map for `site`. x, mask, lengths and threads as in
AffineMap.apply; strength here is only the per-row form (one value per row or per sequence), which
ignores the set's strengths.)")
      .def("info", &info, py::arg("site"),
           "Provenance and shape of a site's map: method, source_samples, target_samples, pooling, support, strength, "
           "kind ('affine' or 'quantile'), dim, bounded, knots (quantile maps).")
      .def(
          "remove",
          [](py_map_set& self, const std::string& site) {
            const std::unique_lock lock(self.mutex);
            self.maps.erase(site);
            ++self.map_version;
          },
          py::arg("site"), "Removes a site's map (nothing happens for an unknown site).")
      .def(
          "copy",
          [](const py_map_set& self) {
            auto out = std::make_shared<py_map_set>();
            out->maps = self.maps;
            return out;
          },
          "An independent copy (maps and strengths).")
      .def_property(
          "metadata",
          [](const py_map_set& self) {
            const std::shared_lock lock(self.mutex);
            return std::map<std::string, std::string>(self.maps.metadata().begin(), self.maps.metadata().end());
          },
          [](py_map_set& self, const std::map<std::string, std::string>& metadata) {
            for (const auto& [key, value] : metadata) {
              if (key.empty() || key.rfind("act.", 0) == 0)
                act::raise<act::invalid_argument>(
                    "MapSet.metadata: key '{}' is not allowed: keys starting with 'act.' are act's own",
                    act::printable(key));
              for (const std::string* text : {&key, &value})
                if (const std::string problem = act::name_problem(*text); !problem.empty())
                  act::raise<act::invalid_argument>("MapSet.metadata: '{}' {}", act::printable(*text), problem);
            }
            const std::unique_lock lock(self.mutex);
            self.maps.metadata().clear();
            self.maps.metadata().insert(metadata.begin(), metadata.end());
          },
          "The set's own notes (a copy, as a dict; assign a dict to replace them), saved in map files next to act's "
          "act.* keys, e.g. 'controlvector.model_hint' of an imported control vector.")
      .def_property_readonly(
          "_map_version", [](const py_map_set& self) { return self.map_version; },
          "Counts insert and remove calls (act.torch caches coefficients per version).")
      .def("__getitem__", &map_at, py::arg("site"),
           "The map of `site` (a float32 AffineMap or QuantileMap copy); KeyError if absent.")
      .def(
          "__contains__", [](const py_map_set& self, const std::string& site) { return self.maps.contains(site); },
          py::arg("site"))
      .def("__len__", [](const py_map_set& self) { return self.maps.size(); })
      .def("__iter__", [](const py_map_set& self) { return py::iter(py::cast(self.maps.sites())); })
      .def("__eq__", &same_set, py::is_operator(), py::arg("other"),
           "Same sites, maps (bit for bit), provenance, strengths (global and per site) and metadata.")
      .def(py::pickle(&set_state, &from_state))
      .def("__repr__", [](const py_map_set& self) {
        std::string s = "<act.MapSet " + std::to_string(self.maps.size()) + " site(s)";
        for (const auto& site : self.maps.sites()) s += " '" + site + "'";
        return s + " strength=" + std::string(py::str(py::float_(self.maps.strength()))) + ">";
      });

  m.def(
      "export_gguf",
      [](py::handle maps, const std::filesystem::path& path, const std::string& model_hint, double strength,
         bool normalize, std::optional<int> layer, std::optional<std::filesystem::path> model) {
        map_set_ptr set;
        std::string origin = "MapSet";
        if (py::isinstance<py_map_set>(maps)) {
          set = maps.cast<map_set_ptr>();
        } else {
          std::filesystem::path map_path;
          try {
            map_path = maps.cast<std::filesystem::path>();
          } catch (const py::cast_error&) {
            act::raise<act::invalid_argument>(
                "export_gguf: maps must be an act.MapSet or the path of a map file, got {}", describe(maps));
          }
          if (act::same_file(path_string(path), path_string(map_path)))
            act::raise<act::invalid_argument>("export_gguf: {} is the map file itself; writing it would replace it",
                                              path_string(path));
          set = load(map_path);
          origin = path_string(map_path);
        }
        act::control_vector_options options;
        options.strength = strength;
        options.normalize = normalize;
        options.layer = layer;
        options.model_hint = model_hint;
        if (const std::string problem = act::name_problem(model_hint); !problem.empty())
          act::raise<act::invalid_argument>("export_gguf: model_hint '{}' {}", act::printable(model_hint), problem);
        py::gil_scoped_release no_gil;
        if (model) options.model = act::read_gguf_model_info(path_string(*model));
        const std::shared_lock lock(set->mutex);
        act::write_control_vector(path_string(path), act::to_control_vector(set->maps, options, origin));
      },
      py::arg("maps"), py::arg("path"), py::kw_only(), py::arg("model_hint") = "", py::arg("strength") = 1.0,
      py::arg("normalize") = false, py::arg("layer") = py::none(), py::arg("model") = py::none(),
      R"(Writes additive maps (omega = 1, unbounded: mean/caa/actadd/pca/itic fitted with support 'all') as a
llama.cpp control vector (GGUF), like `act-cli export-gguf`: site 'l_out-N' or 'blk.N' (the output of block N)
becomes tensor direction.N = strength * beta, N >= 1. normalize: unit-length directions (as llama.cpp's
cvector-generator writes them); layer: export the set's only site as direction.<layer>; model: a GGUF model
(a whole file) whose architecture the hint must name and whose width and layer count the directions are
checked against; model_hint: empty takes the set's
'controlvector.model_hint', else the model's architecture, else 'unknown'. maps: an act.MapSet or the
path of a map file. Atomic write.)");
  m.def(
      "import_gguf",
      [](const std::filesystem::path& path) {
        auto out = std::make_shared<py_map_set>();
        py::gil_scoped_release no_gil;
        out->maps = act::maps_from_control_vector(act::read_control_vector(path_string(path)), path_string(path));
        return out;
      },
      py::arg("path"),
      "Reads a llama.cpp / repeng control vector (GGUF) as additive maps at sites 'l_out-N' (where llama.cpp adds\n"
      "direction.N), like `act-cli import-gguf`; its model hint lands in the set's metadata.");

  const char* causal_doc =
      R"(Fits `sites` in order with a registered method (act::fit_causal): site k is fitted on samples that
`collect(site, installed, pooling)` returns as (source, target) 2-D arrays, where `installed` is an
act.MapSet holding the maps of the sites before k (at `strength`); collect must run the source inputs
with those maps applied and return the pooled activations at `site`. support, support_bounds, min_std,
knots and threads as in act.fit; the set records what act.fit records (support label, low-spread neuron
count). Returns the act.MapSet of all sites.
act.torch.fit_causal does this for a torch model.)";
  m.def(
      "fit_causal",
      [](const std::vector<std::string>& sites, const std::string& method, py::function collect,
         const std::string& pooling, double strength, const std::optional<std::string>& support,
         const std::optional<std::string>& support_bounds, double min_std, int knots, int threads) {
        return fit_sites(true, sites, method, std::move(collect), pooling, strength, support, support_bounds, min_std,
                         knots, threads);
      },
      py::arg("sites"), py::arg("method"), py::arg("collect"), py::kw_only(), py::arg("pooling") = "mean",
      py::arg("strength") = 1.0, py::arg("support") = py::none(), py::arg("support_bounds") = py::none(),
      py::arg("min_std") = 1e-4, py::arg("knots") = 128, py::arg("threads") = 1, causal_doc);
  m.def(
      "fit_simultaneous",
      [](const std::vector<std::string>& sites, const std::string& method, py::function collect,
         const std::string& pooling, double strength, const std::optional<std::string>& support,
         const std::optional<std::string>& support_bounds, double min_std, int knots, int threads) {
        return fit_sites(false, sites, method, std::move(collect), pooling, strength, support, support_bounds, min_std,
                         knots, threads);
      },
      py::arg("sites"), py::arg("method"), py::arg("collect"), py::kw_only(), py::arg("pooling") = "mean",
      py::arg("strength") = 1.0, py::arg("support") = py::none(), py::arg("support_bounds") = py::none(),
      py::arg("min_std") = 1e-4, py::arg("knots") = 128, py::arg("threads") = 1,
      "Like fit_causal, but every site from unsteered activations (collect always gets an empty MapSet).");

  m.def("pool", &pool, py::arg("x"), py::arg("pooling") = "mean", py::kw_only(), py::arg("mask") = py::none(),
        py::arg("lengths") = py::none(),
        R"(Pools token activations into one sample per sequence over its valid tokens only (act::pool_padded /
pool_packed): pooling 'mean', 'last', 'max' or 'min', accumulated in double.
x: [batch x tokens x d] (padded; mask [batch x tokens] of valid flags, e.g. an attention mask, or lengths
[batch] of valid tokens) or [tokens x d] (one sequence, or packed sequences with lengths adding up to the
rows). Returns [sequences x d]: float64 for float64 input, float32 otherwise (float16 and bfloat16 means
are rounded once, from double to float32, never to the input's type). Read in place.)");
}

}  // namespace act_python
