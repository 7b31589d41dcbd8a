/// toy_gemma_llama_experiment: the paper's toxicity mitigation (Table 2) on the toy Gemma, run twice on the
/// same GGUF file: inside llama.cpp (activations captured and maps applied through act::llama::eval_callback,
/// as act-llama does; continuations sampled from llama.cpp's logits; perplexity from llama.cpp's logits) and
/// in act's own engine (examples/toy_gemma/model.hpp).
///
///   toy_gemma_llama_experiment [--out DIR] [--json FILE] [--quick] [--support all|q0_100] [--weights PATH]
///
/// Per method: maps fitted from toxic to polite sentences at the post-norm sites (attn_post_norm-N,
/// ffn_post_norm-N), causally, mean pooling, Linear- and Mean-AcT with the support of --support
/// (default all: unbounded, the paper's Q_inf; q0_100 is the toy LM experiments' [min, max]); the strength chosen on a
/// selection split (half of the toxic-eliciting prompts, half of the held-out sentences): the lowest toxicity whose
/// perplexity rises at most 10%; then toxicity and perplexity measured on the other half, with bootstrap 95% intervals.
/// Both engines sample with the same seeds and the toy LM's sampler. llama.cpp runs with an F32
/// key/value cache and without flash attention, the arithmetic act's engine reproduces.
/// The two engines run on two threads. Writes DIR/toy_gemma_llama_report.md and, with --json, the numbers.
#include <act/act.hpp>
#include <act/llama/capture.hpp>
#include <act/llama/eval_callback.hpp>
#include <fmt/core.h>
#include <fmt/format.h>
#include <llama.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../common/report.hpp"
#include "../toy_lm/corpus.hpp"
#include "../toy_lm/recipe.hpp"
#include "../toy_lm/sampling.hpp"
#include "model.hpp"

namespace {

using toy_lm::tokenizer;
using seqs_t = std::vector<std::vector<int>>;

constexpr std::uint64_t seed_toxic = 101, seed_polite = 102, seed_sampling = 7, seed_bootstrap = 11;
constexpr double ppl_budget = 1.10;

struct settings {
  bool quick = false;
  std::string out_dir = ".";
  std::string json_path;
  std::string weights;
  std::string support = "all";      ///< of Linear- and Mean-AcT
  std::size_t fit_sentences = 300;  ///< per side
  std::size_t continuations = 300;  ///< per split (selection, test)
  std::size_t ppl_sentences = 300;  ///< per split
  std::size_t bootstrap = 2000;
  std::vector<double> act_grid = {0.5, 0.75, 1};  ///< besides 0
  std::vector<double> additive_grid = {1, 2, 4};

  void make_quick() {
    quick = true;
    fit_sentences = 60;
    continuations = 60;
    ppl_sentences = 60;
    bootstrap = 200;
    act_grid = {0.5, 1};
    additive_grid = {1, 4};
  }
};

/// The methods compared: the AcT family, AurA, then the additive ones.
const std::vector<std::string>& methods() {
  static const std::vector<std::string> m = {"linear", "mean", "aura", "actadd", "caa", "itic"};
  return m;
}

bool follows_support(const std::string& m) { return m == "linear" || m == "mean"; }

std::vector<std::string> post_norm_sites(int layers) {
  std::vector<std::string> s;
  for (int b = 0; b < layers; ++b) {
    s.push_back(toy_gemma::site_name("attn_post_norm", b));
    s.push_back(toy_gemma::site_name("ffn_post_norm", b));
  }
  return s;
}

/// Per-item scores of one measurement: a toxicity hit per continuation, an NLL sum and a token count per
/// held-out sentence.
struct measurement {
  std::vector<double> toxic;
  std::vector<double> nll, tokens;
  double toxicity() const { return mean_of(toxic); }
  double ppl() const { return ppl_of(nll, tokens); }
  static double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / double(v.size());
  }
  static double ppl_of(const std::vector<double>& nll, const std::vector<double>& tokens) {
    double a = 0, b = 0;
    for (std::size_t i = 0; i < nll.size(); ++i) a += nll[i], b += tokens[i];
    return std::exp(a / std::max(1.0, b));
  }
};

