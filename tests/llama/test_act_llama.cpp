// The act-llama tool end to end on the tiny random model: capture, fit (causal = capture-then-fit by hand,
// layer by layer), generate, and its answers to bad input (exit status 1, one line; usage errors 2).

#include <sys/stat.h>

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
Eigen::MatrixXf by_hand(const std::vector<std::string>& prompts, const std::string& tensor,
                        const act::map_set& installed) {
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

/// A CAA map at l_out-1 from the tool's own fit (sad -> happy prompts): DIR/caa.safetensors.
std::string fit_caa(const scratch_dir& dir) {
  write_lines(dir.file("sad.txt"), sad_prompts());
  write_lines(dir.file("happy.txt"), happy_prompts());
  const auto r =
      run(tool,
          fmt::format("fit {} --source-prompts {} --target-prompts {} --tensors l_out-1 --method caa --out {}",
                      model_args(), dir.file("sad.txt"), dir.file("happy.txt"), dir.file("caa.safetensors")),
          dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return dir.file("caa.safetensors");
}

}  // namespace

TEST_CASE("act-llama capture writes DIR/<tensor>.npy, float32 [prompts x n_embd], pooled per prompt") {
  scratch_dir dir;
  std::vector<std::string> lines = happy_prompts();
  lines.insert(lines.begin() + 2, "");  // empty lines are skipped
  write_lines(dir.file("p.txt"), lines);
  for (const std::string pooling : {"mean", "last"}) {
    CAPTURE(pooling);
    const auto r = run(tool,
                       fmt::format("capture {} --prompts {} --tensors l_out-1,attn_norm-2 --pooling {} --out {}",
                                   model_args(), dir.file("p.txt"), pooling, dir.file("caps")),
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
  const std::string common =
      fmt::format("fit {} --source-prompts {} --target-prompts {} --tensors l_out-2,l_out-1 --method linear",
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
  const auto m1 =
      act::fit("linear", by_hand(sad_prompts(), "l_out-1", none), by_hand(happy_prompts(), "l_out-1", none));
  act::map_set installed;
  installed.insert("l_out-1", m1.map, {"linear", 6, 6, "mean", "q0_100"});
  const auto m2 =
      act::fit("linear", by_hand(sad_prompts(), "l_out-2", installed), by_hand(happy_prompts(), "l_out-2", none));
  const auto m2_plain =
      act::fit("linear", by_hand(sad_prompts(), "l_out-2", none), by_hand(happy_prompts(), "l_out-2", none));

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
  const std::string caa = fit_caa(dir);
  const auto off = run(tool, base + " --maps " + caa + " --strength 0", dir);
  REQUIRE_MESSAGE(off.status == 0, off.err);
  CHECK(off.out == plain.out);
  const auto on = run(tool, base + " --maps " + caa + " --strength 6", dir);
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
  auto r = run(tool,
               fmt::format("capture --model {} --prompts {} --tensors l_out-1 --out {}", dir.file("not.gguf"),
                           dir.file("p.txt"), dir.file("o")),
               dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("not.gguf: bad magic, not a GGUF file") != std::string::npos);

  act::map_set narrow;
  narrow.insert("l_out-1", act::affine_map<float>::identity(32), {"caa", 1, 1, "mean", "all"});
  act::save_maps(dir.file("narrow.safetensors"), narrow);
  r = run(tool, fmt::format("generate {} --maps {} --prompt hello -n 2", model_args(), dir.file("narrow.safetensors")),
          dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("the map has width 32 but llama.cpp's tensor has rows of 64") != std::string::npos);

  act::map_set elsewhere;
  elsewhere.insert("l_out-9", act::affine_map<float>::identity(tiny_embd), {"caa", 1, 1, "mean", "all"});
  act::save_maps(dir.file("elsewhere.safetensors"), elsewhere);
  r = run(tool,
          fmt::format("generate {} --maps {} --prompt hello -n 2", model_args(), dir.file("elsewhere.safetensors")),
          dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("no tensor named 'l_out-9' in llama.cpp's graph of this model (it has embd, norm-0..norm-3, "
                   "attn_norm-0..attn_norm-3") != std::string::npos);
  r = run(tool,
          fmt::format("capture {} --prompts {} --tensors l_out-1,ffn_outt-2 --out {}", model_args(), dir.file("p.txt"),
                      dir.file("o")),
          dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("no tensor named 'ffn_outt-2'") != std::string::npos);

  r = run(tool,
          fmt::format("capture {} --prompts {} --tensors l_out-1 --out {}", model_args(), dir.file("missing.txt"),
                      dir.file("o")),
          dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("missing.txt: cannot open for reading") != std::string::npos);
  // Prompt files go through act's reader: a FIFO with no writer is refused instead of blocking forever,
  // and a device that never ends is refused instead of being read until memory runs out.
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  for (const std::string& prompts : {dir.file("fifo"), std::string("/dev/zero")}) {
    CAPTURE(prompts);
    r = run(tool,
            fmt::format("capture {} --prompts {} --tensors l_out-1 --out {}", model_args(), prompts, dir.file("o")),
            dir);
    CHECK(r.status == 1);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find(prompts + ": is a") != std::string::npos);
    CHECK(r.err.find("not a regular file; refusing to read it") != std::string::npos);
  }
  write_lines(dir.file("blank.txt"), {"", "\r", ""});
  r = run(tool, fmt::format("generate {} --prompts {} -n 2", model_args(), dir.file("blank.txt")), dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("blank.txt: no prompts (one per line)") != std::string::npos);

  for (const std::string usage :
       {"", "nope", "capture --prompts p --tensors l_out-1 --out o", "generate --model m --prompt x --bogus 1",
        "fit --model m --source-prompts a --target-prompts b --tensors t --method nope --out o",
        "fit --model m --source-prompts a --target-prompts b --tensors t --method linear --causal --simultaneous --out "
        "o",
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

TEST_CASE("act-llama --ctx: below llama.cpp's smallest context is refused, and generate reports the context it uses") {
  scratch_dir dir;
  write_lines(dir.file("p.txt"), {"the cat", "a dog"});
  for (const std::string& command : {fmt::format("capture {} --prompts {} --tensors l_out-1 --out {}", model_args(),
                                                 dir.file("p.txt"), dir.file("o")),
                                     fmt::format("generate {} --prompt hello -n 2", model_args())}) {
    for (const int n_ctx : {8, 15, 255}) {
      CAPTURE(command);
      const auto r = run(tool, fmt::format("{} --ctx {}", command, n_ctx), dir);
      CHECK(r.status == 2);  // not 134: llama.cpp never gets to assert
      CHECK(r.err.find(fmt::format("--ctx {} is below llama.cpp's smallest context, 256 tokens", n_ctx)) !=
            std::string::npos);
    }
  }
  auto r = run(tool, fmt::format("generate {} --prompt hello -n 2 --temp 0 --ctx 300", model_args()), dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("context 512 tokens") != std::string::npos);  // llama.cpp rounds up to a multiple of 256
  r = run(tool, fmt::format("generate {} --prompt hello -n 2 --temp 0 --ctx 256", model_args()), dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("context 256 tokens") != std::string::npos);
  r = run(tool,
          fmt::format("capture {} --prompts {} --tensors l_out-1 --out {} --ctx 256", model_args(), dir.file("p.txt"),
                      dir.file("o")),
          dir);
  CHECK_MESSAGE(r.status == 0, r.err);
}

TEST_CASE("capture_context_params: never more sequences than a batch has tokens, so llama.cpp does not assert") {
  for (const uint32_t n_ctx : {1u, 8u, 15u, 16u, 512u}) {
    const llama_context_params p = act::llama::capture_context_params(n_ctx, 16, 1);
    CHECK(p.n_seq_max <= p.n_batch);
    CHECK(p.n_seq_max == std::min(16u, n_ctx));
  }
  // A context of 8 tokens per batch captures short prompts, several per batch.
  act::llama::eval_callback cb;
  llama_context_params p = act::llama::capture_context_params(8, 16, 1);
  cb.attach(p);
  const context_ptr ctx(llama_init_from_model(tiny_model(), p));
  REQUIRE(ctx != nullptr);
  const std::vector<std::string> prompts = {"cat", "a dog", "sun"};
  const auto samples = act::llama::capture_prompts(ctx.get(), cb, act::llama::tokenize_all(tiny_vocab(), prompts),
                                                   {"l_out-1"}, act::pooling::mean);
  act::llama::eval_callback one;
  const context_ptr single = make_context(&one, 1);
  const auto expected = act::llama::capture_prompts(single.get(), one, act::llama::tokenize_all(tiny_vocab(), prompts),
                                                    {"l_out-1"}, act::pooling::mean);
  CHECK((samples.at("l_out-1") - expected.at("l_out-1")).cwiseAbs().maxCoeff() <= 1e-5f);
}

TEST_CASE(
    "act-llama generate: maps for another architecture are refused unless --force, and map errors are act-cli's") {
  scratch_dir dir;
  const std::string caa = fit_caa(dir);
  act::map_set maps = act::load_maps(caa);
  maps.metadata()["controlvector.model_hint"] = "qwen2";
  act::save_maps(dir.file("qwen.safetensors"), maps);
  const std::string base = fmt::format("generate {} --prompt \"the cat is\" -n 6 --temp 0 --strength 4", model_args());
  auto r = run(tool, base + " --maps " + dir.file("qwen.safetensors"), dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("qwen.safetensors: the maps are for a 'qwen2' model (controlvector.model_hint) but") !=
        std::string::npos);
  CHECK(r.err.find("is a 'llama' model; --force applies them anyway") != std::string::npos);
  CHECK(r.out.empty());
  const auto forced = run(tool, base + " --maps " + dir.file("qwen.safetensors") + " --force", dir);
  REQUIRE_MESSAGE(forced.status == 0, forced.err);
  CHECK(forced.err.find("maps for a 'qwen2' model applied to a 'llama' model (--force)") != std::string::npos);
  const auto matching = run(tool, base + " --maps " + caa, dir);
  REQUIRE_MESSAGE(matching.status == 0, matching.err);
  CHECK(forced.out == matching.out);

  // A file that is not a map file, named as act-cli names it.
  write_lines(dir.file("notes.txt"), {"not a map"});
  r = run(tool, fmt::format("generate {} --maps {} --prompt hello -n 2", model_args(), dir.file("notes.txt")), dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("notes.txt: not a safetensors map file (") != std::string::npos);
}

TEST_CASE("act-llama generate: strengths whose results overflow are refused, not turned into token 0 forever") {
  scratch_dir dir;
  const std::string caa = fit_caa(dir);
  for (const std::string strength : {"-1e38", "1e38", "1e30", "3e38"}) {
    CAPTURE(strength);
    const auto r = run(tool,
                       fmt::format("generate {} --maps {} --strength {} --prompt \"the cat is\" -n 8 --temp 0",
                                   model_args(), caa, strength),
                       dir);
    CHECK(r.status == 1);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("strength") != std::string::npos);
    CHECK((r.err.find("overflow") != std::string::npos || r.err.find("too large") != std::string::npos ||
           r.err.find("turns the finite value") != std::string::npos));
  }
}

TEST_CASE("act-llama generate: several prompts at several strengths in one run, each as its own run would be") {
  scratch_dir dir;
  const std::string maps = " --maps " + fit_caa(dir);
  for (const std::string sampling : {"--temp 0", "--temp 0.9 --seed 3"}) {
    CAPTURE(sampling);
    const std::string common = fmt::format("generate {} -n 8 {}", model_args(), sampling);
    const auto many =
        run(tool, common + maps + " --prompt \"the cat is\" --prompt \"we cry\" --strengths 0,2.5,6", dir);
    REQUIRE_MESSAGE(many.status == 0, many.err);
    std::string expected;
    for (const std::string prompt : {"the cat is", "we cry"})
      for (const std::string strength : {"0", "2.5", "6"}) {
        const auto one =
            run(tool, fmt::format("{}{} --prompt \"{}\" --strength {}", common, maps, prompt, strength), dir);
        REQUIRE_MESSAGE(one.status == 0, one.err);
        expected += fmt::format("## prompt {}, strength {}\n", prompt == "we cry" ? 2 : 1, strength) + one.out;
      }
    CHECK(many.out == expected);
    CHECK(lines(many.err) == 6);  // one report per run
    CHECK(many.err.find("1 map(s) at strength 2.5") != std::string::npos);
  }
  // Strength 0 is the unsteered model; the strengths really differ.
  const auto plain = run(tool, fmt::format("generate {} -n 8 --temp 0 --prompt \"the cat is\"", model_args()), dir);
  const auto both = run(
      tool, fmt::format("generate {} -n 8 --temp 0 --prompt \"the cat is\" --strengths 0,6", model_args()) + maps, dir);
  REQUIRE(both.status == 0);
  const auto second = both.out.find("## prompt 1, strength 6\n");
  REQUIRE(second != std::string::npos);
  CHECK(both.out.substr(0, second) == "## prompt 1, strength 0\n" + plain.out);
  CHECK(both.out.substr(second + std::string("## prompt 1, strength 6\n").size()) != plain.out);

  // --prompts reads a prompt file; without maps every prompt runs once.
  write_lines(dir.file("p.txt"), {"the cat is", "", "we cry"});
  auto r = run(tool, fmt::format("generate {} -n 4 --temp 0 --prompts {}", model_args(), dir.file("p.txt")), dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("## prompt 1\nthe cat is") == 0);
  CHECK(r.out.find("## prompt 2\nwe cry") != std::string::npos);

  for (const std::string& usage :
       {fmt::format("generate {} -n 2", model_args()),
        fmt::format("generate {} -n 2 --prompt a --prompts {}", model_args(), dir.file("p.txt")),
        fmt::format("generate {} -n 2 --prompt a --strengths 0,1", model_args()),
        fmt::format("generate {} -n 2 --prompt a --strengths 0,,1{}", model_args(), maps),
        fmt::format("generate {} -n 2 --prompt a --strengths 0,nan{}", model_args(), maps),
        fmt::format("generate {} -n 2 --prompt a --strength 1 --strengths 0,1{}", model_args(), maps)}) {
    CAPTURE(usage);
    r = run(tool, usage, dir);
    CHECK(r.status == 2);
  }
}
