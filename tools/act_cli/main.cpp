// act-cli: fit transport maps from .npy activation dumps, apply them, inspect map files, and convert
// additive maps to and from llama.cpp control vectors (GGUF).
//
// Exit status: 0 on success, 2 for usage errors (with the usage text), 1 for everything else (one line
// on stderr naming the file and what is wrong).

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <act/act.hpp>
#include <act/columns/fit.hpp>
#include <fmt/core.h>

#include "arguments.hpp"
#include "fit_inputs.hpp"

namespace {

using act_cli::arguments;
using act_cli::usage_error;

constexpr const char* usage_text = R"(usage:
  act-cli fit --method M --source S.npy [--source S2.npy ...] --target T.npy [--target T2.npy ...]
              --out MAP.safetensors [--site NAME] [--support all|q0_100|qLO_HI] [--knots K]
              [--pooling mean|last|max|min] [--lengths L.npy ... | --mask M.npy ...] [--memory MB]
              [--quiet] [--lock-timeout SECONDS]
  act-cli apply --map MAP --strength L --input X.npy --output Y.npy [--site NAME]
  act-cli info MAP
  act-cli export-gguf --map MAP --out CV.gguf [--model-hint ARCH] [--strength L] [--normalize] [--layer N] [--model M.gguf]
  act-cli import-gguf --gguf CV.gguf --out MAP.safetensors