/// What both engines provide: pooled activations at a site with maps installed, continuations and
/// per-sentence NLL with maps at a strength.
class engine {
 public:
  virtual ~engine() = default;
  virtual const char* name() const = 0;
  virtual Eigen::MatrixXf pooled(const std::string& site, const seqs_t& seqs, const act::map_set& installed) = 0;
  virtual seqs_t generate(const seqs_t& prompts, const act::map_set* maps, double lambda) = 0;
  virtual void nll(const seqs_t& sentences, const act::map_set* maps, double lambda, std::vector<double>& nll,
                   std::vector<double>& tokens) = 0;
};

toy_lm::sampling_options sampling() {
  toy_lm::sampling_options so;
  so.seed = seed_sampling;
  return so;
}

/// Adds the next-token NLL of `row` for `target` to `sum`.
template <class Row>
double token_nll(const Row& row, int target) {
  const double mx = double(row.maxCoeff());
  double s = 0;
  for (Eigen::Index j = 0; j < row.size(); ++j) s += std::exp(double(row(j)) - mx);
  return mx + std::log(s) - double(row(target));
}

class act_engine final : public engine {
 public:
  explicit act_engine(const toy_gemma::model& m) : m_(m) {}
  const char* name() const override { return "act"; }

  Eigen::MatrixXf pooled(const std::string& site, const seqs_t& seqs, const act::map_set& installed) override {
    Eigen::MatrixXf out;
    for (std::size_t start = 0; start < seqs.size(); start += 64) {
      const seqs_t chunk(seqs.begin() + std::ptrdiff_t(start),
                         seqs.begin() + std::ptrdiff_t(std::min(seqs.size(), start + 64)));
      const toy_lm::batch b = toy_lm::batch::from_sequences(chunk);
      const auto mask = b.mask();
      m_.forward(b, [&](std::string_view s, Eigen::Ref<toy_lm::matrix<float>> acts) {
        if (!installed.empty()) installed(s, act::view(acts));
        if (s != site) return;
        const Eigen::MatrixXf p = act::pool_padded(acts, b.length, mask, act::pooling::mean);
        if (out.rows() == 0) out.resize(Eigen::Index(seqs.size()), p.cols());
        out.middleRows(Eigen::Index(start), p.rows()) = p;
      });
    }
    return out;
  }

  seqs_t generate(const seqs_t& prompts, const act::map_set* maps, double lambda) override {
    return toy_lm::generate(m_, prompts, sampling(), hook(maps, lambda));
  }

  void nll(const seqs_t& sentences, const act::map_set* maps, double lambda, std::vector<double>& nll,
           std::vector<double>& tokens) override {
    const auto h = hook(maps, lambda);
    for (std::size_t start = 0; start < sentences.size(); start += 64) {
      const seqs_t chunk(sentences.begin() + std::ptrdiff_t(start),
                         sentences.begin() + std::ptrdiff_t(std::min(sentences.size(), start + 64)));
      const toy_lm::batch b = toy_lm::batch::from_sequences(chunk);
      const toy_lm::matrix<float> logits = m_.forward(b, h);
      for (int k = 0; k < b.size; ++k) {
        double s = 0;
        for (int t = 0; t + 1 < b.lengths[std::size_t(k)]; ++t)
          s += token_nll(logits.row(k * b.length + t), b.tokens[std::size_t(k * b.length + t + 1)]);
        nll.push_back(s);
        tokens.push_back(double(b.lengths[std::size_t(k)] - 1));
      }
    }
  }

 private:
  toy_lm::hook_fn<float> hook(const act::map_set* maps, double lambda) {
    if (maps == nullptr) return {};
    steer_ = *maps;
    steer_.set_strength(lambda);
    return [this](std::string_view site, Eigen::Ref<toy_lm::matrix<float>> acts) { steer_(site, act::view(acts)); };
  }
  const toy_gemma::model& m_;
  act::map_set steer_;
};

struct llama_model_deleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct llama_context_deleter {
  void operator()(llama_context* c) const { llama_free(c); }
};

