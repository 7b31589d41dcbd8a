// act-llama: act on GGUF models in llama.cpp. Captures pooled activations of prompts, fits act maps from
// a model's own activations (causally, layer by layer, by default) and generates text with maps applied at
// llama.cpp's graph tensors, all through include/act/llama/eval_callback.hpp.
//
// Exit status (as act-cli): 0 on success, 2 for usage errors (with the usage text), 1 for everything else
// (one line on stderr naming the file and what is wrong).

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <act/act.hpp>
#include <act/io/control_vector_maps.hpp>
#include <act/llama/handles.hpp>
#include <act/llama/capture.hpp>
#include <act/llama/eval_callback.hpp>
#include <act/llama/rpc.hpp>
#include <fmt/core.h>
#include <fmt/format.h>
#include <llama.h>

#include "../common/arguments.hpp"
#include "../common/map_files.hpp"

namespace {

using act_tools::usage_error;

constexpr const char* usage_text = R"(usage:
  act-llama capture --model M.gguf --prompts P.txt --tensors T1,T2,... [--pooling mean|last] --out DIR
  act-llama fit --model M.gguf --source-prompts A.txt --target-prompts B.txt --tensors T1,T2,... --method M
                [--support all|q0_100|qLO_HI] [--pooling mean|last] [--causal|--simultaneous] --out MAP.safetensors
  act-llama generate --model M.gguf [--maps MAP [--force]] [--strength L | --strengths L1,L2,...]
                     (--prompt TEXT ... | --prompts P.txt) [-n N] [--seed S] [--temp T]

  options: --name value or --name=value; -h or --help anywhere prints this text
  options of every command: --threads N (default: half the cores, at most 4), --ctx N (context size, at least 256,
    llama.cpp's smallest; default fits the prompts), --gpu-layers N (layers offloaded to llama.cpp's devices;
    default 0, or all with --rpc), --rpc HOST:PORT (a llama.cpp RPC server's devices; repeat for several)
  tensors: llama.cpp's graph tensor names, e.g. l_out-12 (output of block 12), attn_norm-3, ffn_out-7, ffn_inp-5
  prompt files: one prompt per line (empty lines skipped; \n \t \\ escapes as in llama.cpp's cvector-generator)
  capture writes DIR/<tensor>.npy, float32 [prompts x width]; fit writes an act map file (sites = tensor names)
  generate: greedy with --temp 0 (default temp 0.8, seed 0, -n 32); every map of the file applies at its tensor;
    each prompt (--prompt repeated, or a file) runs at each strength, from the same seed; maps fitted on another
    architecture (their controlvector.model_hint) are refused unless --force
  methods: {}
  ACT_LLAMA_LOG=1 shows llama.cpp's own log on stderr.
)";

void print_usage() { fmt::print(usage_text, act::method_names()); }

/// Thrown when a subcommand was asked for --help: the usage went to stdout, exit status 0.
struct help_shown {};

/// llama.cpp's smallest context: it rounds every context size up to a multiple of this.
constexpr long llama_min_ctx = 256;

/// The words of one subcommand, which takes no positional words; `--help` prints the usage.
class arguments : public act_tools::arguments {
 public:
  arguments(int argc, char** argv, int first, std::vector<std::string> options, std::vector<std::string> flags,
            std::vector<std::string> repeatable = {})
      : act_tools::arguments(argc, argv, first,
                             with_common(std::move(options), std::move(flags), std::move(repeatable))) {
    if (help()) {
      print_usage();
      throw help_shown{};
    }
    no_positional();
    // Before any work: a context llama.cpp would round up, or assert on.
    if (const long n_ctx = integer("ctx", llama_min_ctx, 1, 1L << 24); n_ctx < llama_min_ctx)
      throw usage_error(
          fmt::format("--ctx {} is below llama.cpp's smallest context, {} tokens (it rounds contexts up to a "
                      "multiple of {})",
                      n_ctx, llama_min_ctx, llama_min_ctx));
  }

 private:
  /// Every command also takes --threads, --ctx, --gpu-layers and --rpc (repeatable).
  static act_tools::option_table with_common(std::vector<std::string> options, std::vector<std::string> flags,
                                             std::vector<std::string> repeatable) {
    for (const char* o : {"threads", "ctx", "gpu-layers", "rpc"}) options.emplace_back(o);
    repeatable.emplace_back("rpc");
    return {std::move(options), std::move(flags), std::move(repeatable)};
  }
};

// ---- llama.cpp's log: silent unless asked for; its last error is kept for messages -----------------------

std::string& last_llama_error() {
  static std::string text;
  return text;
}

void llama_log(ggml_log_level level, const char* text, void*) {
  static const bool show =
      std::getenv("ACT_LLAMA_LOG") != nullptr && std::string_view(std::getenv("ACT_LLAMA_LOG")) != "0";
  if (show) std::fputs(text, stderr);
  if (level == GGML_LOG_LEVEL_ERROR) {
    std::string line = text;
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last_llama_error() = line;
  }
}

/// " (llama.cpp: <its last error>)" or "".
std::string llama_said() {
  return last_llama_error().empty() ? std::string() : fmt::format(" (llama.cpp: {})", last_llama_error());
}

// ---- model and context ---------------------------------------------------------------------------------

using act::llama::context_ptr;
using act::llama::model_ptr;

/// The model at `path`, checked to be a whole GGUF model first so that a wrong file gets a clear message;
/// --rpc servers' devices registered first, --gpu-layers layers offloaded (all with --rpc, else none).
model_ptr load_model(const arguments& args, const std::string& path, act::gguf_model_info& info) {
  info = act::read_gguf_model_info(path);
  const std::vector<std::string> servers = args.values("rpc");
  for (const auto& endpoint : servers) act::llama::add_rpc_server(endpoint);
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = static_cast<int32_t>(args.integer("gpu-layers", servers.empty() ? 0 : -1, -1, 1L << 20));
  model_ptr model(llama_model_load_from_file(path.c_str(), params));
  if (!model) act::raise<act::format_error>("{}: llama.cpp could not load this model{}", path, llama_said());
  return model;
}

context_ptr make_context(llama_model* model, llama_context_params params, act::llama::eval_callback* cb) {
  if (cb != nullptr) cb->attach(params);
  context_ptr ctx(llama_init_from_model(model, params));
  if (!ctx)
    act::raise<act::invalid_argument>("llama.cpp could not create a context of {} tokens{}", params.n_ctx,
                                      llama_said());
  return ctx;
}

/// --threads, by default half the logical cores (about the physical ones), at most 4: llama.cpp's threads
/// spin at barriers, and more threads than free cores can stall a decode for a long time.
int threads_option(const arguments& args) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(args.integer("threads", std::clamp(cores / 2, 1u, 4u), 1, 512));
}

// ---- prompts and tensors -------------------------------------------------------------------------------

/// llama.cpp's escapes in prompt files: \n \t \r \\ \" \' ; other backslashes stay.
std::string unescape(const std::string& line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 == line.size()) {
      out += line[i];
      continue;
    }
    const char c = line[++i];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case '\'':
        out += '\'';
        break;
      default:
        out += '\\';
        out += c;
    }
  }
  return out;
}

