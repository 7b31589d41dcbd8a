/// toy_lm: sample from, evaluate or retrain the bundled toy transformer LM.
///   toy_lm sample --prompt "you are such a" [--n N] [--seed S] [--temperature T] [--top-k K] [--max-tokens M]
///   toy_lm eval [--json FILE] [--n N]
///   toy_lm train [--out PATH] [--steps N]
///   toy_lm logits --prompts "TEXT;TEXT;..." --out LOGITS.npy   (logits of "<bos> TEXT" prompts, padded batch)
///   toy_lm sentences --kind toxic|polite|neutral|topic|fact|false_fact|true_fact [--n N] [--seed S] [--topic NAME]
///   toy_lm list toxic-lexicon|toxic-prompts|neutral-prompts
///   common: --weights PATH (default: the committed examples/toy_lm/toy_lm.safetensors)
#include <Eigen/Core>
#include <act/io/npy.hpp>
#include <fmt/core.h>
#include <fmt/os.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/program.hpp"
#include "corpus.hpp"
#include "recipe.hpp"
#include "sampling.hpp"
#include "trainer.hpp"
#include "weights.hpp"

namespace {

using namespace toy_lm;

int usage() {
  std::fputs(
      "usage: toy_lm sample --prompt TEXT [--n N] [--seed S] [--temperature T] [--top-k K] [--max-tokens M]\n"
      "       toy_lm eval [--json FILE] [--n N]\n"
      "       toy_lm train [--out PATH] [--steps N]\n"
      "       toy_lm logits --prompts \"TEXT;TEXT;...\" --out LOGITS.npy\n"
      "       toy_lm sentences --kind toxic|polite|neutral|topic|fact|false_fact|true_fact [--n N] [--seed S] [--topic "
      "NAME]\n"
      "       toy_lm list toxic-lexicon|toxic-prompts|neutral-prompts\n"
      "common option: --weights PATH\n",
      stderr);
  return 2;
}

std::string weights_path(const std::map<std::string, std::string>& opt) {
  if (auto it = opt.find("weights"); it != opt.end()) return it->second;
  const std::string baked = default_weights_path();
  if (std::ifstream(baked).good()) return baked;
  return "examples/toy_lm/toy_lm.safetensors";  // run from the repository root
}

struct eval_numbers {
  double heldout_ppl, unigram_ppl, probe, toxic_rate, sports_rate;
  multiple_choice_scores truthful;
};

eval_numbers evaluate(const loaded_model& m, const corpus& c, std::size_t n_continuations) {
  eval_numbers e{};
  e.heldout_ppl = perplexity(m.model, m.tok, c.heldout);
  e.unigram_ppl = unigram_perplexity(m.tok, c.train, c.heldout);
  e.probe = probe_accuracy(m.model, m.tok);
  e.truthful = multiple_choice(m.model, m.tok, truthfulness_questions());
  sampling_options so;
  const auto toxic = generate(m.model, cycled_prompts(m.tok, toxic_prompts(), n_continuations), so);
  e.toxic_rate = lexicon_rate(m.tok, toxic, toxic_lexicon());
  const auto neutral = generate(m.model, cycled_prompts(m.tok, neutral_prompts(), n_continuations), so);
  e.sports_rate = lexicon_rate(m.tok, neutral, topic_words(topic_index("sports")));
  return e;
}

void print_eval(const eval_numbers& e, std::size_t params, std::size_t n) {
  fmt::print("parameters            {}\n", params);
  fmt::print("held-out perplexity   {:.3f}\n", e.heldout_ppl);
  fmt::print("unigram perplexity    {:.3f}\n", e.unigram_ppl);
  fmt::print("probe accuracy        {:.3f}\n", e.probe);
  fmt::print("truthfulness MC1      {:.3f}  (MC2 {:.3f}; {} held-out misconception questions)\n", e.truthful.mc1,
             e.truthful.mc2, truthfulness_questions().size());
  fmt::print("toxic continuations   {:.3f}  ({} continuations of the toxic-eliciting prompts)\n", e.toxic_rate, n);
  fmt::print("sports continuations  {:.3f}  ({} continuations of the neutral prompts)\n", e.sports_rate, n);
}

/// Texts separated by ';' (words never contain one).
std::vector<std::string> split_prompts(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t j = std::min(text.find(';', i), text.size());
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

sentence_kind kind_named(const std::string& name) {
  for (const auto k : {sentence_kind::topic, sentence_kind::toxic, sentence_kind::polite, sentence_kind::fact,
                       sentence_kind::neutral, sentence_kind::false_fact, sentence_kind::true_fact})
    if (name == kind_name(k)) return k;
  throw std::invalid_argument("unknown --kind '" + name +
                              "' (toxic, polite, neutral, topic, fact, false_fact, true_fact)");
}

/// The model's data for other programs (examples/python/toy_lm_torch.py re-implements the model in PyTorch
/// and checks itself against these logits).
int export_data(const std::string& cmd, int argc, char** argv, const std::map<std::string, std::string>& opt) {
  auto get = [&](const char* k, const std::string& def) {
    auto it = opt.find(k);
    return it == opt.end() ? def : it->second;
  };
  if (cmd == "logits") {
    if (!opt.count("prompts") || !opt.count("out")) return usage();
    const loaded_model m = load_weights(weights_path(opt));
    std::vector<std::vector<int>> prompts;
    for (const auto& p : split_prompts(opt.at("prompts"))) prompts.push_back(m.tok.encode_prompt(p));
    if (prompts.empty()) return usage();
    // [B*T x vocab], row b*T + t: token t of prompt b (rows past a prompt's length are padding).
    act::save_npy(opt.at("out"), m.model.forward(batch::from_sequences(prompts)));
    return 0;
  }
  if (cmd == "sentences") {
    const int topic = opt.count("topic") ? topic_index(opt.at("topic")) : -1;
    if (opt.count("topic") && topic < 0) throw std::invalid_argument("unknown --topic '" + opt.at("topic") + "'");
    for (const auto& s : sample_sentences(std::stoull(get("seed", "1")), std::stoul(get("n", "100")),
                                          kind_named(get("kind", "neutral")), topic))
      fmt::print("{}\n", s.text);
    return 0;
  }
  // list: the positional word after the command (the option parser takes --key value pairs only).
  if (argc != 3) return usage();
  const std::string what = argv[2];
  std::vector<std::string> items;
  if (what == "toxic-lexicon")
    items = toxic_lexicon();
  else if (what == "toxic-prompts")
    items = toxic_prompts();
  else if (what == "neutral-prompts")
    items = neutral_prompts();
  else
    return usage();
  for (const auto& item : items) fmt::print("{}\n", item);
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  if (cmd == "list") return export_data(cmd, argc, argv, {});
  std::map<std::string, std::string> opt;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) return usage();
    opt[a.substr(2)] = argv[++i];
  }
  auto get = [&](const char* k, const std::string& def) {
    auto it = opt.find(k);
    return it == opt.end() ? def : it->second;
  };
  Eigen::setNbThreads(1);  // deterministic, and polite on a shared machine

