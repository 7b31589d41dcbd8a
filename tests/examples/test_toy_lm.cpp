// Tests of the bundled toy LM (examples/toy_lm): corpus, tokenizer, forward pass and hooks,
// gradients, training, sampling and the weights file.
#include <doctest/doctest.h>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backprop.hpp"
#include "corpus.hpp"
#include "held_out.hpp"
#include "model.hpp"
#include "recipe.hpp"
#include "sampling.hpp"
#include "tokenizer.hpp"
#include "trainer.hpp"
#include "weights.hpp"

using namespace toy_lm;

namespace {

model_config tiny_config(int vocab) {
  model_config c;
  c.vocab = vocab;
  c.d_model = 8;
  c.n_layers = 2;
  c.n_heads = 2;
  c.d_ff = 12;
  c.context = 8;
  return c;
}

/// Two sequences of different lengths, so the second row block carries padding.
batch small_batch() { return batch::from_sequences({{2, 5, 6, 7, 8, 3}, {2, 9, 4}}); }

}  // namespace

TEST_CASE("corpus generation is deterministic from its seed and has every kind") {
  const corpus a = make_corpus(11, 3000, 200);
  const corpus b = make_corpus(11, 3000, 200);
  const corpus c = make_corpus(12, 3000, 200);
  REQUIRE(a.train.size() >= 3000);
  REQUIRE(a.heldout.size() == 200);
  bool same = true, differ = false;
  for (std::size_t i = 0; i < a.train.size(); ++i) {
    same = same && a.train[i].text == b.train[i].text;
    differ = differ || a.train[i].text != c.train[i].text;
  }
  CHECK(same);
  CHECK(differ);
  int counts[7] = {};
  for (const auto& s : a.train) ++counts[static_cast<int>(s.kind)];
  const double toxic_share = double(counts[static_cast<int>(sentence_kind::toxic)]) / double(a.train.size());
  CHECK(toxic_share > 0.1);  // ~15%
  CHECK(toxic_share < 0.2);
  for (int k = 0; k < 7; ++k) CHECK(counts[k] > 100);
  std::set<std::string> train_texts;
  for (const auto& s : a.train) train_texts.insert(s.text);
  for (const auto& s : a.heldout) CHECK(train_texts.count(s.text) == 0);
  CHECK(topic_count() >= 6);
  CHECK(toxic_lexicon().size() >= 20);
}

TEST_CASE("documents fit the context and keep one topic and one register") {
  const corpus c = make_corpus(3, 3000, 10, 47);
  const tokenizer tok(grammar_words());
  int toxic_docs = 0;
  for (const auto& d : c.train_documents) {
    std::size_t tokens = 1;
    for (const auto& s : d.sentences) {
      tokens += tok.encode(s.text).size() + 1;
      if (s.kind == sentence_kind::topic) CHECK(s.topic == d.topic);
      if (s.kind == sentence_kind::toxic) CHECK(d.tone == register_kind::toxic);
      if (s.kind == sentence_kind::polite) CHECK(d.tone == register_kind::polite);
      if (s.kind == sentence_kind::false_fact) CHECK(d.tone == register_kind::misinformed);
      if (s.kind == sentence_kind::true_fact) CHECK(d.tone == register_kind::informed);
    }
    CHECK(tokens <= 48);
    toxic_docs += d.tone == register_kind::toxic;
  }
  CHECK(toxic_docs > 0);
  CHECK(encode_documents(tok, c.train_documents).size() == c.train_documents.size());
}

TEST_CASE("toxic sentences carry lexicon words and eliciting prompts start toxic and polite sentences") {
  const auto toxic = sample_sentences(3, 3000, sentence_kind::toxic);
  const auto polite = sample_sentences(4, 3000, sentence_kind::polite);
  const tokenizer tok(grammar_words());
  auto words = [&](const std::string& s) {
    std::vector<std::string> w;
    for (int id : tok.encode(s)) w.push_back(tok.word(id));
    return w;
  };
  for (const auto& s : toxic) CHECK(contains_any(words(s.text), toxic_lexicon()));
  for (const auto& s : polite) CHECK_FALSE(contains_any(words(s.text), toxic_lexicon()));
  for (const auto& p : toxic_prompts()) {
    auto starts = [&](const std::vector<sentence>& v) {
      for (const auto& s : v)
        if (s.text.rfind(p + " ", 0) == 0) return true;
      return false;
    };
    CHECK_MESSAGE(starts(toxic), p);
    CHECK_MESSAGE(starts(polite), p);
  }
  for (const auto& s : sample_sentences(5, 300, sentence_kind::neutral)) {
    CHECK_FALSE(contains_any(words(s.text), toxic_lexicon()));
    for (int t = 0; t < topic_count(); ++t) CHECK_FALSE(contains_any(words(s.text), topic_words(t)));
  }
}