/// One prompt per non-empty line (a trailing CR dropped, escapes undone). Read through act's file reader, so
/// a FIFO or a device is refused at once instead of blocking or being read without end.
std::vector<std::string> read_prompts(const std::string& path) {
  const std::vector<unsigned char> bytes = act::read_whole_file(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::string> prompts;
  for (std::size_t from = 0; from < text.size();) {
    const std::size_t end = std::min(text.find('\n', from), text.size());
    std::string_view line = text.substr(from, end - from);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) prompts.push_back(unescape(std::string(line)));
    from = end + 1;
  }
  if (prompts.empty()) act::raise<act::invalid_argument>("{}: no prompts (one per line)", path);
  return prompts;
}

std::vector<std::string> tensor_list(const arguments& args) {
  std::vector<std::string> out;
  const std::string& text = args.required("tensors");
  std::size_t from = 0;
  while (from <= text.size()) {
    const std::size_t comma = std::min(text.find(',', from), text.size());
    const std::string name = text.substr(from, comma - from);
    if (name.empty()) throw usage_error(fmt::format("--tensors '{}' has an empty name", text));
    if (name.find('/') != std::string::npos || name == "." || name == "..")
      throw usage_error(fmt::format("--tensors: '{}' is not a tensor name", name));
    if (std::find(out.begin(), out.end(), name) != out.end())
      throw usage_error(fmt::format("--tensors: '{}' listed twice", name));
    out.push_back(name);
    from = comma + 1;
  }
  return out;
}

act::pooling pooling_option(const arguments& args) {
  try {
    return act::parse_pooling(args.value_or("pooling", "mean"));
  } catch (const act::invalid_argument& e) {
    throw usage_error(e.what());
  }
}

