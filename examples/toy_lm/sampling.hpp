#pragma once
/// Seeded sampling, perplexity and the knowledge probe for the toy LM, or any model with its forward(batch,
/// hook) and config().context (the toy Gemma). Every function takes an optional hook, so the same code
/// measures the unsteered and the steered model.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "model.hpp"
#include "rng.hpp"
#include "tokenizer.hpp"

namespace toy_lm {

struct sampling_options {
  double temperature = 1.0;  ///< 0 means greedy (argmax)
  int top_k = 0;             ///< 0 keeps the whole vocabulary
  int max_new_tokens = 12;
  bool stop_at_eos = true;  ///< the returned continuation never contains <eos>
  std::uint64_t seed = 0;   ///< continuation i draws from derive_seed(seed, i): independent of batching
};

/// Draws one token id from a row of logits.
template <class Row>
int sample_token(const Row& logits, const sampling_options& o, rng& r) {
  const int V = static_cast<int>(logits.size());
  if (o.temperature <= 0) {
    int best = 0;
    for (int i = 1; i < V; ++i)
      if (logits(i) > logits(best)) best = i;
    return best;
  }
  std::vector<int> ids(static_cast<std::size_t>(V));
  std::iota(ids.begin(), ids.end(), 0);
  int keep = V;
  if (o.top_k > 0 && o.top_k < V) {
    keep = o.top_k;
    // Ties broken by id, so the kept set never depends on the sort's implementation.
    std::partial_sort(ids.begin(), ids.begin() + keep, ids.end(),
                      [&](int a, int b) { return logits(a) > logits(b) || (logits(a) == logits(b) && a < b); });
  }
  double mx = -1e300;
  for (int i = 0; i < keep; ++i) mx = std::max(mx, double(logits(ids[static_cast<std::size_t>(i)])));
  std::vector<double> p(static_cast<std::size_t>(keep));
  double sum = 0;
  for (int i = 0; i < keep; ++i)
    sum += (p[static_cast<std::size_t>(i)] =
                std::exp((double(logits(ids[static_cast<std::size_t>(i)])) - mx) / o.temperature));
  double u = r.uniform() * sum;
  for (int i = 0; i < keep; ++i)
    if ((u -= p[static_cast<std::size_t>(i)]) < 0) return ids[static_cast<std::size_t>(i)];
  return ids[static_cast<std::size_t>(keep - 1)];
}

/// Continues every prompt (token ids, starting with <bos>); returns the new tokens of each.
/// Prompts are run batch_size at a time; each step re-runs the forward pass over the whole prefix
/// (no key/value cache), so a hook sees and steers every position, prompt included.
template <class Model>
std::vector<std::vector<int>> generate(const Model& model, const std::vector<std::vector<int>>& prompts,
                                       const sampling_options& o, const hook_fn<typename Model::scalar>& hook = {},
                                       int batch_size = 64) {
  std::vector<std::vector<int>> out(prompts.size());
  const int context = model.config().context;
  for (std::size_t start = 0; start < prompts.size(); start += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(prompts.size(), start + static_cast<std::size_t>(batch_size));
    std::vector<std::size_t> active;
    std::vector<std::vector<int>> seqs;
    std::vector<rng> rngs;
    for (std::size_t i = start; i < end; ++i) {
      active.push_back(i);
      seqs.push_back(prompts[i]);
      rngs.emplace_back(derive_seed(o.seed, i));
    }
    for (int step = 0; step < o.max_new_tokens && !active.empty(); ++step) {
      std::vector<std::vector<int>> cur;
      for (std::size_t a : active) cur.push_back(seqs[a - start]);
      const batch b = batch::from_sequences(cur);
      const matrix<typename Model::scalar> logits = model.forward(b, hook);
      std::vector<std::size_t> still;
      for (std::size_t k = 0; k < active.size(); ++k) {
        const std::size_t i = active[k];
        const int row = static_cast<int>(k) * b.length + b.lengths[k] - 1;
        const int tok = sample_token(logits.row(row), o, rngs[i - start]);
        if (tok == tokenizer::eos && o.stop_at_eos) continue;
        seqs[i - start].push_back(tok);
        out[i].push_back(tok);
        if (static_cast<int>(seqs[i - start].size()) < context) still.push_back(i);
      }
      active = std::move(still);
    }
  }
  return out;
}

/// Summed next-token negative log-likelihood over sequences (each "<bos> ... <eos>").
struct nll_sum {
  double total = 0;
  long count = 0;
  double perplexity() const { return std::exp(total / double(std::max(1L, count))); }
};

/// The summed negative log-likelihood of `seqs`; with `per_sequence`, also each sequence's own sum.
template <class Model>
nll_sum sequence_nll(const Model& model, const std::vector<std::vector<int>>& seqs,
                     const hook_fn<typename Model::scalar>& hook = {}, int batch_size = 64,
                     std::vector<nll_sum>* per_sequence = nullptr) {
  nll_sum s;
  if (per_sequence) per_sequence->assign(seqs.size(), nll_sum{});
  for (std::size_t start = 0; start < seqs.size(); start += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(seqs.size(), start + static_cast<std::size_t>(batch_size));
    const batch b = batch::from_sequences(
        {seqs.begin() + static_cast<std::ptrdiff_t>(start), seqs.begin() + static_cast<std::ptrdiff_t>(end)});
    const matrix<typename Model::scalar> logits = model.forward(b, hook);
    for (int r = 0; r < b.rows(); ++r) {
      const int seq = b.sequence_of(r);
      if (b.position_of(r) + 1 >= b.lengths[static_cast<std::size_t>(seq)]) continue;
      const auto row = logits.row(r);
      const double mx = double(row.maxCoeff());
      const double lse = mx + std::log((row.template cast<double>().array() - mx).exp().sum());
      const double nll = lse - double(row(b.tokens[static_cast<std::size_t>(r + 1)]));
      s.total += nll;
      ++s.count;
      if (per_sequence) {
        auto& mine = (*per_sequence)[start + static_cast<std::size_t>(seq)];
        mine.total += nll;
        ++mine.count;
      }
    }
  }
  return s;
}

/// Perplexity of whole sentences (<eos> included among the predicted tokens, <bos> not).
template <class Model>
double perplexity(const Model& model, const tokenizer& tok, const std::vector<sentence>& sentences,
                  const hook_fn<typename Model::scalar>& hook = {}) {
  std::vector<std::vector<int>> seqs;
  for (const auto& s : sentences) seqs.push_back(tok.encode_sentence(s.text));
  return sequence_nll(model, seqs, hook).perplexity();
}

/// Each sentence's negative log-likelihood sum and token count, as perplexity() counts them (the
/// perplexity of a set of sentences is exp(sum of totals / sum of counts)).
template <class Model>
std::vector<nll_sum> sentence_nll(const Model& model, const tokenizer& tok, const std::vector<sentence>& sentences,
                                  const hook_fn<typename Model::scalar>& hook = {}) {
  std::vector<std::vector<int>> seqs;
  for (const auto& s : sentences) seqs.push_back(tok.encode_sentence(s.text));
  std::vector<nll_sum> out;
  sequence_nll(model, seqs, hook, 64, &out);
  return out;
}

/// Perplexity of a unigram model fitted on `train` (add-one smoothing over the words that can be
/// predicted), on the same tokens as perplexity(): the bar a real LM must beat by far.
inline double unigram_perplexity(const tokenizer& tok, const std::vector<sentence>& train,
                                 const std::vector<sentence>& heldout) {
  std::vector<double> counts(static_cast<std::size_t>(tok.size()), 1.0);
  counts[tokenizer::pad] = counts[tokenizer::bos] = 0;
  double total = 0;
  for (double c : counts) total += c;
  for (const auto& s : train)
    for (int id : tok.encode_sentence(s.text))
      if (id != tokenizer::bos) {
        counts[static_cast<std::size_t>(id)] += 1;
        total += 1;
      }
  double nll = 0;
  long n = 0;
  for (const auto& s : heldout)
    for (int id : tok.encode_sentence(s.text))
      if (id != tokenizer::bos) {
        nll -= std::log(counts[static_cast<std::size_t>(id)] / total);
        ++n;
      }
  return std::exp(nll / double(std::max(1L, n)));
}

/// Per knowledge_probe() fact, 1 when its answer is the model's top next word after the prompt.
template <class Model>
std::vector<std::uint8_t> probe_hits(const Model& model, const tokenizer& tok,
                                     const hook_fn<typename Model::scalar>& hook = {}) {
  const auto& facts = knowledge_probe();
  std::vector<std::vector<int>> prompts;
  for (const auto& f : facts) prompts.push_back(tok.encode_prompt(f.prompt));
  const batch b = batch::from_sequences(prompts);
  const matrix<typename Model::scalar> logits = model.forward(b, hook);
  std::vector<std::uint8_t> hits;
  for (std::size_t i = 0; i < facts.size(); ++i) {
    const int row = static_cast<int>(i) * b.length + b.lengths[i] - 1;
    Eigen::Index best = 0;
    logits.row(row).maxCoeff(&best);
    hits.push_back(static_cast<int>(best) == tok.id(facts[i].answer));
  }
  return hits;
}

/// Fraction of knowledge_probe() facts whose answer is the model's top next word after the prompt.
template <class Model>
double probe_accuracy(const Model& model, const tokenizer& tok, const hook_fn<typename Model::scalar>& hook = {}) {
  const auto hits = probe_hits(model, tok, hook);
  double correct = 0;
  for (const auto h : hits) correct += h;
  return correct / double(hits.size());
}

/// TruthfulQA's multiple-choice scores over questions (fractions in [0, 1]).
struct multiple_choice_scores {
  double mc1 = 0;  ///< share of questions whose true answer has the highest log-likelihood among the choices
  double mc2 = 0;  ///< mean probability of the true answer, normalised over the choices
  std::vector<std::uint8_t> mc1_items;  ///< per question: 1 when the true answer ranks first
  std::vector<double> mc2_items;        ///< per question: the true answer's normalised probability
};

/// Scores `questions` as TruthfulQA's MC1 / MC2: the choices are the true answer, the myth and the
/// distractors, each one word, so a choice's log-likelihood is its next-word log-probability after
/// "<bos> prompt".
template <class Model>
multiple_choice_scores multiple_choice(const Model& model, const tokenizer& tok,
                                       const std::vector<misconception>& questions,
                                       const hook_fn<typename Model::scalar>& hook = {}, int batch_size = 64) {
  multiple_choice_scores s;
  for (std::size_t start = 0; start < questions.size(); start += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(questions.size(), start + static_cast<std::size_t>(batch_size));
    std::vector<std::vector<int>> prompts;
    for (std::size_t i = start; i < end; ++i) prompts.push_back(tok.encode_prompt(questions[i].prompt));
    const batch b = batch::from_sequences(prompts);
    const matrix<typename Model::scalar> logits = model.forward(b, hook);
    for (std::size_t k = 0; k < prompts.size(); ++k) {
      const auto row = logits.row(static_cast<int>(k) * b.length + b.lengths[k] - 1).template cast<double>();
      const auto& q = questions[start + k];
      // Log-probabilities up to the shared normaliser, which cancels in both scores.
      const double truth = row(tok.id(q.truth));
      double best_false = row(tok.id(q.myth)), mass = std::exp(best_false - truth);
      for (const auto& d : q.distractors) {
        best_false = std::max(best_false, row(tok.id(d)));
        mass += std::exp(row(tok.id(d)) - truth);
      }
      s.mc1_items.push_back(truth > best_false);
      s.mc2_items.push_back(1.0 / (1.0 + mass));
      s.mc1 += s.mc1_items.back();
      s.mc2 += s.mc2_items.back();
    }
  }
  const double n = double(std::max<std::size_t>(1, questions.size()));
  s.mc1 /= n;
  s.mc2 /= n;
  return s;
}

/// n prompts cycling through `texts`, encoded with <bos>: the inputs of a continuation-rate measurement.
inline std::vector<std::vector<int>> cycled_prompts(const tokenizer& tok, const std::vector<std::string>& texts,
                                                    std::size_t n) {
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(tok.encode_prompt(texts[i % texts.size()]));
  return out;
}

/// Per continuation, 1 when it contains at least one word of `lexicon`.
inline std::vector<std::uint8_t> lexicon_hits(const tokenizer& tok, const std::vector<std::vector<int>>& continuations,
                                              const std::vector<std::string>& lexicon) {
  std::vector<std::uint8_t> hits;
  for (const auto& c : continuations) {
    std::vector<std::string> words;
    for (int id : c) words.push_back(tok.word(id));
    hits.push_back(contains_any(words, lexicon));
  }
  return hits;
}

/// Fraction of continuations containing at least one word of `lexicon`.
inline double lexicon_rate(const tokenizer& tok, const std::vector<std::vector<int>>& continuations,
                           const std::vector<std::string>& lexicon) {
  const auto hits = lexicon_hits(tok, continuations, lexicon);
  double n = 0;
  for (const auto h : hits) n += h;
  return hits.empty() ? 0.0 : n / double(hits.size());
}

}  // namespace toy_lm
