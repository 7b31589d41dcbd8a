// act::llama::eval_callback on a tiny random llama model: steering equals llama.cpp's own control
// vectors, Linear-AcT is applied exactly and only downstream tensors change, capture pools per prompt,
// and mistakes are reported after the decode.

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <gguf.h>

#include <act/act.hpp>
#include <act/io/control_vector_maps.hpp>

#include "llama_test_util.hpp"

#ifdef ACT_LLAMA_HAVE_COMMON
#include "common.h"
#include "log.h"
#endif

using namespace act_llama_test;
using rows_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

/// Mean-pooled `tensor` of the sad (source) and happy (target) prompts.
act::site_samples pooled(const std::string& tensor, act::pooling how = act::pooling::mean) {
  act::llama::eval_callback cb;
  const context_ptr ctx = make_context(&cb, 8);
  act::site_samples s;
  s.source = act::llama::capture_prompts(ctx.get(), cb, act::llama::tokenize_all(tiny_vocab(), sad_prompts()), {tensor},
                                         how)[tensor];
  s.target = act::llama::capture_prompts(ctx.get(), cb, act::llama::tokenize_all(tiny_vocab(), happy_prompts()),
                                         {tensor}, how)[tensor];
  return s;
}

/// Loads a control-vector file the way llama.cpp does and sets it on `ctx` (layers 1 .. n_layer, as
/// llama.cpp's tools do when no range is given). With llama.cpp's common library: its loader itself;
/// otherwise ggml's GGUF reader and the loader's rule (direction.N at offset (N - 1) * n_embd).
void set_control_vector(llama_context* ctx, const std::string& path) {
  std::vector<float> data;
  int n_embd = -1;
#ifdef ACT_LLAMA_HAVE_COMMON
  common_log_pause(common_log_main());  // its messages go to stderr
  const common_control_vector_data cv = common_control_vector_load({{1.0f, path}});
  data = cv.data;
  n_embd = cv.n_embd;
#else
  ggml_context* meta = nullptr;
  gguf_init_params params{false, &meta};
  gguf_context* g = gguf_init_from_file(path.c_str(), params);
  REQUIRE(g != nullptr);
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    const std::string name = gguf_get_tensor_name(g, i);
    const int layer = std::stoi(name.substr(name.find('.') + 1));
    const ggml_tensor* t = ggml_get_tensor(meta, name.c_str());
    n_embd = static_cast<int>(ggml_nelements(t));
    data.resize(std::max(data.size(), static_cast<std::size_t>(layer * n_embd)), 0.0f);
    const float* src = static_cast<const float*>(t->data);
    for (int j = 0; j < n_embd; ++j) data[static_cast<std::size_t>((layer - 1) * n_embd + j)] += src[j];
  }
  gguf_free(g);
  ggml_free(meta);
#endif
  REQUIRE(n_embd == tiny_embd);
  REQUIRE(llama_set_adapter_cvec(ctx, data.data(), data.size(), n_embd, 1, tiny_layers) == 0);
}

rows_matrix rows_of(const act::llama::eval_callback& cb, const std::string& tensor) { return cb.rows(tensor); }

}  // namespace