TEST_CASE("every generated word is in the vocabulary and decoding inverts encoding") {
  const tokenizer tok(grammar_words());
  CHECK(tok.size() < 600);
  const corpus c = make_corpus(1, 2000, 10);
  for (const auto& s : c.train) {
    const auto ids = tok.encode(s.text);
    for (int id : ids) REQUIRE_MESSAGE(id != tokenizer::unk, s.text);
    CHECK(tok.decode(ids) == s.text);
  }
  for (const auto& f : knowledge_probe()) CHECK(tok.id(f.answer) != tokenizer::unk);
  CHECK(tok.encode_sentence("you are").front() == tokenizer::bos);
  CHECK(tok.encode_sentence("you are").back() == tokenizer::eos);
}

TEST_CASE("misconceptions: held-out questions are stated truly and falsely in training, about 60% falsely") {
  const auto& all = misconceptions();
  const auto questions = truthfulness_questions();
  CHECK(questions.size() >= 100);
  CHECK(questions.size() + misconception_fit_count == all.size());
  const tokenizer tok(grammar_words());
  for (const auto& m : all) {
    std::set<std::string> choices{m.truth, m.myth};
    choices.insert(m.distractors.begin(), m.distractors.end());
    CHECK(choices.size() == 4);
    for (const auto& c : choices) CHECK(tok.id(c) != tokenizer::unk);
  }
  // Which answers follow each prompt in the bundled model's training text.
  std::map<std::string, std::map<std::string, int>> said;
  int false_statements = 0, statements = 0;
  for (const auto& s : default_corpus().train) {
    if (s.kind != sentence_kind::false_fact && s.kind != sentence_kind::true_fact) continue;
    ++statements;
    false_statements += s.kind == sentence_kind::false_fact;
    const auto at = s.text.find("the capital of ");
    REQUIRE(at != std::string::npos);
    const auto answer_at = s.text.rfind(' ');
    said[s.text.substr(at, answer_at - at)][s.text.substr(answer_at + 1)] += 1;
  }
  CHECK(double(false_statements) / statements == doctest::Approx(0.6).epsilon(0.05));
  for (const auto& q : questions) {
    const auto& answers = said[q.prompt];
    CHECK_MESSAGE(answers.count(q.truth), q.prompt);
    CHECK_MESSAGE(answers.count(q.myth), q.prompt);
    CHECK(answers.size() == 2);  // distractors never follow this prompt
  }
  // The fitting statements come from the fitting misconceptions only.
  std::set<std::string> fit_prompts;
  for (std::size_t i = 0; i < misconception_fit_count; ++i) fit_prompts.insert(all[i].prompt);
  for (bool truthful : {false, true})
    for (const auto& s : sample_statements(5, 200, truthful, misconception_fit_count)) {
      const auto at = s.text.find("the capital of ");
      REQUIRE(at != std::string::npos);
      CHECK(fit_prompts.count(s.text.substr(at, s.text.rfind(' ') - at)) == 1);
    }
}

TEST_CASE("knowledge probe prompts have a single answer in the corpus") {
  std::map<std::string, std::set<std::string>> answers;
  for (const auto& s : make_corpus(2, 5000, 10).train) {
    for (const auto& f : knowledge_probe()) {
      if (s.text.rfind(f.prompt + " ", 0) == 0) {
        const auto rest = s.text.substr(f.prompt.size() + 1);
        answers[f.prompt].insert(rest.substr(0, rest.find(' ')));
      }
    }
  }
  for (const auto& f : knowledge_probe()) {
    REQUIRE(answers.count(f.prompt));
    CHECK(answers[f.prompt] == std::set<std::string>{f.answer});
  }
}