/// Context size for prompts: --ctx, or the longest prompt plus `extra` rounded up to 64 (at least 512).
uint32_t context_size(const arguments& args, const std::vector<std::vector<llama_token>>& prompts,
                      std::size_t extra = 0) {
  std::size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  const std::size_t fitted = std::max<std::size_t>(512, (longest + extra + 63) / 64 * 64);
  return static_cast<uint32_t>(args.integer("ctx", static_cast<long>(fitted), llama_min_ctx, 1L << 24));
}

/// Progress on stderr: a line rewritten in place on a terminal; elsewhere a line every 5 s.
class progress_report {
 public:
  explicit progress_report(std::string what) : what_(std::move(what)), tty_(isatty(STDERR_FILENO) != 0) {}
  ~progress_report() {
    if (tty_ && shown_) fmt::print(stderr, "\r\033[K");
  }
  void operator()(std::size_t done, std::size_t total) {
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (elapsed < 1.0 || (!tty_ && since < 5.0) || (tty_ && since < 0.1)) return;
    last_ = now;
    shown_ = true;
    fmt::print(stderr, tty_ ? "\r{}: {}/{} prompts, {:.0f} s" : "{}: {}/{} prompts, {:.0f} s\n", what_, done, total,
               elapsed);
    std::fflush(stderr);
  }

 private:
  std::string what_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

// ---- capture -------------------------------------------------------------------------------------------

/// Pooled samples of `tensors` for `prompts` on a fresh context of `model`, steered by `maps` when given.
std::map<std::string, Eigen::MatrixXf> capture_on(llama_model* model,
                                                  const std::vector<std::vector<llama_token>>& prompts,
                                                  const std::vector<std::string>& tensors, act::pooling how,
                                                  const act::map_set* maps, uint32_t n_ctx, int threads,
                                                  const std::string& what,
                                                  std::vector<std::string>* graph_names = nullptr) {
  act::llama::eval_callback cb;
  if (maps != nullptr && !maps->empty()) cb.steer(*maps, maps->strength());
  context_ptr ctx = make_context(model, act::llama::capture_context_params(n_ctx, 16, threads), &cb);
  progress_report progress(what);
  auto samples = act::llama::capture_prompts(ctx.get(), cb, prompts, tensors, how,
                                             [&](std::size_t done, std::size_t total) { progress(done, total); });
  if (graph_names != nullptr) *graph_names = cb.graph_names();
  return samples;
}

int capture(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"model", "prompts", "tensors", "pooling", "out"}, {});
  const std::string model_path = args.required("model"), prompts_path = args.required("prompts");
  const std::string out = args.required("out");
  const std::vector<std::string> tensors = tensor_list(args);
  const act::pooling how = pooling_option(args);
  const int threads = threads_option(args);

  act::gguf_model_info info;
  const model_ptr model = load_model(args, model_path, info);
  const auto prompts = act::llama::tokenize_all(llama_model_get_vocab(model.get()), read_prompts(prompts_path));
  const auto samples =
      capture_on(model.get(), prompts, tensors, how, nullptr, context_size(args, prompts), threads, "capture");
  std::filesystem::create_directories(out);
  for (const auto& t : tensors) act::save_npy((std::filesystem::path(out) / (t + ".npy")).string(), samples.at(t));
  fmt::print("{}: {} tensor(s) of {} prompts, {} pooling: {}\n", out, tensors.size(), prompts.size(),
             act::to_string(how), fmt::join(tensors, ", "));
  return 0;
}

// ---- fit -----------------------------------------------------------------------------------------------

