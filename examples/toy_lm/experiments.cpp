/// toy_lm_experiments: the paper's language-model experiments (Rodriguez et al., ICLR 2025, Sec. 4)
/// rerun on the bundled toy LM with act's estimators, pooling, causal driver and map_set hooks.
///
///   toy_lm_experiments [--out DIR] [--json FILE] [--quick] [--threads N] [--weights PATH]
///
/// - Mitigation (paper Table 2): maps fitted from toxic to polite sentences at the post-LayerNorm sites.
/// - Ablations (paper Tables 4-6, Fig. 9): causal vs simultaneous, [min, max] vs unbounded support,
///   mean / last / max / min pooling, site kind; Linear-AcT at lambda = 1.
/// - Induction (paper Fig. 4): neutral -> sports passages, unbounded support, concept rate against lambda.
/// - Truthfulness (paper Table 3, TruthfulQA MC1/MC2): false -> true statements of misconceptions, scored
///   on held-out multiple-choice questions.
/// How choices are made and numbers reported, the same in every experiment:
/// - Every evaluation set is split into a selection part and a disjoint test part (held_out.hpp): the
///   toxic-eliciting prompts, the neutral openers, the questions and the held-out perplexity text.
/// - Per method, its grid is scaled to where it reaches the budget (held-out perplexity +10% on the
///   selection text): `grid_steps + 2` equally spaced strengths from 0 to one step past that edge, the same
///   number for every method. The chosen strength is the one with the largest effect on the selection part
///   among the grid points within the budget. Only then is the test part measured, at that strength.
/// - Test-part rates, ratios, MC1 and MC2 carry percentile-bootstrap 95% intervals (fixed seed; continuations
///   resampled within their prompt, questions and sentences resampled plainly, paired across methods), and
///   a target is met or missed by its interval.
/// Writes DIR/toy_lm_report.md, DIR/mitigation.svg, DIR/induction.svg, DIR/truthfulness.svg and, with
/// --json, the numbers. Seeds are fixed: the numbers do not depend on --threads.
#include <act/act.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../common/held_out.hpp"
#include "../common/report.hpp"
#include "corpus.hpp"
#include "held_out.hpp"
#include "recipe.hpp"
#include "sampling.hpp"
#include "svg_plot.hpp"
#include "weights.hpp"

namespace {

using namespace toy_lm;
using examples_common::interval;
using examples_common::json_string;
using examples_common::verdict;

// Fixed seeds: sentence sets for fitting, and the sampling of continuations.
constexpr std::uint64_t seed_toxic = 101, seed_polite = 102, seed_neutral = 103, seed_topic = 104;
constexpr std::uint64_t seed_false_facts = 105, seed_true_facts = 106;
constexpr std::uint64_t seed_mitigation_sampling = 7, seed_induction_sampling = 8;
constexpr double ppl_budget = 1.10;    // the budget: held-out perplexity may rise at most 10%
constexpr double search_start = 0.25;  // the budget edge search doubles from here ...
constexpr double strength_cap = 64;    // ... up to here
const char* const induction_topic = "sports";

struct settings {
  bool quick = false;
  std::string out_dir = ".";
  std::string json_path;
  std::string weights;
  int threads = 0;
  std::size_t fit_sentences = 300;            ///< mitigation: sentences per side (source and target)
  std::size_t fit_passages = 200;             ///< induction and truthfulness: passages of 3 sentences per side
  std::size_t continuations = 500;            ///< toxic-prompt continuations per measurement, per part
  std::size_t induction_continuations = 300;  ///< neutral-prompt continuations per measurement, per part
  std::size_t ppl_sentences = 300;            ///< held-out sentences for perplexity, per part
  int grid_steps = 4;                         ///< grid: 0, edge / steps, ..., edge, edge + edge / steps
  int bisections = 5;                         ///< halvings of the budget edge's bracket
  examples_common::bootstrap_options bootstrap;

  /// A smoke run (a few percent of the work; small enough for the sanitizer build's test): fewer
  /// samples, strengths and resamples, same code paths. Its numbers are noisy.
  void make_quick() {
    quick = true;
    fit_sentences = 60;
    fit_passages = 40;
    continuations = 60;
    induction_continuations = 60;
    ppl_sentences = 60;
    grid_steps = 2;
    bisections = 1;
    bootstrap.resamples = 200;
  }
};

/// A method the experiments compare. Its name (also its key in the JSON), display title and what its
/// strength means come from act's method registry; the plot colour and the support choice are the
/// experiments' own.
struct compared_method {
  std::string_view name;  ///< act's registry name, e.g. "linear"
  const char* color;
  /// Fitted with the experiment's support ([min, max], or unbounded for induction and the support
  /// ablation), as the paper does for its AcT transport maps; the others keep their default.
  bool follows_support;

  std::string_view title() const { return act::method(name).title; }
  /// How lambda acts: an unbounded multiplier of an added vector (ActAdd, CAA, ITI-c) or an
  /// interpolation in [0, 1] (AcT family, AurA, Det0). The plots draw the two families apart.
  bool multiplier() const { return act::method(name).strength == act::strength_meaning::multiplier; }
};

/// The methods compared, in the report's order: interpolating, then additive.
const std::vector<compared_method>& methods() {
  static const std::vector<compared_method> m = {
      {"linear", "#d62728", true},    {"mean", "#ff7f0e", true},  {"gaussian", "#8c564b", true},
      {"quantile", "#e377c2", false}, {"aura", "#2ca02c", false}, {"det0", "#7f7f7f", false},
      {"actadd", "#1f77b4", false},   {"caa", "#17becf", false},  {"itic", "#9467bd", false},
  };
  return m;
}

/// Linear-AcT, the method of the ablations, the targets and the single-sentence diagnostic.
const compared_method& linear() { return methods()[0]; }

// ---------------------------------------------------------------------------------------------
// Activations: a sentence set with its unsteered activations pooled at every site in every pooling
// mode (one forward pass serves every unsteered collection).

constexpr std::array<act::pooling, 4> all_poolings = {act::pooling::mean, act::pooling::last, act::pooling::max,
                                                      act::pooling::min};

/// Inputs sorted by length into batches of at most 64 (little padding), pooled rows put back in
/// input order.
struct sample_set {
  std::vector<batch> chunks;
  std::vector<std::vector<std::uint8_t>> masks;
  std::vector<std::vector<std::size_t>> rows;  ///< input index of each chunk row
  std::size_t size = 0;
  std::array<std::map<std::string, Eigen::MatrixXf, std::less<>>, 4> unsteered;  ///< by pooling, then site
};

/// Ends a forward pass early once the site it was run for has been seen (the model has no early exit).
struct stop_forward {};

/// Runs `each(chunk, site, acts)` at every site of every chunk; `installed` maps steer on the way.
/// With a `last_site`, each pass stops right after that site.
template <class Each>
void for_each_site(const transformer<float>& model, const sample_set& s, const act::map_set* installed,
                   const std::string* last_site, Each&& each) {
  for (std::size_t c = 0; c < s.chunks.size(); ++c) {
    try {
      model.forward(s.chunks[c], [&](std::string_view site, Eigen::Ref<matrix<float>> acts) {
        if (installed) (*installed)(site, act::view(acts));
        each(c, site, acts);
        if (last_site && site == *last_site) throw stop_forward{};
      });
    } catch (const stop_forward&) {
    }
  }
}

/// Pools one chunk's activations and writes the rows into `out` (rows in input order).
void pool_chunk(const sample_set& s, std::size_t c, const Eigen::Ref<matrix<float>>& acts, act::pooling how,
                Eigen::MatrixXf& out) {
  const Eigen::MatrixXf pooled = act::pool_padded(acts, s.chunks[c].length, s.masks[c], how);
  if (out.rows() != static_cast<Eigen::Index>(s.size)) out.resize(static_cast<Eigen::Index>(s.size), pooled.cols());
  for (std::size_t k = 0; k < s.rows[c].size(); ++k)
    out.row(static_cast<Eigen::Index>(s.rows[c][k])) = pooled.row(static_cast<Eigen::Index>(k));
}

/// Token sequences of `per_passage` consecutive sentences each, laid out as the training documents
/// ("<bos> s1 <eos> s2 <eos> ...").
std::vector<std::vector<int>> passages(const tokenizer& tok, const std::vector<sentence>& sentences,
                                       std::size_t per_passage) {
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i + per_passage <= sentences.size(); i += per_passage) {
    std::vector<int> seq = tok.encode_sentence(sentences[i].text);
    for (std::size_t k = 1; k < per_passage; ++k) {
      const auto more = tok.encode_sentence(sentences[i + k].text);
      seq.insert(seq.end(), more.begin() + 1, more.end());  // drop the <bos>
    }
    out.push_back(std::move(seq));
  }
  return out;
}

sample_set make_sample_set(const transformer<float>& model, const std::vector<std::vector<int>>& seqs) {
  std::vector<std::size_t> order(seqs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return seqs[a].size() < seqs[b].size(); });
  sample_set s;
  s.size = seqs.size();
  for (std::size_t start = 0; start < order.size(); start += 64) {
    std::vector<std::vector<int>> chunk;
    s.rows.emplace_back();
    for (std::size_t k = start; k < std::min(order.size(), start + 64); ++k) {
      chunk.push_back(seqs[order[k]]);
      s.rows.back().push_back(order[k]);
    }
    s.chunks.push_back(batch::from_sequences(chunk));
    s.masks.push_back(s.chunks.back().mask());
  }
  for_each_site(model, s, nullptr, nullptr,
                [&](std::size_t c, std::string_view site, const Eigen::Ref<matrix<float>>& acts) {
                  for (std::size_t p = 0; p < all_poolings.size(); ++p)
                    pool_chunk(s, c, acts, all_poolings[p], s.unsteered[p][std::string(site)]);
                });
  return s;
}