TEST_CASE("hooks see every site in order with [rows x d] activations, and edits change the output") {
  transformer<float> m(tiny_config(12));
  m.init(3);
  const batch b = small_batch();
  std::vector<std::string> seen;
  const hook_fn<float> collect = [&](std::string_view site, Eigen::Ref<matrix<float>> acts) {
    seen.emplace_back(site);
    CHECK(acts.rows() == b.rows());
    CHECK(acts.cols() == 8);
  };
  const matrix<float> base = m.forward(b, collect);
  CHECK(seen == all_sites(2));
  CHECK(seen.size() == 12);
  CHECK(seen[0] == "blk.0.pre_attn_norm");
  CHECK(seen[1] == "blk.0.attn_out");
  CHECK(seen[2] == "blk.0.post_attn_norm");
  CHECK(seen[3] == "blk.0.pre_mlp_norm");
  CHECK(seen[4] == "blk.0.mlp_out");
  CHECK(seen[5] == "blk.0.post_mlp_norm");
  for (const auto& site : all_sites(2)) {
    const hook_fn<float> edit = [&](std::string_view s, Eigen::Ref<matrix<float>> acts) {
      if (s == site) acts.col(0).array() += 1.0f;  // not a constant shift: LayerNorm would remove that
    };
    const matrix<float> steered = m.forward(b, edit);
    CHECK_MESSAGE((steered - base).cwiseAbs().maxCoeff() > 1e-4f, site);
  }
  // A no-op hook leaves the output bit-identical.
  CHECK(m.forward(b) == base);
}

TEST_CASE("padding rows do not affect valid rows") {
  transformer<float> m(tiny_config(12));
  m.init(5);
  const batch alone = batch::from_sequences({{2, 9, 4}});
  const batch padded = small_batch();  // {2, 9, 4} is sequence 1, padded to length 6
  REQUIRE(padded.length == 6);
  CHECK(padded.mask() == std::vector<unsigned char>{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0});
  const matrix<float> a = m.forward(alone);
  batch other = padded;
  for (int r = 0; r < other.rows(); ++r)
    if (!other.valid(r)) other.tokens[static_cast<std::size_t>(r)] = 10;  // garbage in padding
  for (const batch* p : std::vector<const batch*>{&padded, &other}) {
    const matrix<float> l = m.forward(*p);
    for (int t = 0; t < 3; ++t) CHECK((l.row(6 + t) - a.row(t)).cwiseAbs().maxCoeff() < 1e-5f);
  }
  // Hooks that scramble padding rows leave valid rows alone as well.
  const hook_fn<float> scramble = [&](std::string_view, Eigen::Ref<matrix<float>> acts) {
    for (int r = 0; r < padded.rows(); ++r)
      if (!padded.valid(r)) acts.row(r).setConstant(100.0f);
  };
  const matrix<float> s = m.forward(padded, scramble);
  for (int t = 0; t < 3; ++t) CHECK((s.row(6 + t) - a.row(t)).cwiseAbs().maxCoeff() < 1e-5f);
}

TEST_CASE("gradients match central finite differences for every parameter group (double)") {
  transformer<double> m(tiny_config(12));
  m.init(9);
  // Nudge the norms and biases off their initial values so their gradients are generic.
  rng r(4);
  for (double& p : m.params()) p += 0.1 * r.normal();
  const batch b = small_batch();
  std::vector<double> grad;
  loss_and_gradient(m, b, &grad);
  REQUIRE(grad.size() == m.parameter_count());
  const double h = 1e-5;
  for (const auto& slot : m.layout().slots()) {
    double worst = 0;
    for (std::size_t k = 0; k < std::min<std::size_t>(slot.size(), 6); ++k) {
      // Spread the probed entries over the tensor.
      const std::size_t i = slot.offset + (k * 7919) % slot.size();
      const double keep = m.params()[i];
      m.params()[i] = keep + h;
      const double up = loss_and_gradient<double>(m, b, nullptr);
      m.params()[i] = keep - h;
      const double down = loss_and_gradient<double>(m, b, nullptr);
      m.params()[i] = keep;
      const double numeric = (up - down) / (2 * h);
      worst = std::max(worst, std::abs(numeric - grad[i]) / std::max(1e-6, std::abs(numeric) + std::abs(grad[i])));
    }
    CHECK_MESSAGE(worst < 1e-5, slot.name);
  }
  // Padding tokens' embeddings get no gradient: nothing valid depends on them.
  const auto& tok = m.layout().slots()[m.layout().tok_emb];
  for (int c = 0; c < 8; ++c) CHECK(grad[tok.offset + static_cast<std::size_t>(c)] == 0.0);  // token 0 = <pad>
}

