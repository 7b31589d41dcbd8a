// End-to-end tests of the act-cli program: fit, apply, info, export-gguf, import-gguf on small
// generated data, checking its numbers against the library's and its exit statuses.
#include <act/act.hpp>
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>

#include "io_test_util.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;

using run_result = act_test::command_result;

run_result run(const std::string& arguments) {
  return act_test::run_command(std::string(ACT_CLI_PATH) + " " + arguments);
}

// A scratch folder with source/target dumps, removed at the end.
struct workspace {
  fs::path dir;
  Eigen::MatrixXf source, target;

  workspace() {
    dir = fs::temp_directory_path() / fmt::format("act_cli_test_{}", ::getpid());
    fs::create_directories(dir);
    std::mt19937 rng(9);
    std::normal_distribution<float> z;
    source.resize(120, 5);
    target.resize(90, 5);
    for (Eigen::Index i = 0; i < source.size(); ++i) source.data()[i] = z(rng);
    for (Eigen::Index i = 0; i < target.size(); ++i) target.data()[i] = 2.0f + 0.5f * z(rng);
    act::save_npy(path("s.npy"), source);
    act::save_npy(path("t.npy"), target);
  }
  ~workspace() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace

TEST_CASE("fit then apply reproduces the library's Linear-AcT") {
  workspace w;
  auto r = run(fmt::format("fit --method linear --source {} --target {} --out {} --quiet", w.path("s.npy"),
                           w.path("t.npy"), w.path("m.safetensors")));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.empty());  // --quiet

  const auto maps = act::load_maps(w.path("m.safetensors"));
  REQUIRE(maps.sites() == std::vector<std::string>{"site"});
  const auto& m = std::get<act::affine_map<float>>(maps.at("site").map);
  const auto expected = act::linear_act{}.fit(w.source, w.target).map;
  CHECK((m.omega == expected.omega).all());
  CHECK((m.beta == expected.beta).all());
  CHECK((m.lower == expected.lower).all());  // default support q0_100 for linear
  CHECK(maps.at("site").info.source_samples == 120);
  CHECK(maps.at("site").info.target_samples == 90);

  const Eigen::MatrixXf x = w.source.topRows(7);
  act::save_npy(w.path("x.npy"), x);
  r = run(fmt::format("apply --map {} --strength 0.5 --input {} --output {}", w.path("m.safetensors"), w.path("x.npy"),
                      w.path("y.npy")));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const Eigen::MatrixXf y = act::load_npy_matrix<float>(w.path("y.npy"));
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> ref = x;
  act::affine_hook<float>(expected, 0.5)(act::view(ref));
  CHECK(y.isApprox(Eigen::MatrixXf(ref)));
}

// Every method the tool offers gives the library's map for the same data and options.
TEST_CASE("every --method matches the library") {
  workspace w;
  act::map_set expected;
  const auto add = [&](const char* method, const auto& estimator) {
    const auto fit = estimator.fit(w.source, w.target);
    expected.insert(method, fit.map);
  };
  add("linear", act::linear_act{});
  add("mean", act::mean_act{});
  add("gaussian", act::gaussian_act{{act::support::unbounded()}});
  add("actadd", act::actadd{});
  add("caa", act::caa{});
  add("itic", act::itic{});
  add("aura", act::aura{});
  add("det0", act::det0{});
  act::quantile_act_options q;
  q.knots = 32;
  add("quantile", act::quantile_act{q});
  for (const auto& method : expected.sites()) {
    CAPTURE(method);
    const std::string extra = method == "quantile" ? "--knots 32" : method == "gaussian" ? "--support all" : "";
    const auto r = run(fmt::format("fit --method {} --source {} --target {} --out {} --site {} --quiet {}", method,
                                   w.path("s.npy"), w.path("t.npy"), w.path("all.safetensors"), method, extra));
    REQUIRE_MESSAGE(r.status == 0, r.output);
  }
  const auto got = act::load_maps(w.path("all.safetensors"));
  REQUIRE(got.sites() == expected.sites());
  for (const auto& method : expected.sites()) {
    CAPTURE(method);
    CHECK(got.at(method).info.method == method);
    if (const auto* q_map = std::get_if<act::quantile_map<float>>(&expected.at(method).map)) {
      const auto& g = std::get<act::quantile_map<float>>(got.at(method).map);
      CHECK(g.knots_source == q_map->knots_source);
      CHECK(g.knots_target == q_map->knots_target);
    } else {
      const auto& e = std::get<act::affine_map<float>>(expected.at(method).map);
      const auto& g = std::get<act::affine_map<float>>(got.at(method).map);
      CHECK(g.omega.isApprox(e.omega));
      CHECK(g.beta.isApprox(e.beta, 1e-5f));
      CHECK(g.bounded() == e.bounded());
    }
  }
  // pca needs paired (equal-count) samples: the tool reports the library's complaint.
  const auto r = run(fmt::format("fit --method pca --source {} --target {} --out {}", w.path("s.npy"), w.path("t.npy"),
                                 w.path("pca.safetensors")));
  CHECK(r.status == 1);
  CHECK(r.output.find("s.npy") != std::string::npos);
}

