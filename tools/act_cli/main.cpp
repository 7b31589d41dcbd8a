// act-cli: fit transport maps from .npy activation dumps, apply them, inspect map files, and convert
// additive maps to and from llama.cpp control vectors (GGUF).
//
// Exit status: 0 on success, 2 for usage errors (with the command's usage), 1 for everything else (one
// line on stderr naming the file and what is wrong).

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <act/act.hpp>
#include <act/columns/fit.hpp>
#include <fmt/core.h>

#include "../common/arguments.hpp"
#include "../common/fit_inputs.hpp"
#include "../common/map_files.hpp"

namespace {

using act_tools::arguments;
using act_tools::load_map_file;
using act_tools::usage_error;

/// One subcommand: its name, usage (printed by `act-cli help NAME` and `act-cli NAME --help`, and after
/// its usage errors) and what it accepts.
struct command_spec {
  const char* name;
  const char* usage;
  act_tools::option_table options;
};

const command_spec commands[] = {
    {"fit",
     "  act-cli fit --method M --source S.npy [--source S2.npy ...] --target T.npy [--target T2.npy ...]\n"
     "              --out MAP.safetensors [--site NAME] [--support all|q0_100|qLO_HI] [--support-bounds open|closed]\n"
     "              [--min-std S] [--knots K] [--pooling mean|last|max|min] [--lengths L.npy ... | --mask M.npy ...]\n"
     "              [--memory MB] [--lock-timeout SECONDS] [--quiet]\n"
     "    fits one site and adds it to MAP under a lock (parallel fits into one file keep every site).\n"
     "    Several files per side are concatenated by rows; 3-D [B x T x d] files are pooled per sequence with\n"
     "    --pooling over the tokens their --lengths (int, one per sequence) or --mask ([B x T]) marks valid, one\n"
     "    such file per 3-D input in order (source files first). Files are memory-mapped and read a block of\n"
     "    neurons at a time within --memory MB (default {memory}; pca, pca_uncentred and itic read both sides whole).\n"
     "    --support: the method's default when absent; bounded supports are open (lo < a < hi, the reference's\n"
     "    test) unless --support-bounds closed. --min-std: the spread floor (default {min_std}): gaussian and mean\n"
     "    leave a neuron unchanged unless its source and target sd both exceed it, linear gives a source sd at or\n"
     "    below it the mean shift; the map file marks those neurons and info lists them.\n"
     "    methods: {methods}\n",
     {{"method", "out", "site", "support", "support-bounds", "min-std", "knots", "pooling", "memory", "lock-timeout"},
      {"quiet"},
      {"source", "target", "lengths", "mask"}}},
    {"apply",
     "  act-cli apply --map MAP --strength L --input X.npy --output Y.npy [--site NAME] [--quiet]\n"
     "    applies one site's map at strength L to every row of X.\n",
     {{"map", "strength", "input", "output", "site"}, {"quiet"}, {}}},
    {"info",
     "  act-cli info MAP\n"
     "    lists the file's own metadata (e.g. controlvector.model_hint) and its sites: method, d, support and its\n"
     "    bounds, samples, pooling, neurons below the spread floor (how many, and which where the file marks\n"
     "    them), and omega and beta summaries.\n",
     {{}, {}, {}}},
    {"export-gguf",
     "  act-cli export-gguf --map MAP --out CV.gguf [--model-hint ARCH] [--strength L] [--normalize] [--layer N]\n"
     "              [--model M.gguf]\n"
     "    control vectors: site l_out-N (or blk.N), the output of block N, is direction.N (N >= 1); other sites\n"
     "    need --layer N. --normalize: unit length per direction; --model: check n_embd and the layers.\n",
     {{"map", "out", "model-hint", "strength", "layer", "model"}, {"normalize"}, {}}},
    {"import-gguf",
     "  act-cli import-gguf --gguf CV.gguf --out MAP.safetensors\n"
     "    a llama.cpp control vector as a map file (sites l_out-N).\n",
     {{"gguf", "out"}, {}, {}}},
};

constexpr const char* usage_footer = R"(
  act-cli help COMMAND, act-cli COMMAND --help: that command's usage. act-cli --version: the version.
  Options are --name value or --name=value. .npy arrays: rows are samples (or tokens), columns neurons;
  float32/float64/float16. No output may be one of the command's inputs.
  Exit status: 0 success, 1 error (one line on stderr), 2 usage error.
)";