TEST_CASE("a few training steps on a tiny configuration lower the loss") {
  std::vector<std::vector<int>> sequences = {
      {2, 5, 6, 7, 3, 8, 9, 3}, {2, 8, 9, 3}, {2, 5, 9, 7, 3}, {2, 10, 6, 3, 11}, {2, 11, 4, 3}};
  transformer<float> m(tiny_config(12));
  m.init(1);
  train_options o;
  o.steps = 40;
  o.batch_size = 4;
  o.warmup = 5;
  o.learning_rate = 1e-2;
  const auto report = train(m, sequences, o);
  REQUIRE(report.losses.size() == 40);
  double tail = 0;
  for (int i = 35; i < 40; ++i) tail += report.losses[static_cast<std::size_t>(i)] / 5;
  CHECK(tail < 0.6 * report.losses.front());
  // Same seed, same result: training is deterministic.
  transformer<float> m2(tiny_config(12));
  m2.init(1);
  const auto report2 = train(m2, sequences, o);
  CHECK(report2.losses == report.losses);
  CHECK(m2.params() == m.params());
}

TEST_CASE("sampling is reproducible from its seed and independent of batching") {
  transformer<float> m(tiny_config(12));
  m.init(2);
  const std::vector<std::vector<int>> prompts(7, std::vector<int>{2, 5});
  sampling_options o;
  o.seed = 42;
  o.max_new_tokens = 5;
  o.top_k = 6;
  const auto a = generate(m, prompts, o);
  const auto b = generate(m, prompts, o, {}, 3);
  CHECK(a == b);
  o.seed = 43;
  const auto c = generate(m, prompts, o);
  CHECK(a != c);
  for (const auto& s : a)
    for (int t : s) CHECK(t != tokenizer::eos);
  // Different continuations of one prompt differ (they draw from separate streams).
  CHECK(std::set<std::vector<int>>(a.begin(), a.end()).size() > 1);
  o.temperature = 0;  // greedy: all equal
  const auto g = generate(m, prompts, o);
  CHECK(std::set<std::vector<int>>(g.begin(), g.end()).size() == 1);
}

TEST_CASE("perplexity and probe helpers agree with the loss") {
  transformer<double> m(tiny_config(12));
  m.init(6);
  const batch b = small_batch();
  const double loss = loss_and_gradient<double>(m, b, nullptr);
  const nll_sum s = sequence_nll(m, {{2, 5, 6, 7, 8, 3}, {2, 9, 4}}, {}, 1);
  CHECK(s.count == 7);
  CHECK(std::log(s.perplexity()) == doctest::Approx(loss).epsilon(1e-9));
}

TEST_CASE("weights round-trip through the safetensors file") {
  const tokenizer tok(grammar_words());
  model_config c = tiny_config(tok.size());
  transformer<float> m(c);
  m.init(8);
  const std::string path = "test_toy_lm_weights.safetensors";
  save_weights(path, m, tok);
  const loaded_model back = load_weights(path);
  std::remove(path.c_str());
  CHECK(back.model.config().d_model == c.d_model);
  CHECK(back.model.config().n_layers == c.n_layers);
  CHECK(back.tok.words() == tok.words());
  CHECK(back.model.params() == m.params());
}

