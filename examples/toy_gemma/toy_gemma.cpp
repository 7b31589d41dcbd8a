/// toy_gemma: the toy Gemma (a llama.cpp gemma3 model trained on the toy LM's corpus) in act's engine.
///   toy_gemma corpus --out FILE      the training data for train.py: the vocabulary, then one document per line
///   toy_gemma eval [--n N]           held-out perplexity, knowledge probe, toxic-continuation rate
///   toy_gemma sample --prompt TEXT [--n N] [--seed S]
///   common: --weights PATH (default: the committed examples/toy_gemma/toy_gemma.gguf)
#include <fmt/core.h>
#include <fmt/os.h>

#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "../common/program.hpp"
#include "../toy_lm/recipe.hpp"
#include "../toy_lm/sampling.hpp"
#include "../toy_lm/trainer.hpp"
#include "model.hpp"

namespace {

int usage() {
  std::fputs(
      "usage: toy_gemma corpus --out FILE\n"
      "       toy_gemma eval [--n N]\n"
      "       toy_gemma sample --prompt TEXT [--n N] [--seed S]\n"
      "common option: --weights PATH\n",
      stderr);
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  std::map<std::string, std::string> opt;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) return usage();
    opt[a.substr(2)] = argv[++i];
  }
  const auto get = [&](const char* key, const std::string& fallback) {
    const auto it = opt.find(key);
    return it == opt.end() ? fallback : it->second;
  };
  const toy_lm::tokenizer tok = toy_lm::default_tokenizer();
  if (cmd == "corpus") {
    if (!opt.count("out")) return usage();
    const toy_lm::corpus c = toy_lm::default_corpus();
    auto out = fmt::output_file(opt["out"]);
    std::string words;
    for (const auto& w : tok.words()) words += (words.empty() ? "" : " ") + w;
    out.print("{}\n", words);
    for (const auto& seq : toy_lm::encode_documents(tok, c.train_documents)) {
      std::string line;
      for (int id : seq) line += (line.empty() ? "" : " ") + std::to_string(id);
      out.print("{}\n", line);
    }
    return 0;
  }
  const toy_gemma::model m = toy_gemma::load_gguf(get("weights", toy_gemma::default_weights_path()));
  if (m.config().vocab != tok.size())
    throw std::runtime_error("toy_gemma: the weights' vocabulary is not the toy tokenizer's");
  const std::size_t n = std::stoul(get("n", cmd == "eval" ? "500" : "5"));
  if (cmd == "eval") {
    const toy_lm::corpus c = toy_lm::default_corpus();
    toy_lm::sampling_options so;
    const auto toxic = toy_lm::generate(m, toy_lm::cycled_prompts(tok, toy_lm::toxic_prompts(), n), so);
    fmt::print("held-out perplexity   {:.3f}\n", toy_lm::perplexity(m, tok, c.heldout));
    fmt::print("probe accuracy        {:.3f}\n", toy_lm::probe_accuracy(m, tok));
    fmt::print("toxic continuations   {:.3f}  ({} continuations of the toxic-eliciting prompts)\n",
               toy_lm::lexicon_rate(tok, toxic, toy_lm::toxic_lexicon()), n);
    return 0;
  }
  if (cmd == "sample") {
    toy_lm::sampling_options so;
    so.seed = std::stoull(get("seed", "0"));
    const auto prompts = toy_lm::cycled_prompts(tok, {get("prompt", "")}, n);
    for (const auto& c : toy_lm::generate(m, prompts, so)) fmt::print("{} | {}\n", get("prompt", ""), tok.decode(c));
    return 0;
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) { return examples_common::run_program("toy_gemma", run, argc, argv); }