const command_spec* find_command(std::string_view name) {
  for (const command_spec& c : commands)
    if (name == c.name) return &c;
  return nullptr;
}

std::string command_usage(const command_spec& c) {
  return "usage:\n" + fmt::format(c.usage, fmt::arg("methods", act::method_names()),
                                  fmt::arg("memory", act::default_fit_memory >> 20),
                                  fmt::arg("min_std", act::default_min_std));
}

std::string full_usage() {
  std::string out = "usage:\n";
  for (const command_spec& c : commands)
    out += fmt::format(c.usage, fmt::arg("methods", act::method_names()),
                       fmt::arg("memory", act::default_fit_memory >> 20), fmt::arg("min_std", act::default_min_std));
  return out + usage_footer;
}

/// A usage error inside a command: the message, then that command's usage.
struct command_usage_error : usage_error {
  command_usage_error(const usage_error& e, const command_spec& c) : usage_error(e.what()), usage(command_usage(c)) {}
  std::string usage;
};

/// A status line on stderr while a command loads and fits: which step of how many, what it does and for
/// how long, redrawn in place and erased at the end. Only on a terminal, never with --quiet.
class progress_line {
 public:
  progress_line(int steps, bool quiet) : steps_(steps), enabled_(!quiet && isatty(STDERR_FILENO)) {
    if (!enabled_) return;
    thread_ = std::thread([this] {
      while (!done_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        if (!done_.load()) draw();
      }
    });
  }
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  ~progress_line() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    if (enabled_) fmt::print(stderr, "\r\033[K");
  }

  /// Starts the next step, e.g. "loading s.npy (12.5 MB)".
  void step(std::string what) {
    if (!enabled_) return;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      what_ = std::move(what);
      ++step_;
      start_ = std::chrono::steady_clock::now();
    }
    draw();
  }

 private:
  void draw() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (step_ == 0) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    fmt::print(stderr, "\r\033[K[{}/{}] {} ... {:.0f} s", step_, steps_, act::printable(what_), s);
    std::fflush(stderr);
  }

  int steps_;
  bool enabled_;
  int step_ = 0;
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// "loading A + B (25.0 MB)" for a progress step.
std::string loading(const std::vector<std::string>& paths) {
  double bytes = 0;
  for (const std::string& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("loading {}", fmt::join(paths, " + "));
    bytes += static_cast<double>(st.st_size);
  }
  return fmt::format("loading {} ({:.1f} MB)", fmt::join(paths, " + "), bytes / 1e6);
}

/// A .npy array's values (row-major doubles) as a [rows x cols] matrix; a 1-D array is one row.
Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> matrix_of(
    const act::npy_array& a, const std::string& path) {
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max());
  if (a.rows() > most || a.cols() > most)
    act::raise<act::format_error>("{}: header field 'shape' is too large for a matrix", path);
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

/// Refuses, before any work, an output that is not a regular file (act::check_output: a device, FIFO or
/// folder, exit 1) or is the same file as one of the inputs (same device and inode: `./a` and `a`, symlinks
/// and hard links count), which the output would replace.
void refuse_output_over_inputs(const char* output_option, const std::string& output,
                               std::initializer_list<std::pair<const char*, std::string>> inputs) {
  act::check_output(output);
  for (const auto& [option, input] : inputs)
    if (act::same_file(output, input))
      throw usage_error(fmt::format("--{} '{}' is the same file as --{} '{}'; writing it would replace that input",
                                    output_option, output, option, input));
}

