// The act-llama tool end to end on the tiny random model: capture, fit (causal = capture-then-fit by hand,
// layer by layer), generate, and its answers to bad input (exit status 1, one line; usage errors 2).

#include <string>
#include <vector>

#include <act/act.hpp>
#include <act/io/control_vector_maps.hpp>
#include <act/io/npy.hpp>

#include "llama_test_util.hpp"

using namespace act_llama_test;

namespace {

const std::string tool = ACT_LLAMA_PATH;

/// The common arguments: the tiny model, one thread.
std::string model_args() { return "--model " + tiny_model_path() + " --threads 1"; }

/// Pooled `tensor` of `prompts` with the adapter used directly: one prompt per decode, `installed` steering.
Eigen::MatrixXf by_hand(const std::vector<std::string>& prompts, const std::string& tensor, const act::map_set& installed) {
  act::llama::eval_callback cb;
  if (!installed.empty()) cb.steer(installed, 1.0);
  cb.capture({tensor}, act::pooling::mean);
  const context_ptr ctx = make_context(&cb);
  const auto tokens = act::llama::tokenize_all(tiny_vocab(), prompts);
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    cb.expect_batch(std::vector<int>(tokens[k].size(), static_cast<int>(k)));
    logits_of(ctx.get(), tokens[k], &cb);
  }
  return cb.samples(tensor);
}

void check_close(const act::affine_map<float>& a, const act::affine_map<float>& b, float tolerance) {
  REQUIRE(a.dim() == b.dim());
  CHECK((a.omega - b.omega).abs().maxCoeff() <= tolerance);
  CHECK((a.beta - b.beta).abs().maxCoeff() <= tolerance);
  REQUIRE(a.bounded() == b.bounded());
  if (a.bounded()) {
    CHECK((a.lower - b.lower).abs().maxCoeff() <= tolerance);
    CHECK((a.upper - b.upper).abs().maxCoeff() <= tolerance);
  }
}

const act::affine_map<float>& affine(const act::map_set& maps, const std::string& site) {
  return std::get<act::affine_map<float>>(maps.at(site).map);
}

}  // namespace

TEST_CASE("act-llama capture writes DIR/<tensor>.npy, float32 [prompts x n_embd], pooled per prompt") {
  scratch_dir dir;
  std::vector<std::string> lines = happy_prompts();
  lines.insert(lines.begin() + 2, "");  // empty lines are skipped
  write_lines(dir.file("p.txt"), lines);
  for (const std::string pooling : {"mean", "last"}) {
    CAPTURE(pooling);
    const auto r = run(tool, fmt::format("capture {} --prompts {} --tensors l_out-1,attn_norm-2 --pooling {} --out {}", model_args(),
                                         dir.file("p.txt"), pooling, dir.file("caps")),
                       dir);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(r.out.find("2 tensor(s) of 6 prompts") != std::string::npos);
    act::llama::eval_callback cb;
    const context_ptr ctx = make_context(&cb, 16);
    auto expected = act::llama::capture_prompts(ctx.get(), cb, act::llama::tokenize_all(tiny_vocab(), happy_prompts()),
                                                {"l_out-1", "attn_norm-2"}, act::parse_pooling(pooling));
    for (const std::string t : {"l_out-1", "attn_norm-2"}) {
      const auto a = act::read_npy(dir.file("caps/" + t + ".npy"));
      REQUIRE(a.shape == std::vector<std::size_t>{6, static_cast<std::size_t>(tiny_embd)});
      CHECK(a.descr == "<f4");
      const Eigen::MatrixXf m = act::load_npy_matrix(dir.file("caps/" + t + ".npy"));
      CHECK((m - expected[t]).cwiseAbs().maxCoeff() <= 1e-6f);
    }
  }
}

