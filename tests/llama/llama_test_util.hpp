#pragma once
// Shared pieces of the llama.cpp tests: the tiny random model (written once per run), scratch folders,
// contexts on one thread, logits, prompt sets, running the tools.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <llama.h>

#include <act/llama/handles.hpp>
#include <act/llama/capture.hpp>
#include <act/llama/eval_callback.hpp>

#include "random_model.hpp"

namespace act_llama_test {

namespace fs = std::filesystem;

/// A fresh folder under the system temp folder, removed at scope exit.
class scratch_dir {
 public:
  scratch_dir() {
    std::string templ = (fs::temp_directory_path() / "act-llama-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// The tiny model every test uses: 4 blocks, n_embd 64, n_ff 128, 4 heads, the base vocabulary; written
/// into a scratch folder on first use.
inline const std::string& tiny_model_path() {
  static scratch_dir dir;
  static const std::string path = [] {
    const std::string p = dir.file("tiny.gguf");
    write_random_model(p, model_shape{});
    return p;
  }();
  return path;
}

constexpr int tiny_layers = 4;
constexpr int tiny_embd = 64;

using act::llama::context_ptr;
using act::llama::model_ptr;

/// Model parameters that keep every layer on the host and ask no other device anything: an RPC server an
/// earlier case of the same process registered (and stopped) stays out of later loads.
inline llama_model_params host_model_params() {
  static ggml_backend_dev_t no_devices[] = {nullptr};
  llama_model_params p = llama_model_default_params();
  p.devices = no_devices;
  p.n_gpu_layers = 0;
  return p;
}

/// The tiny model, loaded once.
inline llama_model* tiny_model() {
  static model_ptr model = [] {
    const llama_model_params p = host_model_params();
    model_ptr m(llama_model_load_from_file(tiny_model_path().c_str(), p));
    if (!m) throw std::runtime_error("llama.cpp could not load the tiny model");
    return m;
  }();
  return model.get();
}

inline const llama_vocab* tiny_vocab() { return llama_model_get_vocab(tiny_model()); }

/// A context on one thread (2 threads on a busy 2-core machine can stall for long stretches).
inline context_ptr make_context(act::llama::eval_callback* cb, uint32_t n_seq = 1, uint32_t n_ctx = 512) {
  llama_context_params p = act::llama::capture_context_params(n_ctx, n_seq, 1);
  if (cb != nullptr) cb->attach(p);
  context_ptr ctx(llama_init_from_model(tiny_model(), p));
  REQUIRE(ctx != nullptr);
  return ctx;
}

/// Decodes `tokens` as one sequence on a fresh memory, every token an output; returns all logits
/// [tokens x n_vocab] row by row. Checks `cb` after the decode when given.
inline std::vector<float> logits_of(llama_context* ctx, const std::vector<llama_token>& tokens,
                                    act::llama::eval_callback* cb = nullptr) {
  llama_memory_clear(llama_get_memory(ctx), true);
  llama_batch batch = llama_batch_init(static_cast<int32_t>(tokens.size()), 0, 1);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = static_cast<llama_pos>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = true;
  }
  batch.n_tokens = static_cast<int32_t>(tokens.size());
  const int32_t status = llama_decode(ctx, batch);
  llama_batch_free(batch);
  if (cb != nullptr) cb->check();
  REQUIRE(status == 0);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
  std::vector<float> out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const float* row = llama_get_logits_ith(ctx, static_cast<int32_t>(i));
    out.insert(out.end(), row, row + n_vocab);
  }
  return out;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

/// Two small prompt sets in the tiny vocabulary's words ("happy" and "sad" sentences).
inline const std::vector<std::string>& happy_prompts() {
  static const std::vector<std::string> p = {"I love the sun and the day",  "you are very kind and happy",
                                             "we smile with a good friend", "the cat is happy in the sun",
                                             "peace and love to the world", "hello friend, this is a good day"};
  return p;
}
inline const std::vector<std::string>& sad_prompts() {
  static const std::vector<std::string> p = {"I hate the rain and the night", "you are very cruel and sad",
                                             "we cry with a bad friend",      "the dog is sad in the rain",
                                             "war and hate in the world",     "it was a bad night, I cry"};
  return p;
}

inline void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream f(path);
  for (const auto& l : lines) f << l << "\n";
}

struct run_result {
  int status = -1;  // exit status; -1 when killed by a signal
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// Runs `program arguments` with stdout and stderr in files of `dir`.
inline run_result run(const std::string& program, const std::string& arguments, const scratch_dir& dir) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string command = program + " " + arguments + " >" + out + " 2>" + err;
  const int raw = std::system(command.c_str());
  run_result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

/// Number of lines of `text` (a last line without newline counts).
inline int lines(const std::string& text) {
  int n = 0;
  for (const char c : text) n += c == '\n';
  return n + (!text.empty() && text.back() != '\n');
}

}  // namespace act_llama_test