int fit(const arguments& args) {
  args.no_positional();
  const act::method_info* info = &act_cli::method_option(args);
  const std::string method(info->name);
  (void)args.required("source"), (void)args.required("target");
  const std::vector<std::string> source_files = args.values("source"), target_files = args.values("target");
  const std::string source_path = fmt::format("{}", fmt::join(source_files, " + "));
  const std::string target_path = fmt::format("{}", fmt::join(target_files, " + "));
  const std::string out = args.required("out"), site = args.value_or("site", "site");
  act::fit_settings settings;
  settings.threads = 0;  // all cores
  const act::support support = act_cli::support_options(args, *info, settings);
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
    throw usage_error(
        fmt::format("--site '{}' {}: site names are valid UTF-8 without control characters", site, problem));
  const double lock_seconds = args.number("lock-timeout", act::map_file_lock_timeout.count() / 1000.0);
  if (!(lock_seconds >= 0 && lock_seconds <= 1e6))
    throw usage_error(
        fmt::format("--lock-timeout must be between 0 and 1e6 seconds, got '{}'", args.required("lock-timeout")));
  for (const auto& [option, files] : {std::pair{"source", &source_files}, std::pair{"target", &target_files}})
    for (const std::string& file : *files) refuse_output_over_inputs("out", out, {{option, file}});
  for (const std::string& file : validity.files)
    refuse_output_over_inputs("out", out, {{validity.masks ? "mask" : "lengths", file}});
  // An existing output must be a map file (its other sites are kept): find out before fitting.
  if (struct stat st{}; ::stat(out.c_str(), &st) == 0 || errno != ENOENT) act_tools::check_map_file(out);

  const std::size_t inputs_3d = act_cli::count_3d(source_files) + act_cli::count_3d(target_files);
  if (!validity.files.empty() && validity.files.size() != inputs_3d)
    throw usage_error(fmt::format("{} --{} file(s) for {} 3-D input(s): give one per 3-D file, source files first",
                                  validity.files.size(), validity.masks ? "mask" : "lengths", inputs_3d));
  const bool quiet = args.has("quiet");
  act::map_set fitted;
  Eigen::Index low_spread = 0, rows_source = 0, rows_target = 0, d = 0;
  {
    // Memory-mapped (headers checked, 3-D files' lengths or masks read); fit_columns reads the samples a
    // block of neurons at a time.
    progress_line progress(3, quiet);
    progress.step(loading(source_files));
    const act::stacked_columns<float> source = act_cli::side_columns(source_files, validity, how);
    progress.step(loading(target_files));
    const act::stacked_columns<float> target = act_cli::side_columns(target_files, validity, how);
    rows_source = source.rows();
    rows_target = target.rows();
    d = source.cols();
    progress.step(fmt::format("fitting {} on {} x {} and {} x {}", method, source.rows(), source.cols(), target.rows(),
                              target.cols()));
    naming_files(source_path, target_path, [&] {
      const auto fit =
          act::fit_columns<float>(method, source, target, settings, static_cast<std::size_t>(memory_mb * 1048576.0));
      low_spread = act::low_spread_count(fit.diagnostics);
      fitted.insert(site, fit.map,
                    {method, fit.source_samples, fit.target_samples, pooling, act::support_label(*info, settings),
                     low_spread, fit.diagnostics.low_spread});
      return 0;
    });
  }
  // Under the file's lock: re-read it, add the site, write it. Parallel fits into one file keep every site.
  act::update_map_file(out, fitted, std::chrono::milliseconds(static_cast<long long>(lock_seconds * 1000.0)));
  if (!quiet) {
    const std::string bounds =
        info->has_support && support.bounded ? fmt::format(", {}", act::bounds_name(support.bounds)) : "";
    fmt::print("{}: site '{}' fitted with {} on {} source and {} target samples of {} neurons (support {}{})\n",
               act::printable(out), site, method, rows_source, rows_target, d, support.to_string(), bounds);
    if (low_spread > 0)
      fmt::print("{}: {} neuron(s) have a {} spread at or below --min-std {} and got {}'s fallback map\n",
                 act::printable(out), low_spread, method == "linear" ? "source" : "source or target", settings.min_std,
                 method);
  }
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
    throw usage_error(fmt::format("{} holds {} sites ({}); choose one with --site", path, maps.size(),
                                  fmt::join(maps.sites(), ", ")));
  return maps.sites().front();
}