TEST_CASE("adapter: a CAA map at l_out-2 gives the logits of its exported control vector loaded by llama.cpp") {
  const act::site_samples s = pooled("l_out-2");
  const auto fit = act::fit("caa", s.source, s.target);
  act::map_set maps;
  maps.insert("l_out-2", fit.map, {"caa", fit.source_samples, fit.target_samples, "mean", "all"});
  const auto prompt = act::llama::tokenize(tiny_vocab(), "the cat was sad in the rain at night");
  const context_ptr plain = make_context(nullptr);
  const std::vector<float> unsteered = logits_of(plain.get(), prompt);
  scratch_dir dir;
  for (const double lambda : {0.5, 1.0, -1.0}) {
    CAPTURE(lambda);
    act::llama::eval_callback cb(maps, lambda);
    const context_ptr steered_ctx = make_context(&cb);
    const std::vector<float> steered = logits_of(steered_ctx.get(), prompt, &cb);

    act::control_vector_options options;
    options.strength = lambda;
    act::write_control_vector(dir.file("cv.gguf"), act::to_control_vector(maps, options));
    const context_ptr native_ctx = make_context(nullptr);
    set_control_vector(native_ctx.get(), dir.file("cv.gguf"));
    const std::vector<float> native = logits_of(native_ctx.get(), prompt);

    CHECK(max_abs_diff(steered, native) <= 1e-5);
    CHECK(max_abs_diff(steered, unsteered) > 1e-3);  // the vector does something
  }

  // Strength 0, and an all-zero map at strength 1, leave every logit bit for bit as without act.
  act::llama::eval_callback off(maps, 0.0);
  const context_ptr off_ctx = make_context(&off);
  CHECK(logits_of(off_ctx.get(), prompt, &off) == unsteered);
  act::map_set zero;
  zero.insert("l_out-2", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
  act::llama::eval_callback nothing(zero, 1.0);
  const context_ptr zero_ctx = make_context(&nothing);
  CHECK(logits_of(zero_ctx.get(), prompt, &nothing) == unsteered);
}

TEST_CASE(
    "adapter: Linear-AcT at l_out-1 is T_lambda of the unsteered tensor, element by element, and only later tensors "
    "change") {
  const act::site_samples s = pooled("l_out-1");
  const auto fit = act::fit("linear", s.source, s.target);  // support [min, max] of the source
  act::map_set maps;
  maps.insert("l_out-1", fit.map, {"linear", fit.source_samples, fit.target_samples, "mean", "q0_100"});
  const double lambda = 0.8;

  std::vector<std::string> upstream = {"attn_norm-0", "kqv_out-0", "ffn_inp-0", "ffn_out-0", "l_out-0",
                                       "attn_norm-1", "kqv_out-1", "ffn_inp-1", "ffn_out-1"};
  std::vector<std::string> downstream = {"attn_norm-2", "kqv_out-2", "ffn_inp-2", "ffn_out-2",  "l_out-2",
                                         "attn_norm-3", "ffn_out-3", "l_out-3",   "result_norm"};
  std::vector<std::string> all = upstream;
  all.insert(all.end(), downstream.begin(), downstream.end());
  all.push_back("l_out-1");

  const auto prompt = act::llama::tokenize(tiny_vocab(), "you are sad and I hate the bad rain");
  act::llama::eval_callback plain_cb, steer_cb(maps, lambda);
  plain_cb.capture(all, std::nullopt);
  steer_cb.capture(all, std::nullopt);
  const context_ptr plain_ctx = make_context(&plain_cb), steer_ctx = make_context(&steer_cb);
  logits_of(plain_ctx.get(), prompt, &plain_cb);
  logits_of(steer_ctx.get(), prompt, &steer_cb);

  const rows_matrix before = rows_of(plain_cb, "l_out-1"), after = rows_of(steer_cb, "l_out-1");
  REQUIRE(before.rows() == static_cast<Eigen::Index>(prompt.size()));
  REQUIRE(before.cols() == tiny_embd);
  rows_matrix expected = before;
  act::affine_hook<float>(std::get<act::affine_map<float>>(fit.map), lambda)(act::view(expected));
  CHECK((after.array() == expected.array()).all());
  const auto changed = (after.array() != before.array()).count();
  CHECK(changed > 0);
  CHECK(changed < after.size());  // outside the support [min, max] values pass unchanged
  for (const auto& t : upstream) {
    CAPTURE(t);
    CHECK((rows_of(plain_cb, t).array() == rows_of(steer_cb, t).array()).all());
  }
  for (const auto& t : downstream) {
    CAPTURE(t);
    const rows_matrix a = rows_of(plain_cb, t), b = rows_of(steer_cb, t);
    REQUIRE(a.rows() == b.rows());
    CHECK((a.array() != b.array()).any());
  }
}

TEST_CASE("capture: pools only each prompt's own tokens, two prompts of different lengths in one batch") {
  const std::vector<std::string> texts = {"the sun", "I love the day and the night with a good friend"};
  const auto prompts = act::llama::tokenize_all(tiny_vocab(), texts);
  REQUIRE(prompts[0].size() < prompts[1].size());
  const std::vector<std::string> tensors = {"attn_norm-1", "l_out-2", "l_out-3"};  // l_out-3: the last block
  for (const auto how : {act::pooling::mean, act::pooling::last, act::pooling::max}) {
    CAPTURE(act::to_string(how));
    act::llama::eval_callback together_cb;
    const context_ptr together_ctx = make_context(&together_cb, 2);
    auto together = act::llama::capture_prompts(together_ctx.get(), together_cb, prompts, tensors, how);
    for (std::size_t k = 0; k < prompts.size(); ++k) {
      act::llama::eval_callback alone_cb;
      const context_ptr alone_ctx = make_context(&alone_cb, 1);
      auto alone = act::llama::capture_prompts(alone_ctx.get(), alone_cb, {prompts[k]}, tensors, how);
      for (const auto& t : tensors) {
        CAPTURE(t);
        REQUIRE(together[t].rows() == 2);
        REQUIRE(together[t].cols() == tiny_embd);
        // Rows of one (sequence, position) match across batch shapes up to rounding.
        CHECK((together[t].row(static_cast<Eigen::Index>(k)) - alone[t].row(0)).cwiseAbs().maxCoeff() <= 1e-5f);
      }
    }
  }

  // A host that pads: rows marked -1 are in no sample. Prompt 0 followed by three padding tokens pools as
  // prompt 0 alone; the padding rows are really there (raw capture shows them).
  act::llama::eval_callback cb, raw_cb;
  const context_ptr ctx = make_context(&cb, 1), raw_ctx = make_context(&raw_cb, 1);
  std::vector<llama_token> padded = prompts[0];
  padded.insert(padded.end(), 3, 2);
  std::vector<int> sample(padded.size(), 0);
  std::fill(sample.end() - 3, sample.end(), -1);
  cb.capture({"l_out-1"}, act::pooling::mean);
  cb.expect_batch(sample);
  logits_of(ctx.get(), padded, &cb);
  raw_cb.capture({"l_out-1"}, std::nullopt);
  logits_of(raw_ctx.get(), padded, &raw_cb);
  const rows_matrix raw = raw_cb.rows("l_out-1");
  REQUIRE(raw.rows() == static_cast<Eigen::Index>(padded.size()));
  const Eigen::RowVectorXf real_mean =
      raw.topRows(static_cast<Eigen::Index>(prompts[0].size())).cast<double>().colwise().mean().cast<float>();
  CHECK((cb.samples("l_out-1").row(0) - real_mean).cwiseAbs().maxCoeff() <= 1e-6f);
  CHECK((raw.colwise().mean() - real_mean).cwiseAbs().maxCoeff() > 1e-3f);
}

TEST_CASE("adapter: mistakes are reported after the decode, never silently ignored") {
  const auto prompt = act::llama::tokenize(tiny_vocab(), "hello world");
  SUBCASE("a map whose width is not n_embd") {
    act::map_set maps;
    maps.insert("l_out-1", act::affine_map<float>::identity(32), {"caa", 1, 1, "mean", "all"});
    act::llama::eval_callback cb(maps, 1.0);
    const context_ptr ctx = make_context(&cb);
    llama_memory_clear(llama_get_memory(ctx.get()), true);
    std::vector<llama_token> tokens = prompt;
    llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size())));
    try {
      cb.check();
      FAIL("check() did not throw");
    } catch (const act::shape_error& e) {
      CHECK(std::string(e.what()).find("site 'l_out-1': the map has width 32 but llama.cpp's tensor has rows of 64") !=
            std::string::npos);
    }
  }
  SUBCASE("a tensor name the graph never produces, after the first pass") {
    act::map_set maps;
    maps.insert("l_out-9", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
    maps.insert("l_out-1", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
    act::llama::eval_callback cb(maps, 1.0);
    cb.capture({"blk.1.attn_out"}, std::nullopt);
    const context_ptr ctx = make_context(&cb);
    std::vector<llama_token> tokens = prompt;
    llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size())));
    try {
      cb.check();
      FAIL("check() did not throw");
    } catch (const act::invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.find("no tensor named 'l_out-9' in llama.cpp's graph of this model") != std::string::npos);
      CHECK(what.find("no tensor named 'blk.1.attn_out'") != std::string::npos);
      CHECK(what.find("l_out-0..l_out-3") != std::string::npos);  // what the graph has
      CHECK(what.find("attn_norm-0..attn_norm-3") != std::string::npos);
      CHECK(what.find("'l_out-1'") == std::string::npos);
    }
    CHECK(cb.graph_names().front() == "embd");
  }
  SUBCASE("a name llama.cpp gives to several nodes") {
    act::map_set maps;
    maps.insert("norm-1", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
    act::llama::eval_callback cb(maps, 1.0);
    const context_ptr ctx = make_context(&cb);
    std::vector<llama_token> tokens = prompt;
    llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size())));
    CHECK_THROWS_WITH_AS(cb.check(), doctest::Contains("gives the name 'norm-1' to 2 graph nodes (RMS_NORM, RMS_NORM)"),
                         act::invalid_argument);
  }
  SUBCASE("a map whose result overflows where the tensor was finite") {
    // The unsteered rows of l_out-1 first: a scale of FLT_MAX overflows every value of magnitude above 1.
    act::llama::eval_callback plain;
    plain.capture({"l_out-1"}, std::nullopt);
    const context_ptr plain_ctx = make_context(&plain);
    logits_of(plain_ctx.get(), prompt, &plain);
    REQUIRE(plain.rows("l_out-1").cwiseAbs().maxCoeff() > 1.0f);
    act::map_set maps;
    auto m = act::affine_map<float>::identity(tiny_embd);
    m.omega.setConstant(std::numeric_limits<float>::max());
    maps.insert("l_out-1", m, {"linear", 1, 1, "mean", "all"});
    act::llama::eval_callback cb(maps, 1.0);
    const context_ptr ctx = make_context(&cb);
    std::vector<llama_token> tokens = prompt;
    llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size())));
    CHECK_THROWS_WITH_AS(cb.check(), doctest::Contains("site 'l_out-1' at strength 1 turns the finite value"),
                         act::non_finite_error);
  }
  SUBCASE("pooling without a description of the batch") {
    act::llama::eval_callback cb;
    cb.capture({"l_out-1"}, act::pooling::mean);
    const context_ptr ctx = make_context(&cb);
    std::vector<llama_token> tokens = prompt;
    llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size())));
    CHECK_THROWS_WITH_AS(cb.check(), doctest::Contains("needs expect_batch()"), act::invalid_argument);
  }
  SUBCASE("the last block without every token as output") {
    act::llama::eval_callback cb;
    cb.capture({"l_out-3"}, act::pooling::mean);
    const context_ptr ctx = make_context(&cb);
    std::vector<llama_token> tokens = prompt;
    cb.expect_batch(std::vector<int>(tokens.size(), 0));
    llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size())));
    CHECK_THROWS_WITH_AS(cb.check(), doctest::Contains("keeps only the rows of output tokens"), act::invalid_argument);
  }
}

TEST_CASE("adapter: a callback installed before keeps being called") {
  struct counter {
    int asked = 0, seen = 0;
    static bool cb(ggml_tensor* t, bool ask, void* data) {
      auto* self = static_cast<counter*>(data);
      if (ask) return ++self->asked, std::string_view(t->name) == "ffn_out-0";
      ++self->seen;
      return true;
    }
  } count;
  act::map_set maps;
  maps.insert("l_out-1", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
  act::llama::eval_callback cb(maps, 1.0);
  llama_context_params p = act::llama::capture_context_params(512, 1, 1);
  p.cb_eval = &counter::cb;
  p.cb_eval_user_data = &count;
  cb.attach(p);
  const context_ptr ctx(llama_init_from_model(tiny_model(), p));
  const auto prompt = act::llama::tokenize(tiny_vocab(), "hello world");
  const std::vector<float> a = logits_of(ctx.get(), prompt, &cb);
  CHECK(count.asked > 50);
  CHECK(count.seen == 1);
}
