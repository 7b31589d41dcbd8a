// act-cli: fit transport maps from .npy activation dumps, apply them, inspect map files, and convert
// additive maps to and from llama.cpp control vectors (GGUF).
//
// Exit status: 0 on success, 2 for usage errors (with the usage text), 1 for everything else (one line
// on stderr naming the file and what is wrong).

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <thread>

#include <act/act.hpp>
#include <fmt/core.h>

#include "arguments.hpp"

namespace {

using act_cli::arguments;
using act_cli::usage_error;

constexpr const char* usage_text = R"(usage:
  act-cli fit --method M --source S.npy --target T.npy --out MAP.safetensors [--site NAME]
              [--support all|q0_100|qLO_HI] [--knots K] [--pooling mean|last|max|min] [--quiet]
  act-cli apply --map MAP --strength L --input X.npy --output Y.npy [--site NAME]
  act-cli info MAP
  act-cli export-gguf --map MAP --out CV.gguf [--model-hint ARCH] [--strength L]
  act-cli import-gguf --gguf CV.gguf --out MAP.safetensors

  .npy arrays: rows are samples (or tokens), columns neurons; float32/float64/float16.
  methods: {}
)";

/// Prints "elapsed" on stderr once a second while a long fit runs, only when stderr is a terminal.
class progress_line {
 public:
  explicit progress_line(std::string what) : what_(std::move(what)) {
    if (!isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this] {
      const auto start = std::chrono::steady_clock::now();
      while (!done_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (s >= 1.0 && !done_.load()) {
          fmt::print(stderr, "\r{} ... {:.0f} s", what_, s);
          std::fflush(stderr);
          shown_ = true;
        }
      }
    });
  }
  ~progress_line() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    if (shown_) fmt::print(stderr, "\r\033[K");
  }

 private:
  std::string what_;
  std::atomic<bool> done_{false};
  std::atomic<bool> shown_{false};
  std::thread thread_;
};

/// The registered methods `keep` selects, as "a/b/c" (for messages and hints).
template <class Keep>
std::string method_names_where(Keep&& keep) {
  std::string out;
  for (const act::method_info& m : act::methods())
    if (keep(m)) out += fmt::format("{}{}", out.empty() ? "" : "/", m.name);
  return out;
}

/// A .npy array's values (row-major doubles) as a [rows x cols] matrix; a 1-D array is one row.
Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> matrix_of(const act::npy_array& a,
                                                                                                 const std::string& path) {
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max());
  if (a.rows() > most || a.cols() > most) act::raise<act::format_error>("{}: header field 'shape' is too large for a matrix", path);
  return {a.values.data(), static_cast<Eigen::Index>(a.rows()), static_cast<Eigen::Index>(a.cols())};
}

/// The samples of a 2-D .npy file as a float matrix. (act::load_npy_matrix would take a 1-D array as
/// one sample; samples must be 2-D.)
Eigen::MatrixXf load_samples(const std::string& path) {
  const auto a = act::read_npy(path);
  if (a.shape.size() != 2)
    act::raise<act::format_error>("{}: expected a 2-D array [samples x neurons], got {} dimension(s)", path,
                                  a.shape.size());
  return matrix_of(a, path).cast<float>();
}

/// Re-raises an estimator's complaint about its input with the input's file name.
template <class F>
auto naming_files(const std::string& source, const std::string& target, F&& f) {
  try {
    return f();
  } catch (const act::non_finite_error& e) {
    throw act::non_finite_error(fmt::format("{} / {}: {}", source, target, e.what()));
  } catch (const act::invalid_argument& e) {
    throw act::invalid_argument(fmt::format("{} / {}: {}", source, target, e.what()));
  }
}