int apply(const arguments& args) {
  args.no_positional();
  const std::string map_path = args.required("map"), input = args.required("input"), output = args.required("output");
  const double lambda = args.number("strength", 0.0);
  if (!args.has("strength")) throw usage_error("missing --strength");
  refuse_output_over_inputs("output", output, {{"map", map_path}, {"input", input}});
  progress_line progress(2, args.has("quiet"));
  act::map_set maps = load_map_file(map_path);
  const std::string site = choose_site(maps, args, map_path);
  try {
    maps.set_strength(site, lambda);
  } catch (const act::non_finite_error& e) {
    act::raise<act::non_finite_error>("{}: {}; nothing written", map_path, e.what());
  }

  progress.step(loading({input}));
  const auto a = act::read_npy(input);
  progress.step(fmt::format("applying site '{}' to {} x {}", site, a.rows(), a.cols()));
  // Row-major float32 copy of the input; 1-D inputs are one row (and are written back 1-D).
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x = matrix_of(a, input).cast<float>();
  try {
    maps(site, act::view(x));
  } catch (const act::shape_error& e) {
    act::raise<act::shape_error>("{}: {}", input, e.what());
  }
  // Finite coefficients can still overflow on large activations: refuse results that became Inf or NaN.
  try {
    act::check_applied(
        fmt::format("site '{}'", site), lambda, x.rows(), x.cols(),
        [&](Eigen::Index r, Eigen::Index j) {
          return static_cast<float>(a.values[static_cast<std::size_t>(r * x.cols() + j)]);
        },
        [&](Eigen::Index r, Eigen::Index j) { return x(r, j); });
  } catch (const act::non_finite_error& e) {
    act::raise<act::non_finite_error>("{}: {}: {}; nothing written", map_path, input, e.what());
  }
  if (a.shape.size() == 1)
    act::save_npy_vector(output, Eigen::Map<const Eigen::VectorXf>(x.data(), x.size()));
  else
    act::save_npy(output, x);
  return 0;
}

/// "min / mean / max" of a coefficient array, for the info table.
std::string summary(const Eigen::ArrayXf& v) {
  return fmt::format("{:.4g} / {:.4g} / {:.4g}", v.minCoeff(), v.mean(), v.maxCoeff());
}

/// Prints rows of cells as a table whose columns are as wide as their widest cell (first row: headers);
/// columns listed in `right` are right-aligned. Widths count code points (cells are printable UTF-8).
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  const auto width = [](const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
  };
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width(row[c]));
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - width(row[c]), ' ');
      if (c > 0) line += "  ";
      line += right[c] ? pad + row[c] : (c + 1 == row.size() ? row[c] : row[c] + pad);
    }
    fmt::print("{}\n", line);
  }
}

int info(const arguments& args) {
  if (args.positional().size() != 1) throw usage_error("info takes exactly one map file");
  const std::string path = args.positional()[0];
  const act::map_set maps = load_map_file(path);
  // Everything from the file goes through act::printable (as error messages do): no control character
  // reaches the terminal and every site stays on its own line.
  fmt::print("{}: {} site(s)\n", act::printable(path), maps.size());
  // File-level metadata (e.g. controlvector.model_hint), one key per line.
  for (const auto& [key, value] : maps.metadata()) fmt::print("{}: {}\n", act::printable(key), act::printable(value));
  fmt::print("\n");
  std::vector<std::vector<std::string>> rows{{"site", "method", "d", "support", "bounds", "samples n_a,n_b", "pooling",
                                              "low spread", "omega min / mean / max", "beta min / mean / max"}};
  for (const auto& site : maps.sites()) {
    const auto& e = maps.at(site);
    const auto* q = std::get_if<act::quantile_map<float>>(&e.map);
    // Non-parametric maps are summarised by the least-squares line through their knots.
    const act::affine_map<float> m = q ? act::least_squares_line(*q) : std::get<act::affine_map<float>>(e.map);
    const std::string support = q                        ? fmt::format("{} knots", q->knots())
                                : e.info.support.empty() ? (m.bounded() ? "bounded" : "all")
                                                         : e.info.support;
    rows.push_back({act::printable(site), act::printable(e.info.method), std::to_string(m.dim()),
                    act::printable(support), m.bounded() ? act::bounds_name(m.bounds) : "-",
                    fmt::format("{},{}", e.info.source_samples, e.info.target_samples), act::printable(e.info.pooling),
                    std::to_string(e.info.low_spread_neurons), summary(m.omega), summary(m.beta)});
  }
  print_table(rows, {false, false, true, false, false, true, false, true, true, true});
  // Which neurons fell below the spread floor, where the file marks them (the first few per site).
  bool first = true;
  for (const auto& site : maps.sites()) {
    const auto& flags = maps.at(site).info.low_spread;
    std::vector<Eigen::Index> which;
    for (Eigen::Index j = 0; j < flags.size(); ++j)
      if (flags[j]) which.push_back(j);
    if (which.empty()) continue;
    constexpr std::size_t shown = 16;
    const auto end = which.begin() + static_cast<std::ptrdiff_t>(std::min(which.size(), shown));
    fmt::print("{}{}: low-spread neurons {}{}\n", std::exchange(first, false) ? "\n" : "", act::printable(site),
               fmt::join(which.begin(), end, ", "),
               which.size() > shown ? fmt::format(", ... ({} in all)", which.size()) : "");
  }
  return 0;
}

