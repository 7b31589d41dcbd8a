// The toy Gemma in two engines: llama.cpp runs the committed gemma3 GGUF file, act's engine
// (examples/toy_gemma/model.hpp) the same file. Their tokenizers and logits agree; act-llama fit + generate
// makes it less toxic; the llama.cpp guide's example on it prints what the guide shows.

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "llama_test_util.hpp"
#include "toy_gemma_util.hpp"

using namespace act_llama_test;

TEST_CASE("toy gemma: llama.cpp's tokenizer gives the toy tokenizer's ids on every corpus sentence") {
  const toy_lm::tokenizer tok = toy_lm::default_tokenizer();
  const llama_vocab* vocab = llama_model_get_vocab(toy_gemma_model());
  REQUIRE(llama_vocab_n_tokens(vocab) == tok.size());
  const toy_lm::corpus c = toy_lm::default_corpus();
  std::set<std::string> texts;
  for (const auto* part : {&c.train, &c.heldout})
    for (const auto& s : *part) texts.insert(s.text);
  CHECK(texts.size() > 10000);
  std::size_t mismatches = 0;
  for (const auto& text : texts) {
    const std::vector<llama_token> ids = act::llama::tokenize(vocab, text);
    const std::vector<int> expected = tok.encode_prompt(text);
    if (!std::equal(ids.begin(), ids.end(), expected.begin(), expected.end()) && ++mismatches <= 3)
      MESSAGE("tokenized differently: " << text);
  }
  CHECK(mismatches == 0);
  // A word outside the vocabulary is <unk> in both, and llama.cpp's pieces print the words back.
  CHECK(act::llama::tokenize(vocab, "you are such a zebra", false) ==
        std::vector<llama_token>{tok.id("you"), tok.id("are"), tok.id("such"), tok.id("a"), toy_lm::tokenizer::unk});
  CHECK(piece_text(vocab, act::llama::tokenize(vocab, "the dog was very happy", false)) == " the dog was very happy");
}