TEST_CASE("a second site keeps the first; info lists both") {
  workspace w;
  const auto fit = [&](const std::string& extra) {
    return run(fmt::format("fit --method linear --source {} --target {} --out {} --quiet {}", w.path("s.npy"),
                           w.path("t.npy"), w.path("m.safetensors"), extra));
  };
  REQUIRE(fit("--site blk.1").status == 0);
  REQUIRE(fit("--site blk.2.attn_out --support q1_99").status == 0);
  const auto maps = act::load_maps(w.path("m.safetensors"));
  CHECK(maps.sites() == std::vector<std::string>{"blk.1", "blk.2.attn_out"});
  CHECK(maps.at("blk.2.attn_out").info.support == "q1_99");
  const auto r = run("info " + w.path("m.safetensors"));
  CHECK(r.status == 0);
  CHECK(r.output.find("blk.1 ") != std::string::npos);
  CHECK(r.output.find("blk.2.attn_out") != std::string::npos);
  CHECK(r.output.find("120,90") != std::string::npos);
}

TEST_CASE("control vectors: export refuses non-additive maps, round trips additive ones") {
  workspace w;
  // A pure shift at two block outputs, written through the library: blk.N and l_out-N name the same place.
  act::map_set maps;
  auto shift = act::affine_map<float>::identity(5);
  shift.beta << 1, 2, 3, 4, 5;
  maps.insert("blk.4", shift, {"mean", 10, 10, "mean", "all"});
  maps.insert("l_out-12", shift, {"mean", 10, 10, "mean", "all"});
  act::save_maps(w.path("add.safetensors"), maps);
  auto r = run(fmt::format("export-gguf --map {} --out {} --strength 2 --model-hint gemma2", w.path("add.safetensors"),
                           w.path("cv.gguf")));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const auto cv = act::read_control_vector(w.path("cv.gguf"));
  CHECK(cv.model_hint == "gemma2");
  REQUIRE(cv.directions.size() == 2);
  CHECK(cv.directions.at(4) == std::vector<float>{2, 4, 6, 8, 10});
  CHECK(cv.directions.count(12) == 1);

  // Import names the sites l_out-N and keeps the model hint; exporting again gives the same file.
  r = run(fmt::format("import-gguf --gguf {} --out {}", w.path("cv.gguf"), w.path("back.safetensors")));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const auto back = act::load_maps(w.path("back.safetensors"));
  CHECK(back.sites() == std::vector<std::string>{"l_out-12", "l_out-4"});
  CHECK(std::get<act::affine_map<float>>(back.at("l_out-4").map).beta[4] == 10.0f);
  CHECK(back.metadata().at("controlvector.model_hint") == "gemma2");
  r = run(fmt::format("export-gguf --map {} --out {}", w.path("back.safetensors"), w.path("again.gguf")));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(act_test::read_bytes(w.path("again.gguf")) == act_test::read_bytes(w.path("cv.gguf")));

  // Linear-AcT maps are not additive: refused, nothing written.
  REQUIRE(run(fmt::format("fit --method linear --source {} --target {} --out {} --site blk.3 --quiet", w.path("s.npy"),
                          w.path("t.npy"), w.path("lin.safetensors")))
              .status == 0);
  r = run(fmt::format("export-gguf --map {} --out {}", w.path("lin.safetensors"), w.path("no.gguf")));
  CHECK(r.status == 1);
  CHECK(r.output.find("not additive") != std::string::npos);
  CHECK_FALSE(fs::exists(w.path("no.gguf")));
}