TEST_CASE("act-llama fit --causal equals capture-then-fit by hand, layer by layer") {
  scratch_dir dir;
  write_lines(dir.file("sad.txt"), sad_prompts());
  write_lines(dir.file("happy.txt"), happy_prompts());
  // Listed backwards: the tool fits in graph order.
  const std::string common = fmt::format("fit {} --source-prompts {} --target-prompts {} --tensors l_out-2,l_out-1 --method linear",
                                         model_args(), dir.file("sad.txt"), dir.file("happy.txt"));
  auto r = run(tool, common + " --causal --out " + dir.file("causal.safetensors"), dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("linear at l_out-1, l_out-2 (causal)") != std::string::npos);
  r = run(tool, common + " --out " + dir.file("default.safetensors"), dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  r = run(tool, common + " --simultaneous --out " + dir.file("simultaneous.safetensors"), dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const act::map_set causal = act::load_maps(dir.file("causal.safetensors"));
  const act::map_set by_default = act::load_maps(dir.file("default.safetensors"));
  const act::map_set simultaneous = act::load_maps(dir.file("simultaneous.safetensors"));

  // By hand: l_out-1 from unsteered passes; l_out-2 from source passes with l_out-1's map applied.
  const act::map_set none;
  const auto m1 = act::fit("linear", by_hand(sad_prompts(), "l_out-1", none), by_hand(happy_prompts(), "l_out-1", none));
  act::map_set installed;
  installed.insert("l_out-1", m1.map, {"linear", 6, 6, "mean", "q0_100"});
  const auto m2 = act::fit("linear", by_hand(sad_prompts(), "l_out-2", installed), by_hand(happy_prompts(), "l_out-2", none));
  const auto m2_plain = act::fit("linear", by_hand(sad_prompts(), "l_out-2", none), by_hand(happy_prompts(), "l_out-2", none));

  REQUIRE(causal.sites() == std::vector<std::string>{"l_out-1", "l_out-2"});
  check_close(affine(causal, "l_out-1"), std::get<act::affine_map<float>>(m1.map), 1e-5f);
  check_close(affine(causal, "l_out-2"), std::get<act::affine_map<float>>(m2.map), 1e-5f);
  check_close(affine(by_default, "l_out-2"), affine(causal, "l_out-2"), 0.0f);  // causal is the default
  check_close(affine(simultaneous, "l_out-2"), std::get<act::affine_map<float>>(m2_plain.map), 1e-5f);
  CHECK((affine(simultaneous, "l_out-2").beta - affine(causal, "l_out-2").beta).abs().maxCoeff() > 1e-4f);

  const auto& info = causal.at("l_out-2").info;
  CHECK(info.method == "linear");
  CHECK(info.pooling == "mean");
  CHECK(info.support == "q0_100");
  CHECK(info.source_samples == 6);
  CHECK(causal.metadata().at("controlvector.model_hint") == "llama");
}

TEST_CASE("act-llama generate: greedy text, maps applied at their tensors, strength 0 changes nothing") {
  scratch_dir dir;
  const std::string base = fmt::format("generate {} --prompt \"the cat is\" -n 12 --temp 0", model_args());
  const auto plain = run(tool, base, dir);
  REQUIRE_MESSAGE(plain.status == 0, plain.err);
  CHECK(plain.out.rfind("the cat is", 0) == 0);
  CHECK(plain.out.size() > std::string("the cat is\n").size());
  CHECK(plain.err.find("12 tokens generated") != std::string::npos);
  CHECK(run(tool, base, dir).out == plain.out);

  // A CAA map at l_out-1 from the tool's own fit.
  write_lines(dir.file("sad.txt"), sad_prompts());
  write_lines(dir.file("happy.txt"), happy_prompts());
  auto r = run(tool, fmt::format("fit {} --source-prompts {} --target-prompts {} --tensors l_out-1 --method caa --out {}", model_args(),
                                 dir.file("sad.txt"), dir.file("happy.txt"), dir.file("caa.safetensors")),
               dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto off = run(tool, base + " --maps " + dir.file("caa.safetensors") + " --strength 0", dir);
  REQUIRE_MESSAGE(off.status == 0, off.err);
  CHECK(off.out == plain.out);
  const auto on = run(tool, base + " --maps " + dir.file("caa.safetensors") + " --strength 6", dir);
  REQUIRE_MESSAGE(on.status == 0, on.err);
  CHECK(on.out.rfind("the cat is", 0) == 0);
  CHECK(on.out != plain.out);
  CHECK(on.err.find("1 map(s)") != std::string::npos);

  // Sampling: the seed decides.
  const std::string sampled = fmt::format("generate {} --prompt \"hello\" -n 8 --temp 0.9 --seed 7", model_args());
  const auto s1 = run(tool, sampled, dir), s2 = run(tool, sampled, dir);
  REQUIRE(s1.status == 0);
  CHECK(s1.out == s2.out);
}

TEST_CASE("act-llama: bad input gives exit status 1 and one line, usage errors 2 with the usage text") {
  scratch_dir dir;
  write_lines(dir.file("p.txt"), happy_prompts());
  write_lines(dir.file("not.gguf"), {"this is not a model"});
  auto r = run(tool, fmt::format("capture --model {} --prompts {} --tensors l_out-1 --out {}", dir.file("not.gguf"),
                                 dir.file("p.txt"), dir.file("o")),
               dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("not.gguf: bad magic, not a GGUF file") != std::string::npos);

  act::map_set narrow;
  narrow.insert("l_out-1", act::affine_map<float>::identity(32), {"caa", 1, 1, "mean", "all"});
  act::save_maps(dir.file("narrow.safetensors"), narrow);
  r = run(tool, fmt::format("generate {} --maps {} --prompt hello -n 2", model_args(), dir.file("narrow.safetensors")), dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("the map has width 32 but llama.cpp's tensor has rows of 64") != std::string::npos);

  act::map_set elsewhere;
  elsewhere.insert("l_out-9", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
  act::save_maps(dir.file("elsewhere.safetensors"), elsewhere);
  r = run(tool, fmt::format("generate {} --maps {} --prompt hello -n 2", model_args(), dir.file("elsewhere.safetensors")), dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("no tensor named 'l_out-9' in llama.cpp's graph of this model (it has embd, norm-0..norm-3, attn_norm-0..attn_norm-3") != std::string::npos);
  r = run(tool, fmt::format("capture {} --prompts {} --tensors l_out-1,ffn_outt-2 --out {}", model_args(), dir.file("p.txt"),
                            dir.file("o")),
          dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("no tensor named 'ffn_outt-2'") != std::string::npos);

  r = run(tool, fmt::format("capture {} --prompts {} --tensors l_out-1 --out {}", model_args(), dir.file("missing.txt"), dir.file("o")), dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("missing.txt: cannot open the prompt file") != std::string::npos);

  for (const std::string usage :
       {"", "nope", "capture --prompts p --tensors l_out-1 --out o", "generate --model m --prompt x --bogus 1",
        "fit --model m --source-prompts a --target-prompts b --tensors t --method nope --out o",
        "fit --model m --source-prompts a --target-prompts b --tensors t --method linear --causal --simultaneous --out o",
        "capture --model m --prompts p --tensors a,,b --out o", "generate --model m --prompt x -n -3"}) {
    CAPTURE(usage);
    r = run(tool, usage, dir);
    CHECK(r.status == 2);
    CHECK(r.err.find("usage:") != std::string::npos);
  }
  CHECK(run(tool, "--help", dir).status == 0);
  // The parser shared with act-cli (tools/common/arguments.hpp): per-command help, suggestions, stray words.
  r = run(tool, "fit --help", dir);
  CHECK(r.status == 0);
  CHECK(r.out.find("usage:") != std::string::npos);
  r = run(tool, "generate --modle m --prompt x", dir);
  CHECK(r.status == 2);
  CHECK(r.err.find("did you mean --model?") != std::string::npos);
  r = run(tool, "generate --model m --prompt x stray", dir);
  CHECK(r.status == 2);
  CHECK(r.err.find("unexpected argument 'stray'") != std::string::npos);
}