namespace {

/// Largest |a - b| over two equally long float sequences.
template <class A, class B>
double max_diff(const A& a, const B& b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

/// Rows of the largest logit in each engine agree, token by token.
bool same_argmax(const std::vector<float>& llama, const toy_lm::matrix<float>& ours) {
  for (Eigen::Index r = 0; r < ours.rows(); ++r) {
    Eigen::Index a = 0, b = 0;
    Eigen::Map<const Eigen::RowVectorXf>(llama.data() + r * ours.cols(), ours.cols()).maxCoeff(&a);
    ours.row(r).maxCoeff(&b);
    if (a != b) return false;
  }
  return true;
}

}  // namespace

// llama.cpp's CPU gelu reads a table of half-precision values at the half-rounded input, so two inputs a
// float rounding apart can land one half-precision step apart (about 1e-3 near 2): the engines agree to
// float rounding until the first gelu, and to a few 1e-3 in the logits, where such a step has passed
// through the later blocks. llama.cpp's own kernels differ from each other the same way: the same tokens
// token by token (one-token ubatches) or through its flash-attention kernel give other logits too.
constexpr double logit_tolerance = 5e-3;

TEST_CASE("toy gemma: act's engine and llama.cpp give the same logits on held-out sentences") {
  const toy_gemma::model& engine = toy_gemma_engine();
  const toy_lm::tokenizer tok = toy_lm::default_tokenizer();
  const toy_lm::corpus c = toy_lm::default_corpus();
  const std::vector<std::string> early = {"attn_norm-0", "attn_post_norm-0", "sa_out-0", "ffn_norm-0"};
  act::llama::eval_callback cb;
  cb.capture(early, std::nullopt);
  context_ptr ctx = toy_gemma_context(&cb);
  context_ptr by_token = toy_gemma_context(nullptr, 64, {1, false});
  context_ptr flash = toy_gemma_context(nullptr, 64, {0, true});
  double worst = 0, biggest = 0, worst_early = 0, llama_by_token = 0, llama_flash = 0;
  for (std::size_t k = 0; k < 24; ++k) {
    const std::vector<int> ids = tok.encode_sentence(c.heldout[k * 50].text);
    const std::vector<llama_token> tokens(ids.begin(), ids.end());
    cb.clear_captured();
    const std::vector<float> llama = logits_of(ctx.get(), tokens, &cb);
    llama_by_token = std::max(llama_by_token, max_abs_diff(llama, logits_of(by_token.get(), tokens)));
    llama_flash = std::max(llama_flash, max_abs_diff(llama, logits_of(flash.get(), tokens)));
    std::map<std::string, toy_lm::matrix<float>> sites;
    const toy_lm::matrix<float> ours = engine.forward(
        toy_lm::batch::from_sequences({ids}),
        [&](std::string_view site, Eigen::Ref<toy_lm::matrix<float>> acts) { sites[std::string(site)] = acts; });
    REQUIRE(llama.size() == static_cast<std::size_t>(ours.size()));
    for (const auto& name : early) {
      const Eigen::MatrixXf rows = cb.rows(name);
      REQUIRE(rows.rows() == sites.at(name).rows());
      worst_early = std::max(worst_early, double((rows - sites.at(name)).cwiseAbs().maxCoeff()));
    }
    worst = std::max(worst, max_diff(llama, ours.data(), llama.size()));
    biggest = std::max(biggest, double(ours.cwiseAbs().maxCoeff()));
    CHECK(same_argmax(llama, ours));
  }
  MESSAGE("max |difference|: " << worst_early << " before the first gelu, " << worst
                               << " in the logits (largest |logit| " << biggest << "); llama.cpp against itself: "
                               << llama_by_token << " token by token, " << llama_flash << " with flash attention");
  CHECK(biggest > 1.0);  // a trained model, not zeros
  CHECK(worst_early <= 1e-5);
  CHECK(worst <= logit_tolerance);
  // act's engine is at least as close to llama.cpp as llama.cpp's flash-attention kernel is.
  CHECK(worst <= llama_flash);
}

TEST_CASE("toy gemma: a steering hook at a post-norm site changes both engines alike") {
  // Adds a fixed vector at attn_post_norm-1 in each engine (act's hook; an affine map through act's
  // eval_callback in llama.cpp): the steered logits agree as the plain ones do, so the site names mean
  // the same tensor in both.
  const toy_gemma::model& engine = toy_gemma_engine();
  const toy_lm::tokenizer tok = toy_lm::default_tokenizer();
  const int d = engine.config().d_model;
  Eigen::VectorXf shift(d);
  for (int j = 0; j < d; ++j) shift(j) = 0.5f * std::sin(0.7f * float(j));
  act::affine_map<float> shift_map = act::affine_map<float>::identity(d);
  shift_map.beta = shift.array();
  act::map_set maps;
  maps.insert("attn_post_norm-1", shift_map, {});
  act::llama::eval_callback cb(maps, 1.0);
  context_ptr ctx = toy_gemma_context(&cb);
  const std::vector<int> ids = tok.encode_prompt("you are such a");
  const std::vector<float> llama = logits_of(ctx.get(), {ids.begin(), ids.end()}, &cb);
  const toy_lm::matrix<float> plain = engine.forward(toy_lm::batch::from_sequences({ids}));
  const toy_lm::matrix<float> ours = engine.forward(toy_lm::batch::from_sequences({ids}),
                                                    [&](std::string_view site, Eigen::Ref<toy_lm::matrix<float>> acts) {
                                                      if (site == "attn_post_norm-1")
                                                        acts.rowwise() += shift.transpose();
                                                    });
  CHECK(max_diff(ours.data(), plain.data(), llama.size()) > 0.1);
  CHECK(max_diff(llama, ours.data(), llama.size()) <= logit_tolerance);
}

namespace {

/// Toxic words in the text act-llama generated after `prompt`.
bool toxic_continuation(const std::string& out, const std::string& prompt) {
  REQUIRE(out.rfind(prompt, 0) == 0);
  const toy_lm::tokenizer tok = toy_lm::default_tokenizer();
  std::vector<std::string> words;
  for (const int id : tok.encode(out.substr(prompt.size()))) words.push_back(tok.word(id));
  return toy_lm::contains_any(words, toy_lm::toxic_lexicon());
}

}  // namespace

TEST_CASE("toy gemma: act-llama fit + generate lowers the toxicity of the toxic-eliciting prompts") {
  scratch_dir dir;
  std::vector<std::string> toxic, polite;
  for (const auto& s : toy_lm::sample_sentences(101, 100, toy_lm::sentence_kind::toxic)) toxic.push_back(s.text);
  for (const auto& s : toy_lm::sample_sentences(102, 100, toy_lm::sentence_kind::polite)) polite.push_back(s.text);
  write_lines(dir.file("toxic.txt"), toxic);
  write_lines(dir.file("polite.txt"), polite);
  const std::string tool = ACT_LLAMA_PATH;
  const std::string model = "--model " + toy_gemma_path() + " --threads 1";
  std::string sites;
  for (int b = 0; b < 4; ++b) sites += fmt::format("{}attn_post_norm-{},ffn_post_norm-{}", b ? "," : "", b, b);
  const auto fit = run(
      tool,
      fmt::format("fit {} --source-prompts {} --target-prompts {} --tensors {} --method linear --support all --out {}",
                  model, dir.file("toxic.txt"), dir.file("polite.txt"), sites, dir.file("polite.safetensors")),
      dir);
  REQUIRE_MESSAGE(fit.status == 0, fit.err);
  int plain = 0, steered = 0, runs = 0;
  // A seed per run: llama.cpp's sampler draws from its seed, so one seed for every prompt would correlate them.
  int seed = 0;
  for (const auto& prompt : toy_lm::toxic_prompts()) {
    for (int k = 0; k < 3; ++k) {
      ++seed;
      const std::string args = fmt::format("generate {} --prompt \"{}\" -n 10 --temp 1 --seed {}", model, prompt, seed);
      const auto a = run(tool, args, dir);
      const auto b = run(tool, args + " --maps " + dir.file("polite.safetensors") + " --strength 1", dir);
      REQUIRE_MESSAGE(a.status == 0, a.err);
      REQUIRE_MESSAGE(b.status == 0, b.err);
      plain += toxic_continuation(a.out, prompt);
      steered += toxic_continuation(b.out, prompt);
      ++runs;
    }
  }
  MESSAGE("toxic continuations of " << runs << ": " << plain << " unsteered, " << steered << " with Linear-AcT");
  CHECK(plain >= runs / 4);
  CHECK(2 * steered <= plain);
}

#ifdef ACT_TOY_LM_PATH
TEST_CASE("toy gemma: the llama.cpp guide's capture / fit / generate example prints what the guide shows") {
  // The guide's first shell block on the toy Gemma, run as written from a scratch folder (with this build's
  // folder for B and the source tree's model for M), and the output block that follows it.
  const std::string guide = slurp(std::string(ACT_SOURCE_DIR) + "/docs/llama-cpp.md");
  const std::string head = "```sh\nB=build/test\nM=examples/toy_gemma/toy_gemma.gguf\n";
  const auto start = guide.find(head);
  REQUIRE(start != std::string::npos);
  const auto end = guide.find("```\n", start + head.size());
  REQUIRE(end != std::string::npos);
  const auto shown = guide.find("```\n", end + 4);
  REQUIRE(shown == end + 4);
  const auto shown_end = guide.find("```\n", shown + 4);
  REQUIRE(shown_end != std::string::npos);
  std::string script = guide.substr(start + head.size(), end - start - head.size());
  script = fmt::format("B={}\nM={}\n", ACT_BINARY_DIR, toy_gemma_path()) + script;
  scratch_dir dir;
  write_lines(dir.file("example.sh"), {script});
  const auto r = run("cd " + dir.file("") + " && bash", "-e example.sh", dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out == guide.substr(shown + 4, shown_end - shown - 4));
}
#endif