  .npy arrays: rows are samples (or tokens), columns neurons; float32/float64/float16/bfloat16.
  fit: several files per side are concatenated by rows; 3-D [B x T x d] files are pooled per sequence with
  --pooling over the tokens their --lengths (int, one per sequence) or --mask ([B x T]) marks valid, one such
  file per 3-D input in order (source files first); files are memory-mapped and read a block of neurons at
  a time within --memory MB (default {}; pca and itic read both sides whole).
  control vectors: site l_out-N (or blk.N), the output of block N, is direction.N (N >= 1); other sites need
  --layer N. --normalize: unit length per direction; --model: check n_embd and the layers against the model.
  methods: {}
  fit adds its site to MAP under a lock, so parallel fits into one file keep every site.
  No output may be one of the command's inputs.
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

/// A .npy array's values (row-major doubles) as a [rows x cols] matrix; a 1-D array is one row.
Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> matrix_of(const act::npy_array& a,
                                                                                                 const std::string& path) {
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max());
  if (a.rows() > most || a.cols() > most) act::raise<act::format_error>("{}: header field 'shape' is too large for a matrix", path);
  return {a.values.data(), static_cast<Eigen::Index>(a.rows()), static_cast<Eigen::Index>(a.cols())};
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

/// Refuses, before any work, an output that is the same file as one of the inputs (same device and inode:
/// `./a` and `a`, symlinks and hard links count), which the output would replace.
void refuse_output_over_inputs(const char* output_option, const std::string& output,
                               std::initializer_list<std::pair<const char*, std::string>> inputs) {
  for (const auto& [option, input] : inputs)
    if (act::same_file(output, input))
      throw usage_error(fmt::format("--{} '{}' is the same file as --{} '{}'; writing it would replace that input",
                                    output_option, output, option, input));
}

int fit(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"method", "out", "site", "support", "knots", "pooling", "lock-timeout", "memory"}, {"quiet"},
                       {"source", "target", "lengths", "mask"});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const act::method_info* info = &act_cli::method_option(args);
  const std::string method(info->name);
  (void)args.required("source"), (void)args.required("target");
  const std::vector<std::string> source_files = args.values("source"), target_files = args.values("target");
  const std::string source_path = fmt::format("{}", fmt::join(source_files, " + "));
  const std::string target_path = fmt::format("{}", fmt::join(target_files, " + "));
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
  settings.knots = act_cli::knots_option(args, *info, settings.knots);
  const act::pooling how = act_cli::pooling_option(args);
  const std::string pooling(act::to_string(how));
  if (args.has("lengths") && args.has("mask")) throw usage_error("give --lengths or --mask, not both");
  act_cli::token_validity validity;
  validity.masks = args.has("mask");
  for (const std::string& f : args.values(validity.masks ? "mask" : "lengths")) validity.files.push_back(f);
  const double memory_mb = args.number("memory", static_cast<double>(act::default_fit_memory >> 20));
  if (!(memory_mb >= 1 && memory_mb <= 1e9))
    throw usage_error(fmt::format("--memory must be between 1 and 1e9 MB, got '{}'", args.required("memory")));
  if (site.empty()) throw usage_error("--site must not be empty");
  if (const std::string problem = act::name_problem(site); !problem.empty())
    throw usage_error(fmt::format("--site '{}' {}: site names are valid UTF-8 without control characters", site, problem));
  const double lock_seconds = args.number("lock-timeout", act::map_file_lock_timeout.count() / 1000.0);
  if (!(lock_seconds >= 0 && lock_seconds <= 1e6))
    throw usage_error(fmt::format("--lock-timeout must be between 0 and 1e6 seconds, got '{}'", args.required("lock-timeout")));
  for (const auto& [option, files] : {std::pair{"source", &source_files}, std::pair{"target", &target_files}})
    for (const std::string& file : *files) refuse_output_over_inputs("out", out, {{option, file}});
  for (const std::string& file : validity.files) refuse_output_over_inputs("out", out, {{validity.masks ? "mask" : "lengths", file}});
  // An existing output must be a map file (its other sites are kept): find out before fitting.
  if (struct stat st {}; ::stat(out.c_str(), &st) == 0 || errno != ENOENT) (void)act::load_maps(out);

  const std::size_t inputs_3d = act_cli::count_3d(source_files) + act_cli::count_3d(target_files);
  if (!validity.files.empty() && validity.files.size() != inputs_3d)
    throw usage_error(fmt::format("{} --{} file(s) for {} 3-D input(s): give one per 3-D file, source files first",
                                  validity.files.size(), validity.masks ? "mask" : "lengths", inputs_3d));
  // Memory-mapped; fit_columns reads them a block of neurons at a time.
  const act::stacked_columns<float> source = act_cli::side_columns(source_files, validity, how);
  const act::stacked_columns<float> target = act_cli::side_columns(target_files, validity, how);
  act::map_set fitted;
  {
    progress_line progress(fmt::format("fitting {} on {} x {} and {} x {}", method, source.rows(), source.cols(),
                                       target.rows(), target.cols()));
    naming_files(source_path, target_path, [&] {
      const auto fit = act::fit_columns<float>(method, source, target, settings, static_cast<std::size_t>(memory_mb * 1048576.0));
      fitted.insert(site, fit.map, {method, fit.source_samples, fit.target_samples, pooling, act::support_label(*info, settings)});
      return 0;
    });
  }
  // Under the file's lock: re-read it, add the site, write it. Parallel fits into one file keep every site.
  act::update_map_file(out, fitted, std::chrono::milliseconds(static_cast<long long>(lock_seconds * 1000.0)));
  if (!args.has("quiet"))
    fmt::print("{}: site '{}' fitted with {} on {} source and {} target samples of {} neurons (support {})\n",
               act::printable(out), site, method, source.rows(), target.rows(), source.cols(), support.to_string());
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
  refuse_output_over_inputs("output", output, {{"map", map_path}, {"input", input}});
  act::map_set maps = act::load_maps(map_path);
  const std::string site = choose_site(maps, args, map_path);
  try {
    maps.set_strength(site, lambda);
  } catch (const act::non_finite_error& e) {
    act::raise<act::non_finite_error>("{}: {}; nothing written", map_path, e.what());
  }

  const auto a = act::read_npy(input);
  // Row-major float32 copy of the input; 1-D inputs are one row (and are written back 1-D).
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x = matrix_of(a, input).cast<float>();
  try {
    maps(site, act::view(x));
  } catch (const act::shape_error& e) {
    act::raise<act::shape_error>("{}: {}", input, e.what());
  }
  // Finite coefficients can still overflow on large activations: refuse results that became Inf or NaN.
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const float before = static_cast<float>(a.values[static_cast<std::size_t>(r * x.cols() + j)]);
      if (std::isfinite(before) && !std::isfinite(x(r, j)))
        act::raise<act::non_finite_error>(
            "{}: site '{}' at strength {} turns the finite value {} of {} (row {}, neuron {}) into {}; nothing written", map_path,
            site, lambda, before, input, r, j, x(r, j));
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
  // Everything from the file goes through act::printable (as error messages do): no control character
  // reaches the terminal and every site stays on its own line.
  fmt::print("{}: {} site(s)\n\n", act::printable(path), maps.size());
  fmt::print("{:<28} {:<9} {:>6} {:<8} {:>15} {:<7} {:>29}   {:>29}\n", "site", "method", "d", "support", "samples n_a,n_b",
             "pooling", "omega min / mean / max", "beta min / mean / max");
  for (const auto& site : maps.sites()) {
    const auto& e = maps.at(site);
    const auto* q = std::get_if<act::quantile_map<float>>(&e.map);
    // Non-parametric maps are summarised by the least-squares line through their knots.
    const act::affine_map<float> m = q ? act::least_squares_line(*q) : std::get<act::affine_map<float>>(e.map);
    const std::string support = q ? fmt::format("{} knots", q->knots())
                                  : e.info.support.empty() ? (m.bounded() ? "bounded" : "all") : e.info.support;
    fmt::print("{:<28} {:<9} {:>6} {:<8} {:>15} {:<7} {:>29}   {:>29}\n", act::printable(site), act::printable(e.info.method),
               m.dim(), act::printable(support), fmt::format("{},{}", e.info.source_samples, e.info.target_samples),
               act::printable(e.info.pooling), summary(m.omega), summary(m.beta));
  }
  return 0;
}