int fit(int argc, char** argv) {
  const arguments args(argc, argv, 2,
                       {"model", "source-prompts", "target-prompts", "tensors", "method", "support", "pooling", "out"},
                       {"causal", "simultaneous"});
  const std::string model_path = args.required("model"), out = args.required("out");
  const std::string source_path = args.required("source-prompts"), target_path = args.required("target-prompts");
  std::vector<std::string> tensors = tensor_list(args);
  const std::string method = args.required("method");
  if (act::find_method(method) == nullptr)
    throw usage_error(fmt::format("unknown --method '{}' (one of: {})", method, act::method_names()));
  if (args.has("causal") && args.has("simultaneous"))
    throw usage_error("--causal and --simultaneous exclude each other");
  const bool causal = !args.has("simultaneous");
  act::fit_settings settings;
  settings.threads = 0;
  try {
    if (args.has("support")) settings.support = act::support::parse(args.required("support"));
    act::support_for(act::method(method), settings);
  } catch (const act::invalid_argument& e) {
    throw usage_error(fmt::format("--support: {}", e.what()));
  }
  const act::pooling how = pooling_option(args);
  const int threads = threads_option(args);

  act::gguf_model_info info;
  const model_ptr model = load_model(args, model_path, info);
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  const auto source = act::llama::tokenize_all(vocab, read_prompts(source_path));
  const auto target = act::llama::tokenize_all(vocab, read_prompts(target_path));
  std::vector<std::vector<llama_token>> both = source;
  both.insert(both.end(), target.begin(), target.end());
  const uint32_t n_ctx = context_size(args, both);

  // Target activations are never steered: one pass for every tensor. It also tells the graph's order.
  std::vector<std::string> graph;
  const auto target_samples =
      capture_on(model.get(), target, tensors, how, nullptr, n_ctx, threads, "fit: target prompts", &graph);
  // Causal estimation goes forward through the graph, whatever order --tensors lists.
  const auto rank = [&](const std::string& t) { return std::find(graph.begin(), graph.end(), t) - graph.begin(); };
  std::stable_sort(tensors.begin(), tensors.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  std::map<std::string, Eigen::MatrixXf> source_once;
  if (!causal)
    source_once = capture_on(model.get(), source, tensors, how, nullptr, n_ctx, threads, "fit: source prompts");

  const auto collect = [&](const std::string& tensor, const act::map_set& installed, act::pooling) {
    act::site_samples s;
    s.target = target_samples.at(tensor);
    if (!causal) {
      s.source = source_once.at(tensor);
    } else {
      s.source = capture_on(model.get(), source, {tensor}, how, &installed, n_ctx, threads,
                            fmt::format("fit: source prompts at {}", tensor))
                     .at(tensor);
    }
    return s;
  };
  const act::method_estimator estimator(method, settings);
  act::causal_options options;
  options.pooling = how;
  const act::map_set fitted = causal ? act::fit_causal(tensors, estimator, collect, options)
                                     : act::fit_simultaneous(tensors, estimator, collect, options);
  // The map file records the support fitted with, and the model's architecture for export-gguf.
  act::map_set maps;
  for (const auto& site : tensors) {
    const auto& e = fitted.at(site);
    act::map_info info_out = e.info;
    info_out.support = act::support_label(act::method(method), settings);
    maps.insert(site, e.map, info_out);
  }
  maps.metadata()[std::string(act::model_hint_key)] = info.architecture;
  act::update_map_file(out, maps);  // adds the sites under the file's lock, as act-cli fit does
  fmt::print("{}: {} at {} ({}), {} source and {} target prompts, {} pooling\n", out, method, fmt::join(tensors, ", "),
             causal ? "causal" : "simultaneous", source.size(), target.size(), act::to_string(how));
  return 0;
}

// ---- generate ------------------------------------------------------------------------------------------

std::string piece(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  const int32_t n = llama_token_to_piece(vocab, token, buf, sizeof buf, 0, false);
  if (n >= 0) return std::string(buf, static_cast<std::size_t>(n));
  std::string big(static_cast<std::size_t>(-n), '\0');
  const int32_t m = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, false);
  big.resize(static_cast<std::size_t>(std::max(0, m)));
  return big;
}

/// --strength L, or --strengths L1,L2,... (each a finite number): the strengths to run, 1 when neither.
std::vector<double> strengths_option(const arguments& args) {
  if (args.has("strength") && args.has("strengths")) throw usage_error("--strength and --strengths exclude each other");
  if (!args.has("strengths")) return {args.number("strength", 1.0)};
  const std::string& text = args.required("strengths");
  std::vector<double> out;
  for (std::size_t from = 0; from <= text.size();) {
    const std::size_t comma = std::min(text.find(',', from), text.size());
    const std::string word = text.substr(from, comma - from);
    char* end = nullptr;
    const double v = word.empty() ? 0.0 : std::strtod(word.c_str(), &end);
    if (word.empty() || end != word.c_str() + word.size() || !std::isfinite(v))
      throw usage_error(fmt::format("--strengths '{}': '{}' is not a finite number", text, word));
    out.push_back(v);
    from = comma + 1;
  }
  return out;
}