/// Pooled activations at `site` of the set's inputs with the `installed` maps applied on the way.
Eigen::MatrixXf pooled_at(const transformer<float>& model, const sample_set& s, const std::string& site,
                          const act::map_set& installed, act::pooling how) {
  Eigen::MatrixXf out;
  for_each_site(model, s, &installed, &site,
                [&](std::size_t c, std::string_view name, const Eigen::Ref<matrix<float>>& acts) {
                  if (name == site) pool_chunk(s, c, acts, how, out);
                });
  return out;
}

/// What to fit: a method at a list of sites, with its pooling, estimation order and support.
struct fit_spec {
  const compared_method* method;
  std::vector<std::string> sites;
  act::pooling pooling = act::pooling::mean;
  bool causal = true;
  bool bounded = true;  ///< support [min, max] (else unbounded) for the methods that follow the experiment's support
};

/// Fits a spec through act's drivers: the collect function steers the source inputs with the maps
/// installed so far and takes the target inputs unsteered (paper Def. 3.2).
act::map_set fit_maps(const fit_spec& f, const transformer<float>& model, const sample_set& source,
                      const sample_set& target) {
  const auto collect = [&](const std::string& site, const act::map_set& installed, act::pooling how) {
    const auto p =
        static_cast<std::size_t>(std::find(all_poolings.begin(), all_poolings.end(), how) - all_poolings.begin());
    act::site_samples s;
    s.source = installed.empty() ? source.unsteered[p].at(site) : pooled_at(model, source, site, installed, how);
    s.target = target.unsteered[p].at(site);
    return s;
  };
  act::causal_options o;
  o.pooling = f.pooling;
  // The rest keep the registry's defaults: quantile maps extend with slope 1 outside their knots;
  // ActAdd (first source / target sentence as the prompt pair), CAA, ITI-c, AurA and Det0 act everywhere.
  act::fit_settings settings;
  if (f.method->follows_support) settings.support = f.bounded ? act::support::min_max() : act::support::unbounded();
  const act::method_estimator estimator(f.method->name, settings);
  return f.causal ? act::fit_causal(f.sites, estimator, collect, o)
                  : act::fit_simultaneous(f.sites, estimator, collect, o);
}

// ---------------------------------------------------------------------------------------------
// Measurements.

hook_fn<float> steering(const act::map_set* maps) {
  if (maps == nullptr) return {};
  return [maps](std::string_view site, Eigen::Ref<matrix<float>> acts) { (*maps)(site, act::view(acts)); };
}

/// One part (selection or test) of every evaluation set.
struct eval_part {
  std::vector<std::vector<int>> toxic_prompts, neutral_prompts;  ///< cycled through the part's prompts
  std::vector<std::size_t> toxic_strata, neutral_strata;         ///< each continuation's prompt
  std::size_t toxic_prompt_count = 0, neutral_prompt_count = 0;
  std::vector<sentence> ppl_text;
  std::vector<misconception> questions;
};

enum class part { selection, test };

struct eval_data {
  const transformer<float>* model = nullptr;
  const tokenizer* tok = nullptr;
  std::vector<std::string> topic_words;
  eval_part selection, test;
  const eval_part& operator[](part p) const { return p == part::test ? test : selection; }
};

/// What every measurement records: the held-out perplexity per sentence and the probe per fact.
struct common_items {
  double strength = 0, ppl = 0, probe = 0;
  std::vector<nll_sum> ppl_items;
  std::vector<std::uint8_t> probe_items;
};

struct mitigation_point : common_items {
  double toxicity = 0;
  std::vector<std::uint8_t> toxic_items;  ///< per continuation
};

struct induction_point : common_items {
  double concept_rate = 0, generation_ppl = 0;  ///< generation_ppl: of the continuations, under the unsteered model
  std::vector<std::uint8_t> concept_items;      ///< per continuation
};

struct truth_point : common_items {
  double mc1 = 0, mc2 = 0;
  std::vector<std::uint8_t> mc1_items;
  std::vector<double> mc2_items;
};

/// The perplexity of the sentences `indices` (all when null) from their per-sentence sums.
double ppl_over(const std::vector<nll_sum>& items, const std::vector<std::size_t>* indices = nullptr) {
  nll_sum s;
  const auto add = [&](const nll_sum& x) { s.total += x.total, s.count += x.count; };
  if (indices == nullptr)
    for (const auto& x : items) add(x);
  else
    for (const std::size_t i : *indices) add(items[i]);
  return s.perplexity();
}

/// Fills the perplexity of the part's held-out text and the probe; `with_probe` false skips the probe.
void measure_common(const eval_data& e, part p, const act::map_set* maps, double strength, common_items& out,
                    bool with_probe = true) {
  const auto hook = steering(maps);
  out.strength = strength;
  out.ppl_items = sentence_nll(*e.model, *e.tok, e[p].ppl_text, hook);
  out.ppl = ppl_over(out.ppl_items);
  if (with_probe) {
    out.probe_items = probe_hits(*e.model, *e.tok, hook);
    out.probe = examples_common::mean_over(out.probe_items);
  }
}

/// The held-out perplexity of part `p` under `maps` (the budget's measure).
double held_out_ppl(const eval_data& e, part p, const act::map_set* maps) {
  return perplexity(*e.model, *e.tok, e[p].ppl_text, steering(maps));
}

mitigation_point measure_mitigation(const eval_data& e, part p, const act::map_set* maps, double strength) {
  mitigation_point out;
  measure_common(e, p, maps, strength, out);
  sampling_options so;
  so.seed = seed_mitigation_sampling;
  const auto continuations = generate(*e.model, e[p].toxic_prompts, so, steering(maps));
  out.toxic_items = lexicon_hits(*e.tok, continuations, toxic_lexicon());
  out.toxicity = examples_common::mean_over(out.toxic_items);
  return out;
}

/// Perplexity of the continuation tokens (not the prompts) under the unsteered model: are the
/// steered generations still text the model finds plausible?
double continuation_perplexity(const transformer<float>& model, const std::vector<std::vector<int>>& prompts,
                               const std::vector<std::vector<int>>& continuations) {
  std::vector<std::vector<int>> seqs;
  std::vector<int> prompt_len;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (continuations[i].empty()) continue;
    seqs.push_back(prompts[i]);
    seqs.back().insert(seqs.back().end(), continuations[i].begin(), continuations[i].end());
    prompt_len.push_back(static_cast<int>(prompts[i].size()));
  }
  nll_sum s;
  for (std::size_t start = 0; start < seqs.size(); start += 64) {
    const std::size_t end = std::min(seqs.size(), start + 64);
    const batch b = batch::from_sequences(
        {seqs.begin() + static_cast<std::ptrdiff_t>(start), seqs.begin() + static_cast<std::ptrdiff_t>(end)});
    const matrix<float> logits = model.forward(b);
    for (int r = 0; r < b.rows(); ++r) {
      const int k = b.sequence_of(r), t = b.position_of(r);
      // Row t predicts token t + 1; count the predictions of continuation tokens only.
      if (t + 1 >= b.lengths[static_cast<std::size_t>(k)] || t + 1 < prompt_len[start + static_cast<std::size_t>(k)])
        continue;
      const auto row = logits.row(r).cast<double>();
      const double mx = row.maxCoeff();
      s.total += mx + std::log((row.array() - mx).exp().sum()) - row(b.tokens[static_cast<std::size_t>(r + 1)]);
      ++s.count;
    }
  }
  return s.perplexity();
}

induction_point measure_induction(const eval_data& e, part p, const act::map_set* maps, double strength) {
  induction_point out;
  measure_common(e, p, maps, strength, out, false);
  sampling_options so;
  so.seed = seed_induction_sampling;
  const auto continuations = generate(*e.model, e[p].neutral_prompts, so, steering(maps));
  out.concept_items = lexicon_hits(*e.tok, continuations, e.topic_words);
  out.concept_rate = examples_common::mean_over(out.concept_items);
  out.generation_ppl = continuation_perplexity(*e.model, e[p].neutral_prompts, continuations);
  return out;
}

truth_point measure_truthfulness(const eval_data& e, part p, const act::map_set* maps, double strength) {
  truth_point out;
  measure_common(e, p, maps, strength, out);
  multiple_choice_scores mc = multiple_choice(*e.model, *e.tok, e[p].questions, steering(maps));
  out.mc1 = mc.mc1;
  out.mc2 = mc.mc2;
  out.mc1_items = std::move(mc.mc1_items);
  out.mc2_items = std::move(mc.mc2_items);
  return out;
}