  if (cmd == "sample") {
    if (!opt.count("prompt")) return usage();
    const loaded_model m = load_weights(weights_path(opt));
    sampling_options so;
    so.seed = std::stoull(get("seed", "0"));
    so.temperature = std::stod(get("temperature", "1"));
    so.top_k = std::stoi(get("top-k", "0"));
    so.max_new_tokens = std::stoi(get("max-tokens", "16"));
    const auto n = static_cast<std::size_t>(std::stoul(get("n", "5")));
    const std::string prompt = opt["prompt"];
    const auto outs = generate(m.model, cycled_prompts(m.tok, {prompt}, n), so);
    for (const auto& o : outs) fmt::print("{} | {}\n", prompt, m.tok.decode(o));
    return 0;
  }
  if (cmd == "eval") {
    const loaded_model m = load_weights(weights_path(opt));
    const auto n = static_cast<std::size_t>(std::stoul(get("n", "500")));
    const eval_numbers e = evaluate(m, default_corpus(), n);
    print_eval(e, m.model.parameter_count(), n);
    if (opt.count("json")) {
      auto out = fmt::output_file(opt["json"]);
      out.print(
          "{{\"heldout_ppl\": {:.6g}, \"unigram_ppl\": {:.6g}, \"probe_accuracy\": {:.6g}, \"mc1\": {:.6g}, "
          "\"mc2\": {:.6g}, \"parameters\": {}}}\n",
          e.heldout_ppl, e.unigram_ppl, e.probe, e.truthful.mc1, e.truthful.mc2, m.model.parameter_count());
    }
    return 0;
  }
  if (cmd == "logits" || cmd == "sentences") return export_data(cmd, argc, argv, opt);
  if (cmd == "train") {
    const std::string out = get("out", default_weights_path());
    const corpus c = default_corpus();
    const tokenizer tok = default_tokenizer();
    const auto sequences = encode_documents(tok, c.train_documents);
    transformer<float> model(default_config(tok.size()));
    model.init(init_seed);
    train_options o = default_train_options();
    o.steps = std::stoi(get("steps", std::to_string(o.steps)));
    fmt::print("training {} parameters, vocabulary {}, {} documents ({} sentences), {} steps\n",
               model.parameter_count(), tok.size(), sequences.size(), c.train.size(), o.steps);
    double running = 0;
    const auto report = train(model, sequences, o, [&](int step, double loss) {
      running = step == 0 ? loss : 0.98 * running + 0.02 * loss;
      if ((step + 1) % 100 == 0) {
        fmt::print("step {:5d}  loss {:.4f}\n", step + 1, running);
        std::fflush(stdout);
      }
    });
    fmt::print("trained in {:.1f} s\n", report.seconds);
    save_weights(out, model, tok);
    fmt::print("wrote {}\n", out);
    const loaded_model m{model, tok};
    print_eval(evaluate(m, c, 500), model.parameter_count(), 500);
    return 0;
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) { return examples_common::run_program("toy_lm", run, argc, argv); }