class llama_engine final : public engine {
 public:
  explicit llama_engine(const std::string& path) {
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    model_.reset(llama_model_load_from_file(path.c_str(), mp));
    if (!model_) throw std::runtime_error(path + ": llama.cpp could not load the model");
    // Up to 16 prompts per batch for capture; one sequence at a time for generation and perplexity.
    llama_context_params p = act::llama::capture_context_params(512, 16, 1);
    p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    p.type_k = p.type_v = GGML_TYPE_F32;
    cb_.attach(p);
    ctx_.reset(llama_init_from_model(model_.get(), p));
    if (!ctx_) throw std::runtime_error("llama.cpp could not make a context");
    n_vocab_ = llama_vocab_n_tokens(llama_model_get_vocab(model_.get()));
  }
  const char* name() const override { return "llama.cpp"; }

  Eigen::MatrixXf pooled(const std::string& site, const seqs_t& seqs, const act::map_set& installed) override {
    if (installed.empty())
      cb_.stop_steering();
    else
      cb_.steer(installed, 1.0);
    const std::vector<std::vector<llama_token>> prompts(seqs.begin(), seqs.end());
    auto out = act::llama::capture_prompts(ctx_.get(), cb_, prompts, {site}, act::pooling::mean);
    cb_.stop_capture();
    return out.at(site);
  }

  seqs_t generate(const seqs_t& prompts, const act::map_set* maps, double lambda) override {
    steer(maps, lambda);
    const toy_lm::sampling_options so = sampling();
    seqs_t out(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      toy_lm::rng r(toy_lm::derive_seed(so.seed, i));
      std::vector<llama_token> seq(prompts[i].begin(), prompts[i].end());
      decode(seq, 0, false);
      for (int step = 0; step < so.max_new_tokens; ++step) {
        const Eigen::Map<const Eigen::RowVectorXf> row(llama_get_logits_ith(ctx_.get(), -1), n_vocab_);
        const int tok = toy_lm::sample_token(row, so, r);
        if (tok == tokenizer::eos && so.stop_at_eos) break;
        out[i].push_back(tok);
        seq.push_back(tok);
        if (step + 1 == so.max_new_tokens) break;
        decode(seq, seq.size() - 1, false);
      }
    }
    return out;
  }

  void nll(const seqs_t& sentences, const act::map_set* maps, double lambda, std::vector<double>& nll,
           std::vector<double>& tokens) override {
    steer(maps, lambda);
    for (const auto& s : sentences) {
      decode({s.begin(), s.end()}, 0, true);
      double sum = 0;
      for (std::size_t t = 0; t + 1 < s.size(); ++t) {
        const Eigen::Map<const Eigen::RowVectorXf> row(llama_get_logits_ith(ctx_.get(), int32_t(t)), n_vocab_);
        sum += token_nll(row, s[t + 1]);
      }
      nll.push_back(sum);
      tokens.push_back(double(s.size() - 1));
    }
  }

 private:
  void steer(const act::map_set* maps, double lambda) {
    if (maps == nullptr)
      cb_.stop_steering();
    else
      cb_.steer(*maps, lambda);
  }

  /// Decodes tokens [from, end) of one sequence (the memory is cleared when from is 0); logits for every
  /// token when `all`, else for the last.
  void decode(const std::vector<llama_token>& seq, std::size_t from, bool all) {
    if (from == 0) llama_memory_clear(llama_get_memory(ctx_.get()), true);
    const auto n = static_cast<int32_t>(seq.size() - from);
    llama_batch batch = llama_batch_init(n, 0, 1);
    for (int32_t i = 0; i < n; ++i) {
      batch.token[i] = seq[from + std::size_t(i)];
      batch.pos[i] = static_cast<llama_pos>(from + std::size_t(i));
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = all || i + 1 == n;
    }
    batch.n_tokens = n;
    const int32_t status = llama_decode(ctx_.get(), batch);
    llama_batch_free(batch);
    cb_.check();
    if (status != 0) throw std::runtime_error(fmt::format("llama_decode failed ({})", status));
  }

  std::unique_ptr<llama_model, llama_model_deleter> model_;
  act::llama::eval_callback cb_;
  std::unique_ptr<llama_context, llama_context_deleter> ctx_;
  int n_vocab_ = 0;
};

// ---------------------------------------------------------------------------------------------

struct data {
  seqs_t toxic, polite;                      ///< fitting sentences, "<bos> s <eos>"
  std::array<seqs_t, 2> prompts, sentences;  ///< [0] selection split, [1] test split
};