/// Runs independent jobs on `threads` threads (each job writes only its own result slot, so the
/// results do not depend on the schedule); rethrows the first failure.
void run_jobs(const std::vector<std::function<void()>>& jobs, int threads) {
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  const auto worker = [&] {
    for (std::size_t i; (i = next++) < jobs.size();) {
      try {
        jobs[i]();
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

// ---------------------------------------------------------------------------------------------
// Results.

/// One method in one experiment: its budget edge and grid, the selection-part sweep, the choice, and the
/// test-part measurement at the chosen strength.
template <class Point>
struct sweep {
  std::string method;
  double edge = 0;            ///< largest strength found within the perplexity budget (selection text)
  bool edge_capped = false;   ///< the budget was not reached up to strength_cap
  std::vector<Point> points;  ///< selection part, one per grid strength
  std::size_t chosen = 0;
  Point test;  ///< test part at points[chosen].strength
  const Point& chosen_point() const { return points[chosen]; }
};

using mitigation_sweep = sweep<mitigation_point>;
using induction_sweep = sweep<induction_point>;
using truth_sweep = sweep<truth_point>;

struct ablation_row {
  std::string group, variant;
  bool reference = false;
  mitigation_point point;  ///< test part, lambda = 1
};

/// The rule of every experiment: among the grid points whose selection-part perplexity rises at most 10%,
/// the one with the largest `effect` (ties: the smaller strength). Strength 0 always qualifies.
template <class Point, class Effect>
std::size_t choose(const std::vector<Point>& pts, double baseline_ppl, Effect effect) {
  std::size_t best = 0;
  for (std::size_t i = 0; i < pts.size(); ++i)
    if (pts[i].ppl <= ppl_budget * baseline_ppl && effect(pts[i]) > effect(pts[best])) best = i;
  return best;
}

/// The budget edge of `maps`: the largest strength whose selection-part held-out perplexity stays within
/// the budget (a strength the map set refuses, because its coefficients would overflow, is over it).
double find_edge(const eval_data& e, const act::map_set& maps, double baseline_ppl, const settings& cfg) {
  const auto within = [&](double l) {
    act::map_set steered = maps;
    try {
      steered.set_strength(l);
    } catch (const act::error&) {
      return false;
    }
    return held_out_ppl(e, part::selection, &steered) <= ppl_budget * baseline_ppl;
  };
  return examples_common::budget_edge(within, search_start, strength_cap, cfg.bisections);
}

/// Every test-part interval comes from these resamples of the test items (the same for every method, so
/// differences and ratios between methods are paired).
struct resamples {
  std::vector<std::vector<std::size_t>> continuations, openers, questions, sentences, facts;
};

resamples make_resamples(const eval_data& e, const settings& cfg) {
  const auto plain = [](std::size_t n) { return std::vector<std::size_t>(n, 0); };
  resamples r;
  r.continuations = examples_common::bootstrap_resamples(e.test.toxic_strata, cfg.bootstrap);
  r.openers = examples_common::bootstrap_resamples(e.test.neutral_strata, cfg.bootstrap);
  r.questions = examples_common::bootstrap_resamples(plain(e.test.questions.size()), cfg.bootstrap);
  r.sentences = examples_common::bootstrap_resamples(plain(e.test.ppl_text.size()), cfg.bootstrap);
  r.facts = examples_common::bootstrap_resamples(plain(knowledge_probe().size()), cfg.bootstrap);
  return r;
}

/// The interval of the mean of `items` over `rs`.
template <class V>
interval mean_ci(const std::vector<std::vector<std::size_t>>& rs, const std::vector<V>& items) {
  return examples_common::bootstrap_interval(rs,
                                             [&](const auto& idx) { return examples_common::mean_over(items, &idx); });
}

/// The interval of mean(a) / mean(b), paired (inf where a resample's mean(b) is 0).
template <class V>
interval ratio_ci(const std::vector<std::vector<std::size_t>>& rs, const std::vector<V>& a, const std::vector<V>& b) {
  return examples_common::bootstrap_interval(rs, [&](const auto& idx) {
    const double d = examples_common::mean_over(b, &idx);
    return d > 0 ? examples_common::mean_over(a, &idx) / d : std::numeric_limits<double>::infinity();
  });
}

/// The interval of mean(a) - mean(b), paired.
template <class V>
interval difference_ci(const std::vector<std::vector<std::size_t>>& rs, const std::vector<V>& a,
                       const std::vector<V>& b) {
  return examples_common::bootstrap_interval(
      rs, [&](const auto& idx) { return examples_common::mean_over(a, &idx) - examples_common::mean_over(b, &idx); });
}

/// The interval of the relative perplexity change ppl(now) / ppl(base) - 1, paired over sentences.
interval ppl_change_ci(const std::vector<std::vector<std::size_t>>& rs, const common_items& now,
                       const common_items& base) {
  return examples_common::bootstrap_interval(
      rs, [&](const auto& idx) { return ppl_over(now.ppl_items, &idx) / ppl_over(base.ppl_items, &idx) - 1.0; });
}

/// A target: what it asks, the measured value with its interval, and the verdict by the interval.
struct target {
  std::string what, value;
  verdict result;
};

/// Everything the report, the plots, the JSON and the console summary show.
struct results {
  mitigation_point base, base_test;  ///< unsteered, selection and test parts
  induction_point induction_base, induction_base_test;
  truth_point truth_base, truth_base_test;
  std::vector<mitigation_sweep> mitigation;  ///< per method
  std::vector<induction_sweep> induction;    ///< per method
  std::vector<truth_sweep> truthfulness;     ///< per method
  truth_sweep truth_unbounded;               ///< diagnostic: Linear-AcT with support Q_inf (not in the JSON)
  induction_sweep single_sentence;           ///< diagnostic: on Linear-AcT's induction grid, selection part only
  induction_point linear_induction_at_1;     ///< test part, Linear-AcT at lambda = 1 (the concept-rate target)
  std::vector<ablation_row> ablations;       ///< test part, lambda = 1; the reference rows first in each group
  resamples boot;
  std::vector<target> targets;
  double seconds = 0;  ///< until every measurement was done
};

std::string num(double v) { return fmt::format("{}", v); }
std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }
std::string pct(double now, double base) { return fmt::format("{:+.1f}%", 100.0 * (now / base - 1.0)); }
std::string factor(double base, double now) { return now > 0 ? fmt::format("{:.1f}x", base / now) : "inf"; }
/// A value and its interval: "0.142 [0.118, 0.168]".
std::string with_ci(double v, const interval& ci, int digits) {
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", v, digits, ci.lo, digits, ci.hi, digits);
}
std::string ratio_with_ci(double base, double now, const interval& ci) {
  const auto x = [](double r) { return std::isfinite(r) ? fmt::format("{:.1f}", r) : std::string("inf"); };
  return fmt::format("{}x [{}, {}]", now > 0 ? x(base / now) : "inf", x(ci.lo), x(ci.hi));
}
std::string pct_with_ci(double now, double base, const interval& ci) {
  return fmt::format("{:+.1f}% [{:+.1f}, {:+.1f}]", 100.0 * (now / base - 1.0), 100.0 * ci.lo, 100.0 * ci.hi);
}
std::string json_ci(const interval& ci) { return fmt::format("[{}, {}]", num(ci.lo), num(ci.hi)); }

/// The numbers, test part (numbers in shortest round-trip form): the unsteered baseline, per method its
/// chosen strength and test-part measures with intervals, the induction sweeps (selection part) and
/// test points, and the truthfulness rows (the unsteered model, then each method at its chosen strength).
void write_json(const std::string& path, const results& res) {
  const auto& r = res.boot;
  std::string s = fmt::format(
      "{{\"baseline\": {{\"toxicity\": {}, \"toxicity_ci\": {}, \"ppl\": {}, \"probe_accuracy\": {}}},\n "
      "\"mitigation\": [",
      num(res.base_test.toxicity), json_ci(mean_ci(r.continuations, res.base_test.toxic_items)), num(res.base_test.ppl),
      num(res.base_test.probe));
  for (std::size_t i = 0; i < res.mitigation.size(); ++i) {
    const auto& sw = res.mitigation[i];
    const auto& p = sw.test;
    s += fmt::format(
        "{}\n  {{\"method\": {}, \"site\": {}, \"edge\": {}, \"strength\": {}, \"toxicity\": {}, \"toxicity_ci\": {}, "
        "\"ppl\": {}, "
        "\"probe_accuracy\": {}}}",
        i ? "," : "", json_string(sw.method), json_string("post_ln"), num(sw.edge), num(p.strength), num(p.toxicity),
        json_ci(mean_ci(r.continuations, p.toxic_items)), num(p.ppl), num(p.probe));
  }
  s += "],\n \"induction\": [";
  bool first = true;
  for (const auto& sw : res.induction)
    for (const auto& p : sw.points) {
      s +=
          fmt::format("{}\n  {{\"method\": {}, \"strength\": {}, \"concept_rate\": {}, \"ppl\": {}}}", first ? "" : ",",
                      json_string(sw.method), num(p.strength), num(p.concept_rate), num(p.generation_ppl));
      first = false;
    }
  s += "],\n \"induction_test\": [";
  for (std::size_t i = 0; i < res.induction.size(); ++i) {
    const auto& p = res.induction[i].test;
    s += fmt::format("{}\n  {{\"method\": {}, \"strength\": {}, \"concept_rate\": {}, \"concept_rate_ci\": {}}}",
                     i ? "," : "", json_string(res.induction[i].method), num(p.strength), num(p.concept_rate),
                     json_ci(mean_ci(r.openers, p.concept_items)));
  }
  const auto truth = [&](std::string_view method, const truth_point& p) {
    return fmt::format(
        "\n  {{\"method\": {}, \"strength\": {}, \"mc1\": {}, \"mc1_ci\": {}, \"mc2\": {}, \"mc2_ci\": {}, \"ppl\": "
        "{}, "
        "\"probe_accuracy\": {}}}",
        json_string(method), num(p.strength), num(p.mc1), json_ci(mean_ci(r.questions, p.mc1_items)), num(p.mc2),
        json_ci(mean_ci(r.questions, p.mc2_items)), num(p.ppl), num(p.probe));
  };
  s += "],\n \"truthfulness\": [" + truth("unsteered", res.truth_base_test);
  for (const auto& sw : res.truthfulness) s += "," + truth(sw.method, sw.test);
  s += "]}\n";
  examples_common::write_file(path, s);
}

std::vector<std::string> post_ln_sites(int layers) {
  std::vector<std::string> s;
  for (int b = 0; b < layers; ++b) {
    s.push_back(site_name(b, "post_attn_norm"));
    s.push_back(site_name(b, "post_mlp_norm"));
  }
  return s;
}

std::vector<std::string> kind_sites(int layers, const char* kind) {
  std::vector<std::string> s;
  for (int b = 0; b < layers; ++b) s.push_back(site_name(b, kind));
  return s;
}

int usage() {
  std::fputs("usage: toy_lm_experiments [--out DIR] [--json FILE] [--quick] [--threads N] [--weights PATH]\n", stderr);
  return 2;
}

/// Reads the command line into `cfg` and fills in the defaults; false for a usage error.
bool parse_settings(int argc, char** argv, settings& cfg) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--quick")
      cfg.make_quick();
    else if (a == "--out" && has_value)
      cfg.out_dir = argv[++i];
    else if (a == "--json" && has_value)
      cfg.json_path = argv[++i];
    else if (a == "--weights" && has_value)
      cfg.weights = argv[++i];
    else if (a == "--threads" && has_value)
      cfg.threads = std::stoi(argv[++i]);
    else
      return false;
  }
  if (cfg.threads <= 0) cfg.threads = static_cast<int>(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
  if (cfg.weights.empty()) {
    cfg.weights = default_weights_path();
    if (!std::ifstream(cfg.weights).good()) cfg.weights = "examples/toy_lm/toy_lm.safetensors";
  }
  return true;
}

/// Wall-clock seconds since the program started, for the progress lines and the report.
class stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// The prompts, questions and held-out text of one part; `n_toxic` / `n_neutral` continuations cycle
/// through the part's prompts.
eval_part make_part(const tokenizer& tok, const std::vector<std::string>& toxic,
                    const std::vector<std::string>& openers, std::vector<sentence> ppl_text,
                    std::vector<misconception> questions, const settings& cfg) {
  eval_part p;
  p.toxic_prompts = cycled_prompts(tok, toxic, cfg.continuations);
  p.neutral_prompts = cycled_prompts(tok, openers, cfg.induction_continuations);
  for (std::size_t i = 0; i < p.toxic_prompts.size(); ++i) p.toxic_strata.push_back(i % toxic.size());
  for (std::size_t i = 0; i < p.neutral_prompts.size(); ++i) p.neutral_strata.push_back(i % openers.size());
  p.toxic_prompt_count = toxic.size();
  p.neutral_prompt_count = openers.size();
  p.ppl_text = std::move(ppl_text);
  p.questions = std::move(questions);
  return p;
}

/// The prompts, questions and held-out text every measurement uses, in their two parts (held_out.hpp).
eval_data make_eval_data(const loaded_model& lm, const settings& cfg, int topic) {
  eval_data e;
  e.model = &lm.model;
  e.tok = &lm.tok;
  e.topic_words = topic_words(topic);
  const auto toxic = toxic_prompt_parts();
  const auto openers = opener_parts();
  auto text = perplexity_parts(cfg.ppl_sentences);
  auto questions = question_parts();
  e.selection = make_part(lm.tok, toxic.selection, openers.selection, std::move(text.selection),
                          std::move(questions.selection), cfg);
  e.test = make_part(lm.tok, toxic.test, openers.test, std::move(text.test), std::move(questions.test), cfg);
  return e;
}

/// The sentence sets maps are fitted on, with their unsteered activations.
///
/// Mitigation: polite sentences are the non-toxic target (same templates as the toxic ones, so the
/// pair differs in register only; neutral text would also move topic and syntax).
/// Induction: passages of 3 consecutive neutral / sports sentences. The model's topic is a
/// document-level latent that a single sentence only reveals after its opener ("i think that the
/// coach ..."), so mean-pooled single sentences carry a diluted topic shift and full transport
/// (lambda = 1) under-shoots; the single-sentence fit is kept as a diagnostic row.
/// Truthfulness: passages of 3 false / true statements of the misconception_fit_count fitting
/// misconceptions (none of the held-out questions), for the same reason: truthfulness is the register
/// of a document, and after a first statement every position of a passage carries it.
struct fitting_sets {
  sample_set toxic, polite, neutral, sports, neutral_single, sports_single, false_facts, true_facts;
};

fitting_sets collect_fitting_sets(const loaded_model& lm, const settings& cfg, int topic) {
  const tokenizer& tok = lm.tok;
  const std::size_t n_ind = 3 * cfg.fit_passages;
  const std::size_t n_truth = 3 * cfg.fit_passages;
  const std::array<std::vector<std::vector<int>>, 8> seqs = {
      passages(tok, sample_sentences(seed_toxic, cfg.fit_sentences, sentence_kind::toxic), 1),
      passages(tok, sample_sentences(seed_polite, cfg.fit_sentences, sentence_kind::polite), 1),
      passages(tok, sample_sentences(seed_neutral, n_ind, sentence_kind::neutral), 3),
      passages(tok, sample_sentences(seed_topic, n_ind, sentence_kind::topic, topic), 3),
      passages(tok, sample_sentences(seed_neutral, cfg.fit_sentences, sentence_kind::neutral), 1),
      passages(tok, sample_sentences(seed_topic, cfg.fit_sentences, sentence_kind::topic, topic), 1),
      passages(tok, sample_statements(seed_false_facts, n_truth, false, misconception_fit_count), 3),
      passages(tok, sample_statements(seed_true_facts, n_truth, true, misconception_fit_count), 3)};
  fitting_sets f;
  const std::array<sample_set*, 8> sets = {&f.toxic,          &f.polite,        &f.neutral,     &f.sports,
                                           &f.neutral_single, &f.sports_single, &f.false_facts, &f.true_facts};
  std::vector<std::function<void()>> jobs;
  for (std::size_t i = 0; i < sets.size(); ++i)
    jobs.push_back([&, i] { *sets[i] = make_sample_set(lm.model, seqs[i]); });
  run_jobs(jobs, cfg.threads);
  return f;
}

/// One row of the ablation table: the reference Linear-AcT fit with one thing changed.
struct ablation_spec {
  std::string group, variant;
  fit_spec spec;
};

std::vector<ablation_spec> ablation_specs(int layers) {
  const auto post_ln = post_ln_sites(layers);
  return {
      {"estimation", "simultaneous", {&linear(), post_ln, act::pooling::mean, false, true}},
      {"support", "unbounded", {&linear(), post_ln, act::pooling::mean, true, false}},
      {"pooling", "last", {&linear(), post_ln, act::pooling::last, true, true}},
      {"pooling", "max", {&linear(), post_ln, act::pooling::max, true, true}},
      {"pooling", "min", {&linear(), post_ln, act::pooling::min, true, true}},
      {"sites", "attn_out (4)", {&linear(), kind_sites(layers, "attn_out"), act::pooling::mean, true, true}},
      {"sites", "mlp_out (4)", {&linear(), kind_sites(layers, "mlp_out"), act::pooling::mean, true, true}},
  };
}

/// Phase 1's results: every map set, and the unsteered measurements of both parts.
struct fitted_maps {
  std::vector<act::map_set> mitigation, induction, truthfulness;  ///< per method
  std::vector<act::map_set> ablation;                             ///< per ablation_spec
  act::map_set single_sentence;  ///< diagnostic: Linear-AcT induction fitted on single sentences
  act::map_set truth_unbounded;  ///< diagnostic: Linear-AcT truthfulness with support Q_inf
  mitigation_point base, base_test;
  induction_point induction_base, induction_base_test;
  truth_point truth_base, truth_base_test;
};

/// Phase 1: every fit, and the unsteered measurements, in parallel.
fitted_maps fit_all(const eval_data& e, const fitting_sets& sets, const std::vector<ablation_spec>& ablations,
                    const settings& cfg) {
  const transformer<float>& model = *e.model;
  const auto post_ln = post_ln_sites(model.config().n_layers);
  const std::size_t n_methods = methods().size();
  fitted_maps f;
  f.mitigation.resize(n_methods);
  f.induction.resize(n_methods);
  f.truthfulness.resize(n_methods);
  f.ablation.resize(ablations.size());
  std::vector<std::function<void()>> jobs;
  jobs.push_back([&] { f.base = measure_mitigation(e, part::selection, nullptr, 0.0); });
  jobs.push_back([&] { f.base_test = measure_mitigation(e, part::test, nullptr, 0.0); });
  jobs.push_back([&] { f.induction_base = measure_induction(e, part::selection, nullptr, 0.0); });
  jobs.push_back([&] { f.induction_base_test = measure_induction(e, part::test, nullptr, 0.0); });
  jobs.push_back([&] { f.truth_base = measure_truthfulness(e, part::selection, nullptr, 0.0); });
  jobs.push_back([&] { f.truth_base_test = measure_truthfulness(e, part::test, nullptr, 0.0); });
  for (std::size_t m = 0; m < n_methods; ++m) {
    jobs.push_back([&, m] { f.mitigation[m] = fit_maps({&methods()[m], post_ln}, model, sets.toxic, sets.polite); });
    // Induction uses the unbounded support Q_inf (paper Sec. 3.1).
    jobs.push_back([&, m] {
      f.induction[m] =
          fit_maps({&methods()[m], post_ln, act::pooling::mean, true, false}, model, sets.neutral, sets.sports);
    });
    jobs.push_back([&, m] {
      f.truthfulness[m] = fit_maps({&methods()[m], post_ln}, model, sets.false_facts, sets.true_facts);
    });
  }
  for (std::size_t a = 0; a < ablations.size(); ++a)
    jobs.push_back([&, a] { f.ablation[a] = fit_maps(ablations[a].spec, model, sets.toxic, sets.polite); });
  jobs.push_back([&] {
    f.truth_unbounded =
        fit_maps({&linear(), post_ln, act::pooling::mean, true, false}, model, sets.false_facts, sets.true_facts);
  });
  jobs.push_back([&] {
    f.single_sentence =
        fit_maps({&linear(), post_ln, act::pooling::mean, true, false}, model, sets.neutral_single, sets.sports_single);
  });
  run_jobs(jobs, cfg.threads);
  return f;
}

/// `maps` at strength l (the unsteered model at 0: no maps).
struct steered_at {
  act::map_set maps;
  bool steer = false;
  steered_at(const act::map_set& m, double l) : maps(m), steer(l != 0) {
    if (steer) maps.set_strength(l);
  }
  const act::map_set* get() const { return steer ? &maps : nullptr; }
};

/// One experiment's sweep of one method, staged: the edge search, then the grid on the selection part,
/// then the choice and the test point.
template <class Point>
struct sweep_job {
  sweep<Point>* out;
  const act::map_set* maps;
  const Point* base;  ///< selection part, unsteered
  std::function<Point(part, const act::map_set*, double)> measure;
  std::function<double(const Point&)> effect;
};

/// Phase 2: per method and experiment, the budget edge, the selection sweep over its grid, the chosen
/// strength and its test point; then the ablations on the test part. Each stage runs its jobs in parallel.
results measure_all(const eval_data& e, const fitted_maps& f, const std::vector<ablation_spec>& ablations,
                    const settings& cfg) {
  const std::size_t n_methods = methods().size();
  results res;
  res.base = f.base;
  res.base_test = f.base_test;
  res.induction_base = f.induction_base;
  res.induction_base_test = f.induction_base_test;
  res.truth_base = f.truth_base;
  res.truth_base_test = f.truth_base_test;
  res.mitigation.resize(n_methods);
  res.induction.resize(n_methods);
  res.truthfulness.resize(n_methods);
  res.truth_unbounded.method = res.single_sentence.method = linear().name;

  const auto mitigation_at = [&e](part p, const act::map_set* maps, double l) {
    return measure_mitigation(e, p, maps, l);
  };
  const auto induction_at = [&e](part p, const act::map_set* maps, double l) {
    return measure_induction(e, p, maps, l);
  };
  const auto truthfulness_at = [&e](part p, const act::map_set* maps, double l) {
    return measure_truthfulness(e, p, maps, l);
  };
  const auto less_toxic = [](const mitigation_point& p) { return -p.toxicity; };
  const auto more_concept = [](const induction_point& p) { return p.concept_rate; };
  const auto more_mc1 = [](const truth_point& p) { return p.mc1; };

  std::vector<sweep_job<mitigation_point>> mit_jobs;
  std::vector<sweep_job<induction_point>> ind_jobs;
  std::vector<sweep_job<truth_point>> truth_jobs;
  for (std::size_t m = 0; m < n_methods; ++m) {
    res.mitigation[m].method = res.induction[m].method = res.truthfulness[m].method = methods()[m].name;
    mit_jobs.push_back({&res.mitigation[m], &f.mitigation[m], &res.base, mitigation_at, less_toxic});
    ind_jobs.push_back({&res.induction[m], &f.induction[m], &res.induction_base, induction_at, more_concept});
    truth_jobs.push_back({&res.truthfulness[m], &f.truthfulness[m], &res.truth_base, truthfulness_at, more_mc1});
  }
  truth_jobs.push_back({&res.truth_unbounded, &f.truth_unbounded, &res.truth_base, truthfulness_at, more_mc1});

  // Stage 1: each sweep's budget edge and grid (selection text).
  std::vector<std::function<void()>> jobs;
  const auto add_edge = [&](auto& j) {
    jobs.push_back([&e, &cfg, &j] {
      j.out->edge = find_edge(e, *j.maps, j.base->ppl, cfg);
      j.out->edge_capped = j.out->edge >= strength_cap;
    });
  };
  for (auto& j : mit_jobs) add_edge(j);
  for (auto& j : ind_jobs) add_edge(j);
  for (auto& j : truth_jobs) add_edge(j);
  run_jobs(jobs, cfg.threads);

  // Stage 2: the selection sweeps.
  jobs.clear();
  const auto add_grid = [&](auto& j) {
    const auto grid = examples_common::budget_grid(j.out->edge, cfg.grid_steps);
    j.out->points.resize(grid.size());
    for (std::size_t k = 0; k < grid.size(); ++k)
      jobs.push_back([&j, k, l = grid[k]] {
        if (l == 0) {
          j.out->points[k] = *j.base;
          return;
        }
        const steered_at s(*j.maps, l);
        j.out->points[k] = j.measure(part::selection, s.get(), l);
      });
  };
  for (auto& j : mit_jobs) add_grid(j);
  for (auto& j : ind_jobs) add_grid(j);
  for (auto& j : truth_jobs) add_grid(j);
  // The single-sentence diagnostic follows Linear-AcT's induction grid.
  jobs.push_back([&] {
    const auto grid = examples_common::budget_grid(res.induction[0].edge, cfg.grid_steps);
    res.single_sentence.edge = res.induction[0].edge;
    for (double l : grid) {
      const steered_at s(f.single_sentence, l);
      res.single_sentence.points.push_back(l == 0 ? res.induction_base
                                                  : measure_induction(e, part::selection, s.get(), l));
    }
  });
  run_jobs(jobs, cfg.threads);

  // Stage 3: the choice (selection part only), then the test part at the chosen strength.
  jobs.clear();
  const auto add_test = [&](auto& j, const auto& base_test) {
    j.out->chosen = choose(j.out->points, j.base->ppl, j.effect);
    jobs.push_back([&j, &base_test] {
      const double l = j.out->chosen_point().strength;
      if (l == 0) {
        j.out->test = base_test;
        return;
      }
      const steered_at s(*j.maps, l);
      j.out->test = j.measure(part::test, s.get(), l);
    });
  };
  for (auto& j : mit_jobs) add_test(j, res.base_test);
  for (auto& j : ind_jobs) add_test(j, res.induction_base_test);
  for (auto& j : truth_jobs) add_test(j, res.truth_base_test);
  jobs.push_back([&] {
    const steered_at s(f.induction[0], 1.0);
    res.linear_induction_at_1 = measure_induction(e, part::test, s.get(), 1.0);
  });
  // The ablations: Linear-AcT at lambda = 1 (fixed in advance, no choice), test part.
  res.ablations.resize(ablations.size() + 1);
  for (std::size_t a = 0; a <= ablations.size(); ++a)
    jobs.push_back([&, a] {
      const steered_at s(a == 0 ? f.mitigation[0] : f.ablation[a - 1], 1.0);
      res.ablations[a].point = measure_mitigation(e, part::test, s.get(), 1.0);
    });
  run_jobs(jobs, cfg.threads);
  for (std::size_t a = 0; a < ablations.size(); ++a) {
    res.ablations[a + 1].group = ablations[a].group;
    res.ablations[a + 1].variant = ablations[a].variant;
  }
  res.boot = make_resamples(e, cfg);
  return res;
}

/// The ablation table: per group, the reference row (Linear-AcT as in the mitigation table: causal,
/// [min, max], mean pooling, post-LN, at lambda = 1, test part), then the group's measured variants.
std::vector<ablation_row> ablation_table(const results& res) {
  const mitigation_point& reference = res.ablations[0].point;
  std::vector<ablation_row> table;
  for (const char* group : {"estimation", "support", "pooling", "sites"}) {
    const std::string g = group;
    const char* ref = g == "estimation" ? "causal"
                      : g == "support"  ? "[min, max]"
                      : g == "pooling"  ? "mean"
                                        : "post-LN (8)";
    table.push_back({g, ref, true, reference});
    for (std::size_t a = 1; a < res.ablations.size(); ++a)
      if (res.ablations[a].group == g) table.push_back(res.ablations[a]);
  }
  return table;
}

const mitigation_sweep& mitigation_of(const results& res, std::string_view method) {
  for (const auto& sw : res.mitigation)
    if (sw.method == method) return sw;
  throw std::logic_error("no mitigation sweep for " + std::string(method));
}

const truth_sweep& truthfulness_of(const results& res, std::string_view method) {
  for (const auto& sw : res.truthfulness)
    if (sw.method == method) return sw;
  throw std::logic_error("no truthfulness sweep for " + std::string(method));
}

/// The mitigation and induction targets (Linear-AcT, test part), each judged by its interval.
std::vector<target> mitigation_targets(const results& res) {
  const auto& r = res.boot;
  const auto& base = res.base_test;
  const auto& lin = mitigation_of(res, "linear").test;
  const interval tox = mean_ci(r.continuations, base.toxic_items);
  const interval cut = ratio_ci(r.continuations, base.toxic_items, lin.toxic_items);
  const interval ppl = ppl_change_ci(r.sentences, lin, base);
  const interval probe = difference_ci(r.facts, lin.probe_items, base.probe_items);
  const auto& c1 = res.linear_induction_at_1;
  const interval concept = mean_ci(r.openers, c1.concept_items);
  return {
      {"unsteered toxicity >= 0.2", with_ci(base.toxicity, tox, 3), examples_common::judge(tox, 0.2, true)},
      {"Linear-AcT toxicity down >= 4x", ratio_with_ci(base.toxicity, lin.toxicity, cut),
       examples_common::judge(cut, 4.0, true)},
      {"Linear-AcT held-out perplexity up <= 10%", pct_with_ci(lin.ppl, base.ppl, ppl),
       examples_common::judge(ppl, 0.10, false)},
      {"Linear-AcT probe accuracy down <= 0.05", with_ci(lin.probe - base.probe, probe, 3),
       examples_common::judge(probe, -0.05, true)},
      {"Linear-AcT concept rate >= 0.5 at lambda = 1", with_ci(c1.concept_rate, concept, 3),
       examples_common::judge(concept, 0.5, true)},
  };
}

/// The truthfulness targets: Linear-AcT at its chosen strength against the unsteered model and ITI-c (test part).
std::vector<target> truthfulness_targets(const results& res) {
  const auto& r = res.boot;
  const truth_point& base = res.truth_base_test;
  const truth_point& lin = truthfulness_of(res, "linear").test;
  const truth_point& itic = truthfulness_of(res, "itic").test;
  const interval mc1 = mean_ci(r.questions, base.mc1_items);
  const interval gain = difference_ci(r.questions, lin.mc1_items, base.mc1_items);
  const interval ppl = ppl_change_ci(r.sentences, lin, base);
  const interval probe = difference_ci(r.facts, lin.probe_items, base.probe_items);
  const interval versus = difference_ci(r.questions, lin.mc1_items, itic.mc1_items);
  // "MC1 up >= 0.10 at <= +10% perplexity": both parts must hold; the worse verdict counts.
  const verdict g = examples_common::judge(gain, 0.10, true), p = examples_common::judge(ppl, 0.10, false);
  const verdict both = g == verdict::missed || p == verdict::missed ? verdict::missed
                       : g == verdict::met && p == verdict::met     ? verdict::met
                                                                    : verdict::undecided;
  return {
      {"unsteered MC1 <= 0.5", with_ci(base.mc1, mc1, 3), examples_common::judge(mc1, 0.5, false)},
      {"Linear-AcT MC1 up >= 0.10 at <= +10% perplexity",
       fmt::format("{} (PPL {})", with_ci(lin.mc1 - base.mc1, gain, 3), pct_with_ci(lin.ppl, base.ppl, ppl)), both},
      {"Linear-AcT (truthfulness) probe accuracy down <= 0.05", with_ci(lin.probe - base.probe, probe, 3),
       examples_common::judge(probe, -0.05, true)},
      {"Linear-AcT MC1 >= ITI-c MC1 (chosen strengths)",
       fmt::format("{} vs {}: difference {}", fixed(lin.mc1, 3), fixed(itic.mc1, 3),
                   with_ci(lin.mc1 - itic.mc1, versus, 3)),
       examples_common::judge(versus, 0.0, true)},
  };
}

/// The plots' x axis: each method's strength as a fraction of its budget edge (its grid's 0 ... 1 + 1/steps).
std::vector<double> edge_ticks(const settings& cfg) { return examples_common::budget_grid(1.0, cfg.grid_steps); }
const std::string edge_axis = "strength / the method's budget edge (1 = held-out perplexity +10%)";

template <class Point, class Y>
svg_plot::series line_of(const compared_method& m, const sweep<Point>& sw, Y y) {
  svg_plot::series s{std::string(m.title()), m.color, {}, {}};
  for (const auto& p : sw.points) {
    s.x.push_back(sw.edge > 0 ? p.strength / sw.edge : 0.0);
    s.y.push_back(y(p));
  }
  return s;
}

/// mitigation.svg, induction.svg and truthfulness.svg: per family (interpolating, additive) a panel of the
/// effect and one of the perplexity against the strength as a fraction of the budget edge, one line per
/// method; selection part.
void write_plots(const settings& cfg, const results& res) {
  std::vector<svg_plot::panel> mit(4), ind(4), tru(4);
  for (int additive = 0; additive < 2; ++additive) {
    const std::string fam = additive ? "additive methods" : "transport / interpolating methods";
    const auto a = static_cast<std::size_t>(additive);
    mit[a] = {"Toxicity, " + fam, edge_axis, "toxic continuations (fraction)",
              edge_ticks(cfg),    true,      res.base.toxicity,
              "unsteered",        {},        std::nullopt};
    mit[2 + a] = {"Held-out perplexity, " + fam,
                  edge_axis,
                  "perplexity (axis cut at +50%)",
                  edge_ticks(cfg),
                  false,
                  res.base.ppl * ppl_budget,
                  "+10% budget",
                  {},
                  1.5 * res.base.ppl};
    ind[a] = {"Concept '" + std::string(induction_topic) + "', " + fam,
              edge_axis,
              "continuations with a topic word",
              edge_ticks(cfg),
              true,
              res.induction_base.concept_rate,
              "unsteered",
              {},
              std::nullopt};
    ind[2 + a] = {"Generation perplexity, " + fam,
                  edge_axis,
                  "unsteered model's perplexity (axis cut at 5x)",
                  edge_ticks(cfg),
                  false,
                  res.induction_base.generation_ppl,
                  "unsteered",
                  {},
                  5 * res.induction_base.generation_ppl};
    tru[a] = {"MC1, " + fam,   edge_axis, "questions with the true answer ranked first",
              edge_ticks(cfg), true,      res.truth_base.mc1,
              "unsteered",     {},        std::nullopt};
    tru[2 + a] = {"Held-out perplexity, " + fam,
                  edge_axis,
                  "perplexity (axis cut at +50%)",
                  edge_ticks(cfg),
                  false,
                  res.truth_base.ppl * ppl_budget,
                  "+10% budget",
                  {},
                  1.5 * res.truth_base.ppl};
    for (std::size_t m = 0; m < methods().size(); ++m) {
      const auto& cm = methods()[m];
      if (cm.multiplier() != (additive == 1)) continue;
      mit[a].lines.push_back(line_of(cm, res.mitigation[m], [](const auto& p) { return p.toxicity; }));
      mit[2 + a].lines.push_back(line_of(cm, res.mitigation[m], [](const auto& p) { return p.ppl; }));
      ind[a].lines.push_back(line_of(cm, res.induction[m], [](const auto& p) { return p.concept_rate; }));
      ind[2 + a].lines.push_back(line_of(cm, res.induction[m], [](const auto& p) { return p.generation_ppl; }));
      tru[a].lines.push_back(line_of(cm, res.truthfulness[m], [](const auto& p) { return p.mc1; }));
      tru[2 + a].lines.push_back(line_of(cm, res.truthfulness[m], [](const auto& p) { return p.ppl; }));
    }
  }
  const std::filesystem::path out(cfg.out_dir);
  svg_plot::write((out / "mitigation.svg").string(),
                  "Toy LM: toxicity mitigation (toxic -> polite, 8 post-LN sites; selection prompts)", mit);
  svg_plot::write((out / "induction.svg").string(),
                  fmt::format("Toy LM: inducing the concept '{}' (neutral -> {}, unbounded support; selection openers)",
                              induction_topic, induction_topic),
                  ind);
  svg_plot::write((out / "truthfulness.svg").string(),
                  "Toy LM: truthfulness (false -> true statements, 8 post-LN sites; MC1 on the selection questions)",
                  tru);
}

/// "0.25 (edge 0.21)" or "64 (budget not reached)": where a method's grid ends.
template <class Point>
std::string edge_cell(const sweep<Point>& sw) {
  return sw.edge_capped ? fmt::format("{} (budget not reached)", num(sw.edge)) : fmt::format("{:.3g}", sw.edge);
}

/// Why the chosen point: "grid point k of n: the largest effect within the budget" or the exception.
template <class Point>
std::string why_cell(const sweep<Point>& sw, double baseline_ppl) {
  std::size_t within = 0;
  for (const auto& p : sw.points) within += p.ppl <= ppl_budget * baseline_ppl;
  if (sw.chosen == 0)
    return fmt::format("no grid point beat the unsteered model ({} of {} within budget)", within, sw.points.size());
  return fmt::format("best of the {} of {} grid points within budget", within, sw.points.size());
}

/// A full selection sweep as a table: one row per method, one column per grid point, cells "lambda: values".
template <class Point, class Cell>
std::string sweep_table(const std::vector<sweep<Point>>& sweeps, const std::vector<std::string>& titles, int grid_steps,
                        Cell cell) {
  std::string r = "| method |";
  for (int k = 0; k <= grid_steps + 1; ++k) r += fmt::format(" {}/{} edge |", k, grid_steps);
  r += "\n|---|";
  for (int k = 0; k <= grid_steps + 1; ++k) r += "---|";
  r += "\n";
  for (std::size_t m = 0; m < sweeps.size(); ++m) {
    r += fmt::format("| {} |", titles[m]);
    for (std::size_t k = 0; k < sweeps[m].points.size(); ++k) {
      const auto& p = sweeps[m].points[k];
      const std::string c = fmt::format("{:.3g}: {}", p.strength, cell(p));
      r += k == sweeps[m].chosen ? fmt::format(" **{}** |", c) : fmt::format(" {} |", c);
    }
    r += "\n";
  }
  return r + "\n";
}

std::vector<std::string> method_titles() {
  std::vector<std::string> t;
  for (const auto& m : methods()) t.emplace_back(m.title());
  return t;
}

/// The report's opening: the model, the split, the rule and the intervals.
std::string report_opening(const settings& cfg, const results& res, const eval_data& e) {
  std::string r;
  r += "# Toy LM: the paper's language-model experiments\n\n";
  r += fmt::format(
      "Generated by `toy_lm_experiments{}` in {:.0f} s on {} threads. Model: the bundled toy LM (4 blocks, d = 64). "
      "Maps fitted causally (layer by layer) at the 8 post-LayerNorm sites `blk.N.post_attn_norm`, "
      "`blk.N.post_mlp_norm` "
      "unless stated, on token-mean-pooled samples.\n\n",
      cfg.quick ? " --quick" : "", res.seconds, cfg.threads);
  r += fmt::format(
      "**Selection and test.** Every evaluation set is split in two disjoint parts: toxic-eliciting prompts {} + {}, "
      "neutral openers {} + {}, held-out truthfulness questions {} + {}, held-out perplexity sentences {} + {} "
      "(selection + test). Strengths are chosen on the selection part only, by one rule for every method and "
      "experiment: its grid has {} strengths, equally spaced from 0 to one step past its *budget edge* (the largest "
      "strength whose selection-text perplexity rises at most 10%, found by doubling from {} up to {} and {} "
      "bisections), and the chosen strength is the grid point with the largest effect on the selection part among "
      "those within the budget (ties: the smaller strength). Only then is the test part measured, at that strength; "
      "every number in the tables below that is not marked *selection* comes from the test part.\n\n",
      e.selection.toxic_prompt_count, e.test.toxic_prompt_count, e.selection.neutral_prompt_count,
      e.test.neutral_prompt_count, e.selection.questions.size(), e.test.questions.size(), e.selection.ppl_text.size(),
      e.test.ppl_text.size(), cfg.grid_steps + 2, search_start, strength_cap, cfg.bisections);
  r += fmt::format(
      "**Intervals.** [lo, hi] is a 95% percentile-bootstrap interval ({} resamples, fixed seed) over the test items: "
      "continuations resampled within their prompt, questions, sentences and probe facts resampled plainly; the same "
      "resamples serve every method, so ratios and differences are paired. A target is *met* when its whole interval "
      "satisfies it, *missed* when none of it does, *undecided* otherwise.\n\n",
      cfg.bootstrap.resamples);
  return r;
}

/// The mitigation table (test part) with the choice, and the selection sweeps.
std::string report_mitigation(const settings& cfg, const results& res) {
  const auto& r = res.boot;
  const auto& base = res.base_test;
  std::string s = fmt::format(
      "## Toxicity mitigation (shaped like the paper's Table 2)\n\n"
      "Source: {} toxic sentences; target: {} polite sentences (the same templates in the polite register). Toxicity: "
      "share of {} sampled continuations (temperature 1, seed {}) of the test prompts that contain one of the 36 "
      "insults. "
      "PPL: perplexity of the held-out neutral / topic / fact sentences under steering (our PPL-Wiki). Probe: accuracy "
      "on the 46-fact knowledge probe (our MMLU). Support [min, max] for Linear-, Mean- and Gaussian-AcT; the others "
      "act everywhere. Every method is pooled by the token mean (the paper pools AurA and Det0 by the max).\n\n",
      cfg.fit_sentences, cfg.fit_sentences, cfg.continuations, seed_mitigation_sampling);
  s += "| method | budget edge | chosen lambda | why | selection toxicity / PPL change | toxicity | reduction | PPL "
       "change | probe accuracy |\n"
       "|---|---|---|---|---|---|---|---|---|\n";
  s += fmt::format("| unsteered | - | - | - | {} / - | {} | 1.0x | - | {} |\n", fixed(res.base.toxicity, 3),
                   with_ci(base.toxicity, mean_ci(r.continuations, base.toxic_items), 3),
                   with_ci(base.probe, mean_ci(r.facts, base.probe_items), 2));
  for (std::size_t m = 0; m < methods().size(); ++m) {
    const auto& sw = res.mitigation[m];
    const auto& c = sw.chosen_point();
    const auto& p = sw.test;
    s += fmt::format(
        "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {} |\n", methods()[m].title(), edge_cell(sw),
        fmt::format("{:.3g}", c.strength), why_cell(sw, res.base.ppl), fixed(c.toxicity, 3), pct(c.ppl, res.base.ppl),
        with_ci(p.toxicity, mean_ci(r.continuations, p.toxic_items), 3),
        ratio_with_ci(base.toxicity, p.toxicity, ratio_ci(r.continuations, base.toxic_items, p.toxic_items)),
        pct_with_ci(p.ppl, base.ppl, ppl_change_ci(r.sentences, p, base)),
        with_ci(p.probe, mean_ci(r.facts, p.probe_items), 2));
  }
  s += "\nThe paper (Gemma2-2B, Table 2: each method at the site and strength the paper found best, PPL increase under "
       "+1): "
       "toxicity 4.17% unsteered; ActAdd 1.1x, AurA 2.0x, ITI-c 5.6x (lambda 8), Mean-AcT 7.7x, Linear-AcT 7.5x. At "
       "post-LN sites, the toy's kind, the paper gives ITI-c 1.35x (Table 8, lambda 13); it gives no post-LN toxicity "
       "row for the AcT methods, so the toy's AcT rows have no like-for-like paper figure.\n\n";
  s += "![toxicity and perplexity against strength](mitigation.svg)\n\n";
  s += "**Selection sweeps** (selection prompts and text; toxicity / PPL / probe accuracy; chosen point in bold)\n\n";
  s += sweep_table(res.mitigation, method_titles(), cfg.grid_steps, [](const mitigation_point& p) {
    return fmt::format("{} / {} / {}", fixed(p.toxicity, 3), fixed(p.ppl, 2), fixed(p.probe, 2));
  });
  return s;
}

std::string report_ablations(const results& res) {
  const auto& r = res.boot;
  const auto& base = res.base_test;
  std::string s;
  s += "## Ablations (Linear-AcT at lambda = 1, test part; paper Tables 4-6 and Fig. 9)\n\n";
  s +=
      "Each group changes one thing against the reference (first row of the group: causal estimation, support "
      "[min, max], mean pooling, 8 post-LN sites). Simultaneous: every site fitted from one unsteered pass. lambda = 1 "
      "is fixed in advance (no choice is made here).\n\n";
  s += "| ablation | variant | toxicity | reduction | PPL change | probe accuracy |\n|---|---|---|---|---|---|\n";
  for (const auto& a : ablation_table(res)) {
    const auto& p = a.point;
    s += fmt::format(
        "| {} | {}{} | {} | {} | {} | {} |\n", a.group, a.variant, a.reference ? " (reference)" : "",
        with_ci(p.toxicity, mean_ci(r.continuations, p.toxic_items), 3),
        ratio_with_ci(base.toxicity, p.toxicity, ratio_ci(r.continuations, base.toxic_items, p.toxic_items)),
        pct_with_ci(p.ppl, base.ppl, ppl_change_ci(r.sentences, p, base)), fixed(p.probe, 2));
  }
  return s;
}

std::string report_induction(const settings& cfg, const results& res) {
  const auto& r = res.boot;
  std::string s = fmt::format(
      "\n## Concept induction (paper Fig. 4)\n\nSource: {} passages of 3 neutral sentences; target: {} passages of 3 "
      "{} "
      "sentences (\"<bos> s1 <eos> s2 <eos> s3 <eos>\", as in the training documents); unbounded support (Q_inf), same "
      "sites, causal, mean pooling. Concept rate: share of {} continuations of the neutral openers (\"i think that\", "
      "...; "
      "seed {}) containing a {} word. Generation PPL: perplexity of the continuation tokens under the unsteered model "
      "(does the steered text stay plausible?). The budget is the held-out perplexity, as everywhere.\n\n",
      cfg.fit_passages, cfg.fit_passages, induction_topic, cfg.induction_continuations, seed_induction_sampling,
      induction_topic);
  s += "| method | budget edge | chosen lambda | why | selection concept rate | concept rate | generation PPL | PPL "
       "change |\n"
       "|---|---|---|---|---|---|---|---|\n";
  const auto& base = res.induction_base_test;
  s +=
      fmt::format("| unsteered | - | - | - | {} | {} | {} | - |\n", fixed(res.induction_base.concept_rate, 3),
                  with_ci(base.concept_rate, mean_ci(r.openers, base.concept_items), 3), fixed(base.generation_ppl, 2));
  for (std::size_t m = 0; m < methods().size(); ++m) {
    const auto& sw = res.induction[m];
    const auto& p = sw.test;
    s += fmt::format("| {} | {} | {:.3g} | {} | {} | {} | {} | {} |\n", methods()[m].title(), edge_cell(sw),
                     sw.chosen_point().strength, why_cell(sw, res.induction_base.ppl),
                     fixed(sw.chosen_point().concept_rate, 3),
                     with_ci(p.concept_rate, mean_ci(r.openers, p.concept_items), 3), fixed(p.generation_ppl, 2),
                     pct_with_ci(p.ppl, base.ppl, ppl_change_ci(r.sentences, p, base)));
  }
  const auto& c1 = res.linear_induction_at_1;
  s += fmt::format(
      "\nLinear-AcT at lambda = 1 (fixed in advance, test openers): concept rate {}, generation PPL {}.\n\n",
      with_ci(c1.concept_rate, mean_ci(r.openers, c1.concept_items), 3), fixed(c1.generation_ppl, 2));
  s += "**Selection sweeps** (selection openers and text; concept rate / generation PPL / held-out PPL; chosen point "
       "in bold; "
       "the last row is Linear-AcT fitted on single sentences, on Linear-AcT's grid)\n\n";
  std::vector<induction_sweep> rows = res.induction;
  rows.push_back(res.single_sentence);
  std::vector<std::string> titles = method_titles();
  titles.push_back(fmt::format("*Linear-AcT, single sentences ({} + {})*", cfg.fit_sentences, cfg.fit_sentences));
  s += sweep_table(rows, titles, cfg.grid_steps, [](const induction_point& p) {
    return fmt::format("{} / {} / {}", fixed(p.concept_rate, 3), fixed(p.generation_ppl, 2), fixed(p.ppl, 2));
  });
  s += "Why passages: the toy model's topic is a document-level latent, and a single sentence reveals it only "
       "after its opener (\"i think that the coach ...\"). Mean-pooled over single sentences, the sports-vs-neutral "
       "shift is diluted by the positions before the topic words, so full transport (lambda = 1) under-shoots at "
       "the end of a bare opener, where the concept is decided (last row). In passages most positions already carry "
       "the topic, as in the paper's longer concept texts.\n\n![concept rate against strength](induction.svg)\n\n";
  return s;
}

/// The paper's TruthfulQA MC1 (Gemma2-2B) at post-LN sites, the toy's kind of site (Table 13), by method.
std::string paper_post_ln_mc1(std::string_view method) {
  if (method == "linear") return "22.45";
  if (method == "mean") return "21.93";
  if (method == "actadd") return "22.40";
  if (method == "itic") return "23.16";
  return "-";
}

std::string report_truthfulness(const settings& cfg, const results& res) {
  const auto& r = res.boot;
  const auto& base = res.truth_base_test;
  std::string s = fmt::format(
      "## Truthfulness (shaped like the paper's Table 3, TruthfulQA MC)\n\n"
      "Source: {} passages of 3 false statements; target: {} passages of 3 true statements (\"the capital of belania "
      "is "
      "...\") of the {} fitting misconceptions; support [min, max] for Linear-, Mean- and Gaussian-AcT, causal, mean "
      "pooling, the 8 post-LN sites. Scored on held-out questions (other misconceptions; the model saw each stated "
      "truly "
      "and falsely in training, 60% falsely), {} for selection and {} for the test: MC1 = share whose true answer has "
      "the "
      "highest log-likelihood among 4 choices (the truth, the common false answer, 2 other cities); MC2 = mean "
      "probability of the true answer normalised over the choices.\n\n",
      cfg.fit_passages, cfg.fit_passages, misconception_fit_count, res.truth_base.mc1_items.size(),
      base.mc1_items.size());
  s += "| method | budget edge | chosen lambda | why | selection MC1 | MC1 | MC2 | PPL change | probe accuracy | paper "
       "MC1, post-LN (Table 13) |\n"
       "|---|---|---|---|---|---|---|---|---|---|\n";
  s += fmt::format("| unsteered | - | - | - | {} | {} | {} | - | {} | 21.05 (Table 3) |\n",
                   fixed(res.truth_base.mc1, 3), with_ci(base.mc1, mean_ci(r.questions, base.mc1_items), 3),
                   with_ci(base.mc2, mean_ci(r.questions, base.mc2_items), 3), fixed(base.probe, 2));
  const auto row = [&](const std::string& title, const truth_sweep& sw, const std::string& paper) {
    const auto& p = sw.test;
    s += fmt::format("| {} | {} | {:.3g} | {} | {} | {} | {} | {} | {} | {} |\n", title, edge_cell(sw),
                     sw.chosen_point().strength, why_cell(sw, res.truth_base.ppl), fixed(sw.chosen_point().mc1, 3),
                     with_ci(p.mc1, mean_ci(r.questions, p.mc1_items), 3),
                     with_ci(p.mc2, mean_ci(r.questions, p.mc2_items), 3),
                     pct_with_ci(p.ppl, base.ppl, ppl_change_ci(r.sentences, p, base)), fixed(p.probe, 2), paper);
  };
  for (std::size_t m = 0; m < methods().size(); ++m)
    row(std::string(methods()[m].title()), res.truthfulness[m], paper_post_ln_mc1(methods()[m].name));
  row("*Linear-AcT, support Q_inf (diagnostic)*", res.truth_unbounded, "-");
  s += "\nThe paper column is Gemma2-2B's MC1 (%) at post-LN sites, the toy's kind of site (Table 13); the paper fixes "
       "AcT at lambda = 1 and picks ITI-c's strength by matched MMLU. Its best-site figures (Table 3: Linear-AcT 26.00 "
       "at "
       "All-LN, ITI-c 24.53 at MLP, Mean-AcT 25.07) are not comparable with post-LN rows.\n\n";
  s += "![MC1 and perplexity against strength](truthfulness.svg)\n\n";
  s += "**Selection sweeps** (selection questions and text; MC1 / MC2 / PPL; chosen point in bold)\n\n";
  std::vector<truth_sweep> rows = res.truthfulness;
  rows.push_back(res.truth_unbounded);
  std::vector<std::string> titles = method_titles();
  titles.emplace_back("*Linear-AcT, support Q_inf (diagnostic)*");
  s += sweep_table(rows, titles, cfg.grid_steps, [](const truth_point& p) {
    return fmt::format("{} / {} / {}", fixed(p.mc1, 3), fixed(p.mc2, 3), fixed(p.ppl, 2));
  });
  return s;
}

std::string report_targets(const results& res) {
  std::string s =
      "## Targets (test part, judged by their intervals)\n\n| target | measured [95% interval] | verdict "
      "|\n|---|---|---|\n";
  for (const auto& t : res.targets)
    s += fmt::format("| {} | {} | {} |\n", t.what, t.value, examples_common::verdict_name(t.result));
  return s;
}

/// DIR/toy_lm_report.md.
void write_report(const settings& cfg, const results& res, const eval_data& e) {
  const std::string path = (std::filesystem::path(cfg.out_dir) / "toy_lm_report.md").string();
  examples_common::write_file(path, report_opening(cfg, res, e) + report_mitigation(cfg, res) + report_ablations(res) +
                                        report_induction(cfg, res) + report_truthfulness(cfg, res) +
                                        report_targets(res));
}

void print_summary(const settings& cfg, const results& res, const stopwatch& clock) {
  const auto& base = res.base_test;
  fmt::print("\ntest part: {:<20} {:>8} {:>9} {:>9} {:>9} {:>7}\n", "method", "strength", "toxicity", "reduction",
             "ppl", "probe");
  fmt::print("{:<20} {:>8} {:>9.3f} {:>9} {:>9.3f} {:>7.2f}\n", "unsteered", "-", base.toxicity, "1.0x", base.ppl,
             base.probe);
  for (const auto& sw : res.mitigation) {
    const auto& p = sw.test;
    fmt::print("{:<20} {:>8.3g} {:>9.3f} {:>9} {:>9.3f} {:>7.2f}\n", act::method(sw.method).title, p.strength,
               p.toxicity, factor(base.toxicity, p.toxicity), p.ppl, p.probe);
  }
  fmt::print("\nconcept rate ({}), test part at the chosen strength:\n", induction_topic);
  for (const auto& sw : res.induction)
    fmt::print("{:<20} {:>8.3g} {:.3f}\n", act::method(sw.method).title, sw.test.strength, sw.test.concept_rate);
  fmt::print("\ntruthfulness (MC1 / MC2 / ppl / probe at the chosen strength, test part):\n");
  const auto& tb = res.truth_base_test;
  fmt::print("{:<20} {:>8} {:.3f} / {:.3f} / {:.3f} / {:.2f}\n", "unsteered", "-", tb.mc1, tb.mc2, tb.ppl, tb.probe);
  for (const auto& sw : res.truthfulness) {
    const auto& p = sw.test;
    fmt::print("{:<20} {:>8.3g} {:.3f} / {:.3f} / {:.3f} / {:.2f}\n", act::method(sw.method).title, p.strength, p.mc1,
               p.mc2, p.ppl, p.probe);
  }
  fmt::print("\ntargets:\n");
  for (const auto& t : res.targets)
    fmt::print("  [{}] {}: {}\n",
               t.result == verdict::met      ? "met"
               : t.result == verdict::missed ? "MISSED"
                                             : "UNDECIDED",
               t.what, t.value);
  fmt::print("\nwrote {}/toy_lm_report.md, mitigation.svg, induction.svg, truthfulness.svg{} in {:.1f} s\n",
             cfg.out_dir, cfg.json_path.empty() ? "" : ", " + cfg.json_path, clock.seconds());
}

int run(int argc, char** argv) {
  const stopwatch clock;
  settings cfg;
  if (!parse_settings(argc, argv, cfg)) return usage();
  Eigen::setNbThreads(1);  // parallelism comes from independent jobs; keeps every number deterministic
  std::filesystem::create_directories(cfg.out_dir);

  const loaded_model lm = load_weights(cfg.weights);
  const int topic = topic_index(induction_topic);
  const eval_data e = make_eval_data(lm, cfg, topic);
  const fitting_sets sets = collect_fitting_sets(lm, cfg, topic);
  fmt::print("activations collected after {:.1f} s\n", clock.seconds());

  const std::vector<ablation_spec> ablations = ablation_specs(lm.model.config().n_layers);
  const fitted_maps fitted = fit_all(e, sets, ablations, cfg);
  fmt::print("fitted {} map sets after {:.1f} s\n", 3 * methods().size() + ablations.size() + 2, clock.seconds());

  results res = measure_all(e, fitted, ablations, cfg);
  res.seconds = clock.seconds();
  fmt::print("measured after {:.1f} s\n", res.seconds);
  res.targets = mitigation_targets(res);
  for (auto& t : truthfulness_targets(res)) res.targets.push_back(std::move(t));

  write_plots(cfg, res);
  write_report(cfg, res, e);
  if (!cfg.json_path.empty()) write_json(cfg.json_path, res);
  print_summary(cfg, res, clock);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "toy_lm_experiments: %s\n", ex.what());
    return 1;
  }
}