int fit(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"method", "source", "target", "out", "site", "support", "knots", "pooling"}, {"quiet"});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const std::string method = args.required("method");
  const act::method_info* info = act::find_method(method);
  if (info == nullptr) throw usage_error(fmt::format("unknown --method '{}' (one of: {})", method, act::method_names()));
  const std::string source_path = args.required("source"), target_path = args.required("target");
  const std::string out = args.required("out"), site = args.value_or("site", "site");
  act::fit_settings settings;
  settings.threads = 0;  // all cores
  act::support support;  // the registry's default, or --support where the method takes it
  try {
    if (args.has("support")) settings.support = act::support::parse(args.required("support"));
    support = act::support_for(*info, settings);
  } catch (const act::invalid_argument& e) {
    throw usage_error(fmt::format("--support: {}", e.what()));
  }
  if (args.has("knots")) {
    if (info->kind != act::map_kind::quantile)
      throw usage_error(fmt::format("--knots applies to --method {} only",
                                    method_names_where([](const act::method_info& m) { return m.kind == act::map_kind::quantile; })));
    const double k = args.number("knots", 128);
    if (!(k >= 2 && k <= 1e9 && k == static_cast<double>(static_cast<long>(k))))
      throw usage_error(fmt::format("--knots must be an integer >= 2, got '{}'", args.required("knots")));
    settings.knots = static_cast<int>(k);
  }
  const std::string pooling = args.value_or("pooling", "mean");
  try {
    act::parse_pooling(pooling);
  } catch (const act::invalid_argument& e) {
    throw usage_error(e.what());
  }
  if (site.empty()) throw usage_error("--site must not be empty");

  const Eigen::MatrixXf source = load_samples(source_path);
  const Eigen::MatrixXf target = load_samples(target_path);
  // Adding to an existing map file keeps its other sites.
  act::map_set maps = std::filesystem::exists(out) ? act::load_maps(out) : act::map_set{};
  {
    progress_line progress(fmt::format("fitting {} on {} x {} and {} x {}", method, source.rows(), source.cols(),
                                       target.rows(), target.cols()));
    naming_files(source_path, target_path, [&] {
      const auto fit = act::fit(method, source, target, settings);
      maps.insert(site, fit.map, {method, fit.source_samples, fit.target_samples, pooling, act::support_label(*info, settings)});
      return 0;
    });
  }
  act::save_maps(out, maps);
  if (!args.has("quiet"))
    fmt::print("{}: site '{}' fitted with {} on {} source and {} target samples of {} neurons (support {})\n", out, site,
               method, source.rows(), target.rows(), source.cols(), support.to_string());
  return 0;
}

/// The site to use in `maps`: the one named, or the only one.
std::string choose_site(const act::map_set& maps, const arguments& args, const std::string& path) {
  if (args.has("site")) {
    const std::string site = args.required("site");
    if (!maps.contains(site))
      act::raise<act::invalid_argument>("{}: no site '{}' (sites: {})", path, site, fmt::join(maps.sites(), ", "));
    return site;
  }
  if (maps.size() != 1)
    throw usage_error(fmt::format("{} holds {} sites ({}); choose one with --site", path, maps.size(), fmt::join(maps.sites(), ", ")));
  return maps.sites().front();
}

int apply(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"map", "strength", "input", "output", "site"}, {});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const std::string map_path = args.required("map"), input = args.required("input"), output = args.required("output");
  const double lambda = args.number("strength", 0.0);
  if (!args.has("strength")) throw usage_error("missing --strength");
  act::map_set maps = act::load_maps(map_path);
  const std::string site = choose_site(maps, args, map_path);
  maps.set_strength(lambda);

  const auto a = act::read_npy(input);
  // Row-major float32 copy of the input; 1-D inputs are one row (and are written back 1-D).
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x = matrix_of(a, input).cast<float>();
  try {
    maps(site, act::view(x));
  } catch (const act::shape_error& e) {
    act::raise<act::shape_error>("{}: {}", input, e.what());
  }
  if (a.shape.size() == 1)
    act::save_npy_vector(output, Eigen::Map<const Eigen::VectorXf>(x.data(), x.size()));
  else
    act::save_npy(output, x);
  return 0;
}

/// min / mean / max of a coefficient array, for the info table.
std::string summary(const Eigen::ArrayXf& v) {
  return fmt::format("{:9.4g} {:9.4g} {:9.4g}", v.minCoeff(), v.mean(), v.maxCoeff());
}

int info(int argc, char** argv) {
  const arguments args(argc, argv, 2, {}, {});
  if (args.positional().size() != 1) throw usage_error("info takes exactly one map file");
  const std::string path = args.positional()[0];
  const act::map_set maps = act::load_maps(path);
  fmt::print("{}: {} site(s)\n\n", path, maps.size());
  fmt::print("{:<28} {:<9} {:>6} {:<8} {:>15} {:<7} {:>29}   {:>29}\n", "site", "method", "d", "support", "samples n_a,n_b",
             "pooling", "omega min / mean / max", "beta min / mean / max");
  for (const auto& site : maps.sites()) {
    const auto& e = maps.at(site);
    const auto* q = std::get_if<act::quantile_map<float>>(&e.map);
    // Non-parametric maps are summarised by the least-squares line through their knots.
    const act::affine_map<float> m = q ? act::least_squares_line(*q) : std::get<act::affine_map<float>>(e.map);
    const std::string support = q ? fmt::format("{} knots", q->knots())
                                  : e.info.support.empty() ? (m.bounded() ? "bounded" : "all") : e.info.support;
    fmt::print("{:<28} {:<9} {:>6} {:<8} {:>15} {:<7} {:>29}   {:>29}\n", site, e.info.method, m.dim(), support,
               fmt::format("{},{}", e.info.source_samples, e.info.target_samples), e.info.pooling, summary(m.omega),
               summary(m.beta));
  }
  return 0;
}