TEST_CASE("the experiments' selection and test parts are disjoint and together hold every evaluation item") {
  const auto disjoint_cover = [](const auto& parts, const auto& all, auto key) {
    std::set<std::string> selection, test;
    for (const auto& x : parts.selection) selection.insert(key(x));
    for (const auto& x : parts.test) test.insert(key(x));
    CHECK_FALSE(parts.selection.empty());
    CHECK_FALSE(parts.test.empty());
    for (const auto& k : test) CHECK(selection.count(k) == 0);
    CHECK(selection.size() == parts.selection.size());  // no repeats inside a part either
    CHECK(test.size() == parts.test.size());
    if (!all.empty()) CHECK(parts.selection.size() + parts.test.size() == all.size());
  };
  const auto text = [](const std::string& s) { return s; };
  disjoint_cover(toxic_prompt_parts(), toxic_prompts(), text);
  disjoint_cover(opener_parts(), neutral_prompts(), text);
  const auto questions = question_parts();
  disjoint_cover(questions, truthfulness_questions(), [](const misconception& m) { return m.prompt; });
  // No question is one the truthfulness maps are fitted on.
  for (std::size_t i = 0; i < misconception_fit_count; ++i)
    for (const auto* part : {&questions.selection, &questions.test})
      for (const auto& q : *part) CHECK(q.prompt != misconceptions()[i].prompt);
  const auto text_parts = perplexity_parts(300);
  CHECK(text_parts.selection.size() == 300);
  CHECK(text_parts.test.size() == 300);
  disjoint_cover(text_parts, std::vector<sentence>{}, [](const sentence& s) { return s.text; });
}

TEST_CASE("bootstrap, budget edge and verdict helpers of the experiments") {
  using namespace examples_common;
  // Resamples keep each stratum's size and draw only from it.
  const std::vector<std::size_t> strata = {0, 1, 0, 1, 0, 2};
  const auto rs = bootstrap_resamples(strata, {50, 3});
  REQUIRE(rs.size() == 50);
  for (const auto& r : rs) {
    REQUIRE(r.size() == strata.size());
    std::vector<int> count(3, 0);
    for (const std::size_t i : r) ++count[strata[i]];
    CHECK(count == std::vector<int>{3, 2, 1});
  }
  CHECK(bootstrap_resamples(strata, {50, 3}) == rs);  // fixed seed: the same resamples
  // Percentiles by linear interpolation: 0..100 gives 2.5 and 97.5.
  std::vector<double> v;
  for (int i = 100; i >= 0; --i) v.push_back(i);
  const interval ci = percentile_interval(v);
  CHECK(ci.lo == doctest::Approx(2.5));
  CHECK(ci.hi == doctest::Approx(97.5));
  // The interval of a proportion's bootstrap is near the normal one: p = 0.3, n = 400, sd ~ 0.0229.
  std::vector<std::uint8_t> hits(400, 0);
  for (std::size_t i = 0; i < 120; ++i) hits[i] = 1;
  const auto p = bootstrap_interval(bootstrap_resamples(std::vector<std::size_t>(400, 0), {4000, 9}),
                                    [&](const auto& idx) { return mean_over(hits, &idx); });
  CHECK(p.lo == doctest::Approx(0.3 - 1.96 * 0.0229).epsilon(0.03));
  CHECK(p.hi == doctest::Approx(0.3 + 1.96 * 0.0229).epsilon(0.03));
  // The budget edge of a threshold at 2.7: doubling 0.25 ... 2, 4, then halvings of [2, 4].
  const double edge = budget_edge([](double l) { return l <= 2.7; }, 0.25, 64, 10);
  CHECK(edge <= 2.7);
  CHECK(edge > 2.7 - 2.0 / 1024);
  CHECK(budget_edge([](double) { return true; }, 0.25, 64, 10) == 64);
  CHECK(budget_edge([](double) { return false; }, 0.25, 64, 3) == 0);
  CHECK(budget_grid(2.0, 4) == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5});
  // Verdicts by the interval.
  CHECK(judge({4.1, 5}, 4, true) == verdict::met);
  CHECK(judge({3.1, 4.9}, 4, true) == verdict::undecided);
  CHECK(judge({2, 3.9}, 4, true) == verdict::missed);
  CHECK(judge({0.01, 0.09}, 0.10, false) == verdict::met);
  CHECK(judge({0.05, 0.12}, 0.10, false) == verdict::undecided);
  CHECK(judge({0.11, 0.2}, 0.10, false) == verdict::missed);
  const auto halves = alternate_split(std::vector<int>{1, 2, 3, 4, 5});
  CHECK(halves.selection == std::vector<int>{1, 3, 5});
  CHECK(halves.test == std::vector<int>{2, 4});
}