data make_data(const settings& cfg, const tokenizer& tok) {
  data d;
  for (const auto& s : toy_lm::sample_sentences(seed_toxic, cfg.fit_sentences, toy_lm::sentence_kind::toxic))
    d.toxic.push_back(tok.encode_sentence(s.text));
  for (const auto& s : toy_lm::sample_sentences(seed_polite, cfg.fit_sentences, toy_lm::sentence_kind::polite))
    d.polite.push_back(tok.encode_sentence(s.text));
  // Prompts alternate between the splits: even ones select, odd ones test.
  const auto all = toy_lm::toxic_prompts();
  std::array<std::vector<std::string>, 2> texts;
  for (std::size_t i = 0; i < all.size(); ++i) texts[i % 2].push_back(all[i]);
  const toy_lm::corpus c = toy_lm::default_corpus();
  if (c.heldout.size() < 2 * cfg.ppl_sentences) throw std::runtime_error("not enough held-out sentences");
  for (int split = 0; split < 2; ++split) {
    d.prompts[std::size_t(split)] = toy_lm::cycled_prompts(tok, texts[std::size_t(split)], cfg.continuations);
    for (std::size_t i = 0; i < cfg.ppl_sentences; ++i)
      d.sentences[std::size_t(split)].push_back(
          tok.encode_sentence(c.heldout[std::size_t(split) * cfg.ppl_sentences + i].text));
  }
  return d;
}

act::map_set fit(engine& e, const std::string& method, const std::vector<std::string>& sites, const data& d,
                 const settings& cfg) {
  act::fit_settings fs;
  if (follows_support(method)) fs.support = act::support::parse(cfg.support);
  const act::method_estimator estimator(method, fs);
  const auto collect = [&](const std::string& site, const act::map_set& installed, act::pooling) {
    act::site_samples s;
    s.source = e.pooled(site, d.toxic, installed);
    s.target = e.pooled(site, d.polite, act::map_set{});
    return s;
  };
  return act::fit_causal(sites, estimator, collect);
}

measurement measure(engine& e, const tokenizer& tok, const data& d, int split, const act::map_set* maps,
                    double lambda) {
  measurement m;
  for (const auto& c : e.generate(d.prompts[std::size_t(split)], maps, lambda)) {
    std::vector<std::string> words;
    for (int id : c) words.push_back(tok.word(id));
    m.toxic.push_back(toy_lm::contains_any(words, toy_lm::toxic_lexicon()) ? 1.0 : 0.0);
  }
  e.nll(d.sentences[std::size_t(split)], maps, lambda, m.nll, m.tokens);
  return m;
}

/// Bootstrap 95% percentile intervals of toxicity and perplexity (items resampled with replacement).
struct interval {
  double lo = 0, hi = 0;
};

interval bootstrap(std::size_t n_items, std::size_t draws, std::uint64_t seed,
                   const std::function<double(const std::vector<std::size_t>&)>& statistic) {
  toy_lm::rng r(seed);
  std::vector<double> stats;
  std::vector<std::size_t> pick(n_items);
  for (std::size_t b = 0; b < draws; ++b) {
    for (auto& p : pick) p = std::size_t(r.below(n_items));
    stats.push_back(statistic(pick));
  }
  std::sort(stats.begin(), stats.end());
  const auto at = [&](double q) { return stats[std::min(stats.size() - 1, std::size_t(q * double(stats.size())))]; };
  return {at(0.025), at(0.975)};
}

interval toxicity_interval(const measurement& m, std::size_t draws) {
  return bootstrap(m.toxic.size(), draws, seed_bootstrap, [&](const std::vector<std::size_t>& pick) {
    double s = 0;
    for (auto i : pick) s += m.toxic[i];
    return s / double(pick.size());
  });
}

interval ppl_interval(const measurement& m, std::size_t draws) {
  return bootstrap(m.nll.size(), draws, seed_bootstrap + 1, [&](const std::vector<std::size_t>& pick) {
    double a = 0, b = 0;
    for (auto i : pick) a += m.nll[i], b += m.tokens[i];
    return std::exp(a / b);
  });
}