/// Refuses maps whose recorded model hint (the architecture they were fitted on) is not the model's, unless
/// `force`; then says on stderr that they are applied anyway.
void check_model_hint(const act::map_set& maps, const std::string& maps_path, const act::gguf_model_info& model,
                      const std::string& model_path, bool force) {
  const auto hint = maps.metadata().find(act::model_hint_key);
  if (hint == maps.metadata().end() || hint->second.empty() || hint->second == model.architecture) return;
  if (!force)
    act::raise<act::invalid_argument>(
        "{}: the maps are for a '{}' model ({}) but {} is a '{}' model; --force applies them anyway", maps_path,
        hint->second, act::model_hint_key, model_path, model.architecture);
  fmt::print(stderr, "act-llama: {}: maps for a '{}' model applied to a '{}' model (--force)\n", maps_path,
             hint->second, model.architecture);
}

/// Refuses Inf or NaN in the logits of the last decoded token: steered activations that overflowed after
/// the maps (each map's own results are checked in the callback).
void check_logits(llama_context* ctx, const llama_vocab* vocab, bool steered, double strength, std::size_t position) {
  const float* logits = llama_get_logits_ith(ctx, -1);
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  for (int32_t j = 0; j < n_vocab; ++j) {
    if (std::isfinite(logits[j])) continue;
    if (!steered)
      act::raise<act::non_finite_error>(
          "llama.cpp's logits hold {} at token {} of the output (the model itself, no maps applied)", logits[j],
          position);
    act::raise<act::non_finite_error>(
        "strength {}: llama.cpp's logits hold {} at token {} of the output: the steered "
        "activations overflow later in the model; use a smaller strength",
        strength, logits[j], position);
  }
}