int export_gguf(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"map", "out", "model-hint", "strength", "layer", "model"}, {"normalize"});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const std::string map_path = args.required("map"), out = args.required("out");
  act::control_vector_options options;
  options.strength = args.number("strength", 1.0);  // finite: arguments::number refuses the rest
  options.normalize = args.has("normalize");
  options.model_hint = args.value_or("model-hint", "");
  if (const std::string problem = act::name_problem(options.model_hint); !problem.empty())
    throw usage_error(fmt::format("--model-hint '{}' {}", options.model_hint, problem));
  if (args.has("layer")) {
    const double layer = args.number("layer", 0);
    if (!(layer >= 1 && layer <= 1e9 && layer == static_cast<double>(static_cast<long>(layer))))
      throw usage_error(fmt::format("--layer must be an integer >= 1 (control-vector layers start at 1), got '{}'",
                                    args.required("layer")));
    options.layer = static_cast<int>(layer);
  }
  refuse_output_over_inputs("out", out, {{"map", map_path}, {"model", args.value_or("model", "")}});
  const act::map_set maps = act::load_maps(map_path);
  if (args.has("model")) options.model = act::read_gguf_model_info(args.required("model"));
  // Site names, layers, additivity, --normalize and the model checks: act::to_control_vector.
  act::write_control_vector(out, act::to_control_vector(maps, options, map_path));
  return 0;
}

int import_gguf(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"gguf", "out"}, {});
  if (!args.positional().empty()) throw usage_error(fmt::format("unexpected argument '{}'", args.positional()[0]));
  const std::string in = args.required("gguf"), out = args.required("out");
  refuse_output_over_inputs("out", out, {{"gguf", in}});
  // Sites l_out-N; controlvector.model_hint kept in the map file's metadata; Inf/NaN directions refused.
  act::save_maps(out, act::maps_from_control_vector(act::read_control_vector(in), in));
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
    fmt::print(usage_text, act::default_fit_memory >> 20, act::method_names());
    return 0;
  }
  throw usage_error(fmt::format("unknown command '{}'", command));
}


}  // namespace

// Messages quote names and values taken from hostile files; act::printable (the rule `info` uses too)
// keeps each on one line and stops a file from sending escape sequences to the user's terminal.
int main(int argc, char** argv) {
  try {
    return main_dispatch(argc, argv);
  } catch (const usage_error& e) {
    fmt::print(stderr, "act-cli: {}\n", act::printable(e.what()));
    fmt::print(stderr, usage_text, act::default_fit_memory >> 20, act::method_names());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "act-cli: {}\n", act::printable(e.what()));
    return 1;
  }
}