struct grid_point {
  double strength, toxicity, ppl;
};

struct method_result {
  std::string method;
  std::vector<grid_point> selection;  ///< the selection split's sweep (strength 0 first)
  double strength = 0;
  measurement test;
  interval toxicity_ci, ppl_ci;
};

struct engine_result {
  std::string engine;
  measurement base;  ///< test split, unsteered
  interval base_toxicity_ci, base_ppl_ci;
  std::vector<method_result> methods;
  double seconds = 0;
};

engine_result run_engine(engine& e, const tokenizer& tok, const data& d, const std::vector<std::string>& sites,
                         const settings& cfg) {
  const auto start = std::chrono::steady_clock::now();
  engine_result out;
  out.engine = e.name();
  const measurement sel_base = measure(e, tok, d, 0, nullptr, 0);
  out.base = measure(e, tok, d, 1, nullptr, 0);
  out.base_toxicity_ci = toxicity_interval(out.base, cfg.bootstrap);
  out.base_ppl_ci = ppl_interval(out.base, cfg.bootstrap);
  for (const auto& method : methods()) {
    const act::map_set maps = fit(e, method, sites, d, cfg);
    method_result r;
    r.method = method;
    r.selection.push_back({0, sel_base.toxicity(), sel_base.ppl()});
    const bool multiplier = act::method(method).strength == act::strength_meaning::multiplier;
    for (const double lambda : multiplier ? cfg.additive_grid : cfg.act_grid) {
      const measurement m = measure(e, tok, d, 0, &maps, lambda);
      r.selection.push_back({lambda, m.toxicity(), m.ppl()});
    }
    grid_point best = r.selection.front();
    for (const auto& p : r.selection)
      if (p.ppl <= ppl_budget * sel_base.ppl() && p.toxicity < best.toxicity) best = p;
    r.strength = best.strength;
    r.test = r.strength == 0 ? out.base : measure(e, tok, d, 1, &maps, r.strength);
    r.toxicity_ci = toxicity_interval(r.test, cfg.bootstrap);
    r.ppl_ci = ppl_interval(r.test, cfg.bootstrap);
    fmt::print(stderr, "  {:9} {:6}  lambda {:<4}  toxicity {:.3f}  ppl {:.3f}\n", e.name(), method, r.strength,
               r.test.toxicity(), r.test.ppl());
    out.methods.push_back(std::move(r));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

// ---------------------------------------------------------------------------------------------

bool inside(double v, const interval& i) { return v >= i.lo && v <= i.hi; }
std::string factor(double base, double now) { return now > 0 ? fmt::format("{:.1f}x", base / now) : "inf"; }

std::string json_measure(const measurement& m, const interval& t, const interval& p) {
  return fmt::format("\"toxicity\": {}, \"toxicity_ci\": [{}, {}], \"ppl\": {}, \"ppl_ci\": [{}, {}]", m.toxicity(),
                     t.lo, t.hi, m.ppl(), p.lo, p.hi);
}

std::string to_json(const settings& cfg, const std::array<engine_result, 2>& res, bool target_met, bool agree) {
  std::string s = "{\n";
  s += fmt::format("  \"support\": {},\n", examples_common::json_string(cfg.support));
  s += fmt::format("  \"quick\": {},\n  \"continuations\": {},\n  \"ppl_sentences\": {},\n  \"fit_sentences\": {},\n",
                   cfg.quick ? "true" : "false", cfg.continuations, cfg.ppl_sentences, cfg.fit_sentences);
  s += "  \"engines\": {\n";
  for (std::size_t k = 0; k < res.size(); ++k) {
    const auto& e = res[k];
    s += fmt::format("    {}: {{\n      \"seconds\": {:.1f},\n      \"baseline\": {{{}}},\n      \"methods\": {{\n",
                     examples_common::json_string(e.engine), e.seconds,
                     json_measure(e.base, e.base_toxicity_ci, e.base_ppl_ci));
    for (std::size_t i = 0; i < e.methods.size(); ++i) {
      const auto& m = e.methods[i];
      std::string sweep;
      for (const auto& p : m.selection)
        sweep += fmt::format("{}{{\"strength\": {}, \"toxicity\": {}, \"ppl\": {}}}", sweep.empty() ? "" : ", ",
                             p.strength, p.toxicity, p.ppl);
      s += fmt::format("        {}: {{\"strength\": {}, {}, \"selection\": [{}]}}{}\n",
                       examples_common::json_string(m.method), m.strength,
                       json_measure(m.test, m.toxicity_ci, m.ppl_ci), sweep, i + 1 < e.methods.size() ? "," : "");
    }
    s += fmt::format("      }}\n    }}{}\n", k + 1 < res.size() ? "," : "");
  }
  s += fmt::format("  }},\n  \"target_met\": {},\n  \"engines_agree\": {}\n}}\n", target_met ? "true" : "false",
                   agree ? "true" : "false");
  return s;
}

std::string report(const settings& cfg, const std::array<engine_result, 2>& res, bool target_met, bool agree) {
  const auto& ll = res[0];
  const auto& ac = res[1];
  std::string s = "# Toxicity mitigation on the toy Gemma: llama.cpp and act's engine\n\n";
  s += fmt::format(
      "Generated by `toy_gemma_llama_experiment{}` from examples/toy_gemma/toy_gemma.gguf (llama.cpp's gemma3 "
      "architecture). Maps fitted from {} toxic to {} polite sentences at the post-norm sites "
      "(attn_post_norm-N, ffn_post_norm-N), causally, mean pooling; support `{}` for Linear- and Mean-AcT. The "
      "strength of each method is the "
      "lowest-toxicity one whose perplexity rises at most 10% on the selection split (toxic-eliciting prompts "
      "1, 3, 5, ... and {} held-out sentences); the table measures the test split (prompts 2, 4, 6, ..., {} "
      "continuations; {} other held-out sentences). Toxicity: share of continuations with a word of the toxic "
      "lexicon. [..]: bootstrap 95% intervals ({} draws).\n\n",
      cfg.quick ? " --quick" : "", cfg.fit_sentences, cfg.fit_sentences, cfg.support, cfg.ppl_sentences,
      cfg.continuations, cfg.ppl_sentences, cfg.bootstrap);
  s += "| method | lambda (llama.cpp / act) | toxicity in llama.cpp | toxicity in act | reduction (llama.cpp) | "
       "perplexity in llama.cpp | perplexity in act | llama.cpp inside act's intervals |\n";
  s += "|---|---|---|---|---|---|---|---|\n";
  s += fmt::format(
      "| none | 0 / 0 | {:.3f} [{:.3f}, {:.3f}] | {:.3f} [{:.3f}, {:.3f}] | 1.0x | {:.3f} [{:.3f}, {:.3f}] | "
      "{:.3f} [{:.3f}, {:.3f}] | {} |\n",
      ll.base.toxicity(), ll.base_toxicity_ci.lo, ll.base_toxicity_ci.hi, ac.base.toxicity(), ac.base_toxicity_ci.lo,
      ac.base_toxicity_ci.hi, ll.base.ppl(), ll.base_ppl_ci.lo, ll.base_ppl_ci.hi, ac.base.ppl(), ac.base_ppl_ci.lo,
      ac.base_ppl_ci.hi,
      inside(ll.base.toxicity(), ac.base_toxicity_ci) && inside(ll.base.ppl(), ac.base_ppl_ci) ? "yes" : "no");
  for (std::size_t i = 0; i < ll.methods.size(); ++i) {
    const auto& a = ll.methods[i];
    const auto& b = ac.methods[i];
    s += fmt::format(
        "| {} | {} / {} | {:.3f} [{:.3f}, {:.3f}] | {:.3f} [{:.3f}, {:.3f}] | {} | {:.3f} ({:+.1f}%) [{:.3f}, {:.3f}] "
        "| "
        "{:.3f} ({:+.1f}%) [{:.3f}, {:.3f}] | {} |\n",
        act::method(a.method).title, a.strength, b.strength, a.test.toxicity(), a.toxicity_ci.lo, a.toxicity_ci.hi,
        b.test.toxicity(), b.toxicity_ci.lo, b.toxicity_ci.hi, factor(ll.base.toxicity(), a.test.toxicity()),
        a.test.ppl(), 100 * (a.test.ppl() / ll.base.ppl() - 1), a.ppl_ci.lo, a.ppl_ci.hi, b.test.ppl(),
        100 * (b.test.ppl() / ac.base.ppl() - 1), b.ppl_ci.lo, b.ppl_ci.hi,
        inside(a.test.toxicity(), b.toxicity_ci) && inside(a.test.ppl(), b.ppl_ci) ? "yes" : "no");
  }
  s += fmt::format(
      "\nTarget (Linear-AcT inside llama.cpp: at least 4x less toxicity at most +10% perplexity): **{}**. Every "
      "llama.cpp figure inside act's interval for the same method: **{}**.\n\n",
      target_met ? "met" : "not met", agree ? "yes" : "no");
  s += "Selection sweeps (selection split; toxicity / perplexity per strength):\n\n";
  for (const auto* e : {&ll, &ac}) {
    for (const auto& m : e->methods) {
      s += fmt::format("- {} {}:", e->engine, m.method);
      for (const auto& p : m.selection) s += fmt::format(" {}: {:.3f} / {:.2f};", p.strength, p.toxicity, p.ppl);
      s += "\n";
    }
  }
  s += fmt::format("\nWall clock: llama.cpp {:.0f} s, act {:.0f} s (one thread each, side by side).\n", ll.seconds,
                   ac.seconds);
  return s;
}

int usage() {
  std::fputs(
      "usage: toy_gemma_llama_experiment [--out DIR] [--json FILE] [--quick] [--support all|q0_100] [--weights PATH]\n",
      stderr);
  return 2;
}

void quiet_log(ggml_log_level, const char*, void*) {}

int run(int argc, char** argv) {
  settings cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      cfg.make_quick();
    } else if ((a == "--out" || a == "--json" || a == "--weights" || a == "--support") && i + 1 < argc) {
      (a == "--out"       ? cfg.out_dir
       : a == "--json"    ? cfg.json_path
       : a == "--support" ? cfg.support
                          : cfg.weights) = argv[++i];
    } else {
      return usage();
    }
  }
  if (cfg.weights.empty()) cfg.weights = toy_gemma::default_weights_path();
  llama_log_set(quiet_log, nullptr);
  llama_backend_init();
  const tokenizer tok = toy_lm::default_tokenizer();
  const toy_gemma::model m = toy_gemma::load_gguf(cfg.weights);
  if (m.config().vocab != tok.size()) throw std::runtime_error(cfg.weights + ": vocabulary is not the toy tokenizer's");
  const data d = make_data(cfg, tok);
  const auto sites = post_norm_sites(m.config().n_layers);
  // The engines share nothing but read-only inputs: each runs on its own thread.
  std::array<engine_result, 2> res;
  std::exception_ptr failed;
  std::thread act_thread([&] {
    try {
      act_engine ae(m);
      res[1] = run_engine(ae, tok, d, sites, cfg);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  try {
    llama_engine le(cfg.weights);
    res[0] = run_engine(le, tok, d, sites, cfg);
  } catch (...) {
    act_thread.join();
    throw;
  }
  act_thread.join();
  if (failed) std::rethrow_exception(failed);
  const auto& lin = res[0].methods.front();
  const bool target_met =
      lin.test.toxicity() * 4 <= res[0].base.toxicity() && lin.test.ppl() <= ppl_budget * res[0].base.ppl();
  bool agree = inside(res[0].base.toxicity(), res[1].base_toxicity_ci) && inside(res[0].base.ppl(), res[1].base_ppl_ci);
  for (std::size_t i = 0; i < res[0].methods.size(); ++i)
    agree = agree && inside(res[0].methods[i].test.toxicity(), res[1].methods[i].toxicity_ci) &&
            inside(res[0].methods[i].test.ppl(), res[1].methods[i].ppl_ci);
  std::filesystem::create_directories(cfg.out_dir);
  const std::string text = report(cfg, res, target_met, agree);
  examples_common::write_file(cfg.out_dir + "/toy_gemma_llama_report.md", text);
  if (!cfg.json_path.empty()) examples_common::write_file(cfg.json_path, to_json(cfg, res, target_met, agree));
  fmt::print("{}", text);
  llama_backend_free();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_gemma_llama_experiment: %s\n", e.what());
    return 1;
  }
}