int generate(int argc, char** argv) {
  const arguments args(argc, argv, 2, {"model", "maps", "strength", "strengths", "prompts", "n", "seed", "temp"},
                       {"force"}, {"prompt"});
  const std::string model_path = args.required("model");
  if (args.has("prompt") == args.has("prompts")) throw usage_error("give --prompt TEXT (repeatable) or --prompts FILE");
  const std::vector<double> strengths = strengths_option(args);
  const long n_predict = args.integer("n", 32, 0, 1L << 20);
  const long seed = args.integer("seed", 0, 0, 0xFFFFFFFFL);
  const double temp = args.number("temp", 0.8);
  if (temp < 0) throw usage_error("--temp must be >= 0");
  const int threads = threads_option(args);
  if ((args.has("strength") || args.has("strengths")) && !args.has("maps"))
    throw usage_error("--strength and --strengths need --maps");
  if (args.has("force") && !args.has("maps")) throw usage_error("--force needs --maps");

  const std::vector<std::string> prompts =
      args.has("prompts") ? read_prompts(args.required("prompts")) : args.values("prompt");
  act::map_set maps;
  if (args.has("maps")) maps = act_tools::load_map_file(args.required("maps"));
  act::gguf_model_info info;
  const model_ptr model = load_model(args, model_path, info);
  if (!maps.empty()) check_model_hint(maps, args.required("maps"), info, model_path, args.has("force"));
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  const auto tokens = act::llama::tokenize_all(vocab, prompts);

  act::llama::eval_callback cb;
  if (!maps.empty()) {
    // Every strength is checked before anything runs: one the maps cannot take is refused up front.
    for (const double l : strengths) {
      try {
        act::map_set(maps).set_strength(l);
      } catch (const act::non_finite_error& e) {
        act::raise<act::non_finite_error>("{}: {}", args.required("maps"), e.what());
      }
    }
    cb.steer(maps, strengths.front());
  }
  llama_context_params params = llama_context_default_params();
  params.n_ctx = context_size(args, tokens, static_cast<std::size_t>(n_predict) + 1);
  std::size_t longest = 0;
  for (const auto& t : tokens) longest = std::max(longest, t.size());
  params.n_batch = std::max<uint32_t>(params.n_batch, static_cast<uint32_t>(longest));
  params.n_threads = threads;
  params.n_threads_batch = threads;
  // Without maps there is nothing to steer: no callback, llama.cpp's plain path.
  const context_ptr ctx = make_context(model.get(), params, maps.empty() ? nullptr : &cb);
  const uint32_t n_ctx = llama_n_ctx(ctx.get());  // what llama.cpp uses: --ctx rounded up to a multiple of 256
  for (std::size_t k = 0; k < tokens.size(); ++k)
    if (tokens[k].size() + static_cast<std::size_t>(n_predict) > n_ctx)
      act::raise<act::invalid_argument>("prompt {} ({} tokens) and -n {} do not fit the context of {} tokens (--ctx)",
                                        k + 1, tokens[k].size(), n_predict, n_ctx);

  using clock = std::chrono::steady_clock;
  // Processor time of the whole process (every thread), next to wall time: on a busy machine it still
  // tells what the generation cost.
  const auto cpu_seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  const bool several = tokens.size() * strengths.size() > 1;
  for (std::size_t k = 0; k < tokens.size(); ++k)
    for (const double strength : strengths) {
      if (!maps.empty()) cb.set_strength(strength);
      llama_memory_clear(llama_get_memory(ctx.get()), true);
      // A fresh sampler per run: every run starts from the same seed, so runs differ by their strength only.
      std::unique_ptr<llama_sampler, decltype(&llama_sampler_free)> sampler(
          llama_sampler_chain_init(llama_sampler_chain_default_params()), &llama_sampler_free);
      if (temp == 0) {
        llama_sampler_chain_add(sampler.get(), llama_sampler_init_greedy());
      } else {
        llama_sampler_chain_add(sampler.get(), llama_sampler_init_temp(static_cast<float>(temp)));
        llama_sampler_chain_add(sampler.get(), llama_sampler_init_dist(static_cast<uint32_t>(seed)));
      }
      std::size_t position = 0;
      const auto decode = [&](llama_token* data, int32_t n) {
        const int32_t status = llama_decode(ctx.get(), llama_batch_get_one(data, n));
        if (!maps.empty()) cb.check();
        if (status != 0)
          act::raise<act::invalid_argument>("llama_decode failed with status {}{}", status, llama_said());
        check_logits(ctx.get(), vocab, !maps.empty(), strength, position++);
      };
      std::vector<llama_token> prompt_tokens = tokens[k];
      const auto t0 = clock::now();
      decode(prompt_tokens.data(), static_cast<int32_t>(prompt_tokens.size()));
      const auto t1 = clock::now();
      const double cpu1 = cpu_seconds();
      if (several) {
        if (maps.empty())
          fmt::print("## prompt {}\n", k + 1);
        else
          fmt::print("## prompt {}, strength {}\n", k + 1, strength);
      }
      fmt::print("{}", prompts[k]);
      std::fflush(stdout);
      long generated = 0;
      for (; generated < n_predict; ++generated) {
        llama_token next = llama_sampler_sample(sampler.get(), ctx.get(), -1);
        if (llama_vocab_is_eog(vocab, next)) break;
        fmt::print("{}", piece(vocab, next));
        std::fflush(stdout);
        decode(&next, 1);
      }
      const auto t2 = clock::now();
      const double cpu_ms = (cpu_seconds() - cpu1) * 1e3;
      fmt::print("\n");
      std::fflush(stdout);
      const double prompt_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
      const double gen_s = std::chrono::duration<double>(t2 - t1).count();
      fmt::print(
          stderr,
          "act-llama: prompt {} tokens in {:.2f} ms; {} tokens generated in {:.3f} s ({:.1f} tokens/s, {:.3f} ms of "
          "processor time per token); {} map(s){}; context {} tokens\n",
          tokens[k].size(), prompt_ms, generated, gen_s, gen_s > 0 ? static_cast<double>(generated) / gen_s : 0.0,
          generated > 0 ? cpu_ms / static_cast<double>(generated) : 0.0, maps.size(),
          maps.empty() ? std::string() : fmt::format(" at strength {}", strength), n_ctx);
    }
  return 0;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) throw usage_error("missing command");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage();
    return 0;
  }
  if (command != "capture" && command != "fit" && command != "generate")
    throw usage_error(fmt::format("unknown command '{}'", command));
  llama_log_set(llama_log, nullptr);
  llama_backend_init();
  struct backend_guard {
    ~backend_guard() { llama_backend_free(); }
  } guard;
  if (command == "capture") return capture(argc, argv);
  if (command == "fit") return fit(argc, argv);
  return generate(argc, argv);
}

/// Messages quote names from files; control characters are escaped so the error stays on one line.
std::string one_line(std::string_view message) {
  std::string out;
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const help_shown&) {
    return 0;
  } catch (const usage_error& e) {
    fmt::print(stderr, "act-llama: {}\n", one_line(e.what()));
    fmt::print(stderr, usage_text, act::method_names());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "act-llama: {}\n", one_line(e.what()));
    return 1;
  }
}