int export_gguf(const arguments& args) {
  args.no_positional();
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
  const act::map_set maps = load_map_file(map_path);
  if (args.has("model")) options.model = act::read_gguf_model_info(args.required("model"));
  // Site names, layers, additivity, --normalize and the model checks: act::to_control_vector.
  act::write_control_vector(out, act::to_control_vector(maps, options, map_path));
  return 0;
}

int import_gguf(const arguments& args) {
  args.no_positional();
  const std::string in = args.required("gguf"), out = args.required("out");
  refuse_output_over_inputs("out", out, {{"gguf", in}});
  // Sites l_out-N; controlvector.model_hint kept in the map file's metadata; Inf/NaN directions refused.
  act::save_maps(out, act::maps_from_control_vector(act::read_control_vector(in), in));
  return 0;
}

int run_command(const command_spec& c, const arguments& args) {
  const std::string_view name = c.name;
  if (name == "fit") return fit(args);
  if (name == "apply") return apply(args);
  if (name == "info") return info(args);
  if (name == "export-gguf") return export_gguf(args);
  return import_gguf(args);
}

/// "unknown command 'fitt' (did you mean fit?)".
std::string unknown_command(const std::string& word) {
  std::vector<std::string> names;
  for (const command_spec& c : commands) names.emplace_back(c.name);
  const std::string guess = act_tools::nearest(word, names);
  return fmt::format("unknown command '{}'{}", word, guess.empty() ? "" : fmt::format(" (did you mean {}?)", guess));
}

int main_dispatch(int argc, char** argv) {
  if (argc < 2) throw usage_error("missing command");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || (command == "help" && argc == 2)) {
    fmt::print("{}", full_usage());
    return 0;
  }
  if (command == "--version" || command == "-V") {
    fmt::print("act-cli {}.{}.{}\n", ACT_VERSION_MAJOR, ACT_VERSION_MINOR, ACT_VERSION_PATCH);
    return 0;
  }
  if (command == "help") {
    if (argc > 3) throw usage_error("help takes one command");
    const command_spec* c = find_command(argv[2]);
    if (c == nullptr) throw usage_error(unknown_command(argv[2]));
    fmt::print("{}", command_usage(*c));
    return 0;
  }
  const command_spec* c = find_command(command);
  if (c == nullptr) throw usage_error(unknown_command(command));
  try {
    const arguments args(argc, argv, 2, c->options);
    if (args.help()) {
      fmt::print("{}", command_usage(*c));
      return 0;
    }
    return run_command(*c, args);
  } catch (const command_usage_error&) {
    throw;
  } catch (const usage_error& e) {
    throw command_usage_error(e, *c);
  }
}

}  // namespace

// Messages quote names and values taken from hostile files; act::printable (the rule `info` uses too)
// keeps each on one line and stops a file from sending escape sequences to the user's terminal.
int main(int argc, char** argv) {
  // A write beyond `ulimit -f` is then an error (EFBIG) that removes its temporary, not a kill.
  (void)::signal(SIGXFSZ, SIG_IGN);
  try {
    return main_dispatch(argc, argv);
  } catch (const command_usage_error& e) {
    fmt::print(stderr, "act-cli: {}\n{}", act::printable(e.what()), e.usage);
    return 2;
  } catch (const usage_error& e) {
    fmt::print(stderr, "act-cli: {}\n{}", act::printable(e.what()), full_usage());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "act-cli: {}\n", act::printable(e.what()));
    return 1;
  }
}