TEST_CASE("control vectors: sites that are not block outputs need --layer; --normalize; --model checks the model") {
  workspace w;
  act::map_set maps;
  auto shift = act::affine_map<float>::identity(4);
  shift.beta << 3, 0, 4, 0;
  maps.insert("blk.2.post_attn_norm", shift, {"caa", 10, 10, "mean", "all"});
  act::save_maps(w.path("inner.safetensors"), maps);
  auto r = run(fmt::format("export-gguf --map {} --out {}", w.path("inner.safetensors"), w.path("cv.gguf")));
  CHECK(r.status == 1);
  CHECK(r.output.find("site 'blk.2.post_attn_norm' is not a block output: llama.cpp adds control vectors to l_out-N") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(w.path("cv.gguf")));
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --normalize", w.path("inner.safetensors"),
                      w.path("cv.gguf")));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(act::read_control_vector(w.path("cv.gguf")).directions.at(3) == std::vector<float>{0.6f, 0, 0.8f, 0});
  CHECK(run(fmt::format("export-gguf --map {} --out {} --layer 0", w.path("inner.safetensors"), w.path("x.gguf")))
            .status == 2);
  CHECK(run(fmt::format("export-gguf --map {} --out {} --layer 1.5", w.path("inner.safetensors"), w.path("x.gguf")))
            .status == 2);

  act::map_set first;
  first.insert("l_out-0", shift, {"caa", 10, 10, "mean", "all"});
  act::save_maps(w.path("first.safetensors"), first);
  r = run(fmt::format("export-gguf --map {} --out {}", w.path("first.safetensors"), w.path("x.gguf")));
  CHECK(r.status == 1);
  CHECK(r.output.find("output of block 0") != std::string::npos);

  // --model: a GGUF model's n_embd and block count (a stand-in for a model file: one F32 tensor of
  // `held` of its n_embd floats; a model file holds all of them).
  const auto model = [&](std::uint32_t n_embd, std::uint32_t blocks, std::uint32_t held = ~0u) {
    std::vector<unsigned char> b = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    const auto u64 = [&](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
    };
    const auto u32 = [&](std::uint32_t v) {
      for (int i = 0; i < 4; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
    };
    const auto str = [&](const std::string& s) {
      u64(s.size());
      b.insert(b.end(), s.begin(), s.end());
    };
    u64(1);
    u64(3);
    str("general.architecture"), u32(8), str("llama");
    str("llama.embedding_length"), u32(4), u32(n_embd);
    str("llama.block_count"), u32(4), u32(blocks);
    str("output_norm.weight"), u32(1), u64(n_embd), u32(0), u64(0);
    while (b.size() % 32 != 0) b.push_back(0);
    for (std::uint32_t j = 0; j < std::min(n_embd, held); ++j) u32(0x3f800000);
    std::FILE* f = std::fopen(w.path("model.gguf").c_str(), "wb");
    std::fwrite(b.data(), 1, b.size(), f);
    std::fclose(f);
    return w.path("model.gguf");
  };
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {}", w.path("inner.safetensors"),
                      w.path("m.gguf"), model(4, 4)));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(act::read_control_vector(w.path("m.gguf")).model_hint == "llama");
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {}", w.path("inner.safetensors"),
                      w.path("n.gguf"), model(8, 4)));
  CHECK(r.status == 1);
  CHECK(r.output.find("has width 4 but the model's n_embd is 8") != std::string::npos);
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {}", w.path("inner.safetensors"),
                      w.path("n.gguf"), model(4, 3)));
  CHECK(r.status == 1);
  CHECK(r.output.find("goes to layer 3, but the model has 3 blocks") != std::string::npos);
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {}", w.path("inner.safetensors"),
                      w.path("n.gguf"), w.path("s.npy")));
  CHECK(r.status == 1);
  CHECK(r.output.find("bad magic, not a GGUF file") != std::string::npos);
  // A model cut short in its tensor data is not a model.
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {}", w.path("inner.safetensors"),
                      w.path("n.gguf"), model(4, 4, 3)));
  CHECK(r.status == 1);
  CHECK(r.output.find("tensor 'output_norm.weight' data (16 bytes at offset 0) runs past the end of the file") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(w.path("n.gguf")));

  // The model hint the maps record must name the model's architecture; --model-hint replaces it.
  maps.metadata()["controlvector.model_hint"] = "qwen2";
  act::save_maps(w.path("qwen.safetensors"), maps);
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {}", w.path("qwen.safetensors"),
                      w.path("n.gguf"), model(4, 4)));
  CHECK(r.status == 1);
  CHECK(r.output.find("the model hint 'qwen2' (recorded in the maps) is not the model's architecture 'llama'") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(w.path("n.gguf")));
  r = run(fmt::format("export-gguf --map {} --out {} --layer 3 --model {} --model-hint llama",
                      w.path("qwen.safetensors"), w.path("n.gguf"), model(4, 4)));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(act::read_control_vector(w.path("n.gguf")).model_hint == "llama");
}

TEST_CASE("usage errors exit 2 with the usage text; bad files exit 1 with one line") {
  workspace w;
  auto r = run("");
  CHECK(r.status == 2);
  CHECK(r.output.find("usage:") != std::string::npos);
  r = run("fit --method nope --source a --target b --out c");
  CHECK(r.status == 2);
  r = run("fit --method linear --source a.npy");
  CHECK(r.status == 2);
  CHECK(r.output.find("missing --target") != std::string::npos);
  r = run("apply --map x --input y --output z");
  CHECK(r.status == 2);
  r = run("frobnicate");
  CHECK(r.status == 2);
  r = run("info " + w.path("missing.safetensors"));
  CHECK(r.status == 1);
  CHECK(r.output.find("missing.safetensors") != std::string::npos);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  // A text file posing as .npy.
  { std::ofstream(w.path("bad.npy")) << "not an array"; }
  r = run(fmt::format("fit --method linear --source {} --target {} --out {}", w.path("bad.npy"), w.path("t.npy"),
                      w.path("o.safetensors")));
  CHECK(r.status == 1);
  CHECK(r.output.find("bad.npy") != std::string::npos);
  CHECK_FALSE(fs::exists(w.path("o.safetensors")));
  // Neuron counts that disagree.
  act::save_npy(w.path("narrow.npy"), Eigen::MatrixXf::Ones(10, 3));
  r = run(fmt::format("fit --method linear --source {} --target {} --out {}", w.path("narrow.npy"), w.path("t.npy"),
                      w.path("o.safetensors")));
  CHECK(r.status == 1);
  CHECK(r.output.find("neuron counts differ") != std::string::npos);
}