/// The last integer in a site's name: "blk.12" and "blk.12.attn_out" -> 12; -1 when there is none.
long layer_of(const std::string& site) {
  long value = -1;
  for (std::size_t i = 0; i < site.size();) {
    if (std::isdigit(static_cast<unsigned char>(site[i]))) {
      std::size_t j = i;
      while (j < site.size() && std::isdigit(static_cast<unsigned char>(site[j]))) ++j;
      value = j - i > 9 ? -1 : std::stol(site.substr(i, j - i));
      i = j;
    } else {
      ++i;
    }
  }
  return value;
}

int export_gguf(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"map", "out", "model-hint", "strength"}, {});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const std::string map_path = args.required("map"), out = args.required("out");
  const double lambda = args.number("strength", 1.0);
  if (!std::isfinite(lambda)) throw usage_error("--strength must be finite");
  const act::map_set maps = act::load_maps(map_path);
  act::control_vector cv;
  cv.model_hint = args.value_or("model-hint", "unknown");
  for (const auto& site : maps.sites()) {
    const auto* m = std::get_if<act::affine_map<float>>(&maps.at(site).map);
    // A control vector can only add a constant: the map must be a pure shift everywhere.
    if (m == nullptr || m->bounded() || !(m->omega == 1.0f).all())
      act::raise<act::invalid_argument>(
          "{}: site '{}' is not additive (a control vector needs omega = 1 and an unbounded support; refit with "
          "--method {} --support all)",
          map_path, site, method_names_where([](const act::method_info& m) { return m.additive; }));
    const long layer = layer_of(site);
    if (layer < 1)
      act::raise<act::invalid_argument>("{}: site '{}' has no layer number >= 1 in its name (as in 'blk.12')",
                                                map_path, site);
    if (cv.directions.count(static_cast<int>(layer)))
      act::raise<act::invalid_argument>("{}: two sites map to layer {} (site '{}')", map_path, layer, site);
    std::vector<float> direction(static_cast<std::size_t>(m->dim()));
    for (Eigen::Index j = 0; j < m->dim(); ++j) direction[static_cast<std::size_t>(j)] = static_cast<float>(lambda * m->beta[j]);
    cv.directions[static_cast<int>(layer)] = std::move(direction);
  }
  act::write_control_vector(out, cv);
  return 0;
}

int import_gguf(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"gguf", "out"}, {});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const std::string in = args.required("gguf"), out = args.required("out");
  const act::control_vector cv = act::read_control_vector(in);
  act::map_set maps;
  for (const auto& [layer, direction] : cv.directions) {
    auto m = act::affine_map<float>::identity(static_cast<Eigen::Index>(direction.size()));
    m.beta = Eigen::Map<const Eigen::ArrayXf>(direction.data(), m.dim());
    maps.insert(fmt::format("blk.{}", layer), m, {"controlvector", 0, 0, "unknown", "all"});
  }
  act::save_maps(out, maps);
  return 0;
}

int main_dispatch(int argc, char** argv) {
  if (argc < 2) throw usage_error("missing command");
  const std::string command = argv[1];
  if (command == "fit") return fit(argc, argv);
  if (command == "apply") return apply(argc, argv);
  if (command == "info") return info(argc, argv);
  if (command == "export-gguf") return export_gguf(argc, argv);
  if (command == "import-gguf") return import_gguf(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    fmt::print(usage_text, act::method_names());
    return 0;
  }
  throw usage_error(fmt::format("unknown command '{}'", command));
}


}  // namespace

/// Messages quote names and values taken from hostile files; escaping control characters keeps the error
/// on one line and stops a file from sending escape sequences to the user's terminal.
static std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

int main(int argc, char** argv) {
  try {
    return main_dispatch(argc, argv);
  } catch (const usage_error& e) {
    fmt::print(stderr, "act-cli: {}\n", one_line(e.what()));
    fmt::print(stderr, usage_text, act::method_names());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "act-cli: {}\n", one_line(e.what()));
    return 1;
  }
}
