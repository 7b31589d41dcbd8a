// act-cli as a new user meets it: per-command help, --version, --key=value, suggestions, files
// that are not map files, the info table, --quiet and the progress line; and the faithful-where-it-matters
// options through the real binary: --support-bounds, --min-std, each method's default support.
#include <act/act.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>

#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "run_program.hpp"

namespace {

using act_test::run_result;

run_result run(const std::vector<std::string>& arguments) { return act_test::run_program(ACT_CLI_PATH, arguments); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Scratch dumps: s.npy / t.npy ordinary; relu.npy has exact zeros at each neuron's minimum (post-ReLU);
/// flat.npy has a neuron of source sd 3e-5.
struct workspace {
  act_test::scratch_dir dir;
  workspace() {
    std::mt19937 rng(4);
    std::normal_distribution<float> z;
    Eigen::MatrixXf s(64, 3), t(64, 3), relu(64, 3), flat(64, 3);
    for (Eigen::Index i = 0; i < s.size(); ++i) {
      s.data()[i] = z(rng);
      t.data()[i] = 2.0f + z(rng);
      relu.data()[i] = std::max(0.0f, z(rng));
      flat.data()[i] = z(rng);
    }
    for (Eigen::Index i = 0; i < flat.rows(); ++i) flat(i, 0) = 1.5f + 3e-5f * z(rng);
    act::save_npy(path("s.npy"), s);
    act::save_npy(path("t.npy"), t);
    act::save_npy(path("relu.npy"), relu);
    act::save_npy(path("flat.npy"), flat);
    act::save_npy(path("zeros.npy"), Eigen::MatrixXf::Zero(2, 3));
  }
  std::string path(const std::string& name) const { return dir.file(name); }
  run_result fit(const std::string& method, const std::string& source, const std::string& out,
                 std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"fit",      "--method",    method,  "--source", path(source),
                                  "--target", path("t.npy"), "--out", path(out)};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("act-cli COMMAND --help and act-cli help COMMAND print that command's usage and exit 0") {
  for (const std::string command : {"fit", "apply", "info", "export-gguf", "import-gguf"}) {
    CAPTURE(command);
    const auto a = run({command, "--help"});
    CHECK(a.status == 0);
    CHECK(contains(a.out, "act-cli " + command + " "));
    CHECK(a.err.empty());
    const auto b = run({"help", command});
    CHECK(b.status == 0);
    CHECK(b.out == a.out);
    CHECK(run({command, "-h"}).out == a.out);
  }
  const auto fit = run({"fit", "--help"});
  CHECK_FALSE(contains(fit.out, "act-cli apply"));
  CHECK(contains(fit.out, "--support-bounds"));
  CHECK(run({"fit", "--method", "linear", "--help"}).status == 0);  // help wins over missing options
  CHECK(run({"help"}).status == 0);
  const auto unknown = run({"help", "fitt"});
  CHECK(unknown.status == 2);
  CHECK(contains(unknown.err, "did you mean fit?"));
}

TEST_CASE("act-cli --version prints act::version") {
  const auto r = run({"--version"});
  CHECK(r.status == 0);
  CHECK(r.out == fmt::format("act-cli {}.{}.{}\n", act::version / 10000, act::version / 100 % 100, act::version % 100));
}

TEST_CASE("--key=value works like --key value; flags take no value") {
  workspace w;
  const auto r = run({"fit", "--method=mean", "--source=" + w.path("s.npy"), "--target=" + w.path("t.npy"),
                      "--out=" + w.path("m.safetensors"), "--site=a=b", "--quiet"});
  CHECK(r.status == 0);
  CHECK(act::load_maps(w.path("m.safetensors")).contains("a=b"));
  const auto flag = run({"fit", "--method=mean", "--quiet=yes"});
  CHECK(flag.status == 2);
  CHECK(contains(flag.err, "--quiet takes no value"));
}

TEST_CASE("near misses get a suggestion: options, methods, commands") {
  workspace w;
  auto r = run({"fit", "--metod", "linear"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "unknown option --metod (did you mean --method?)"));
  CHECK(contains(r.err, "act-cli fit"));  // the command's usage follows
  CHECK_FALSE(contains(r.err, "act-cli import-gguf"));
  r = w.fit("lineer", "s.npy", "m.safetensors");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "did you mean linear?"));
  r = run({"aply"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "did you mean apply?"));
  r = run({"fit", "--frobnicate", "1"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "unknown option --frobnicate"));
  CHECK_FALSE(contains(r.err, "did you mean"));
}

TEST_CASE("a file that is not a map file is named as such") {
  workspace w;
  for (const std::string name : {"s.npy", "zeros.npy"}) {
    const auto r = run({"info", w.path(name)});
    CHECK(r.status == 1);
    CHECK(contains(r.err, w.path(name) + ": not a safetensors map file"));
    CHECK(lines_of(r.err).size() == 1);
  }
  const auto r = run(
      {"apply", "--map", w.path("s.npy"), "--strength", "1", "--input", w.path("s.npy"), "--output", w.path("o.npy")});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "not a safetensors map file"));
}

TEST_CASE("info lays out columns that fit their contents") {
  workspace w;
  const std::string long_site = "model.layers.12.post_attention_layernorm.output";
  REQUIRE(w.fit("quantile", "s.npy", "m.safetensors", {"--site", long_site, "--quiet"}).status == 0);
  REQUIRE(w.fit("gaussian", "s.npy", "m.safetensors", {"--site", "b", "--quiet"}).status == 0);
  REQUIRE(w.fit("mean", "s.npy", "m.safetensors", {"--site", "c", "--quiet"}).status == 0);
  const auto r = run({"info", w.path("m.safetensors")});
  REQUIRE(r.status == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 6);  // title, blank, header, 3 sites
  const std::string& header = lines[2];
  const auto method_at = header.find("method"), support_at = header.find("support"),
             pooling_at = header.find("pooling");
  for (std::size_t i = 3; i < lines.size(); ++i) {
    CAPTURE(lines[i]);
    // Each row's method, support and pooling start where their headers do.
    const auto method = lines[i].find_first_not_of(' ', method_at);
    CHECK(method == method_at);
    CHECK(lines[i][method_at - 1] == ' ');
    CHECK(lines[i][support_at - 1] == ' ');
    CHECK(lines[i].compare(pooling_at, 4, "mean") == 0);
  }
  CHECK(contains(lines[5], "quantile"));  // sites in name order: b, c, model...
  CHECK(contains(header, "bounds"));
  CHECK(contains(header, "low spread"));
}

TEST_CASE("info shows the file's own metadata, such as a control vector's model hint") {
  workspace w;
  act::map_set maps;
  maps.insert("l_out-3", act::affine_map<float>::identity(4), {"caa", 10, 10, "mean", "all"});
  maps.metadata()["controlvector.model_hint"] = "gemma3";
  maps.metadata()["origin"] = "a test";
  act::save_maps(w.path("m.safetensors"), maps);
  const auto r = run({"info", w.path("m.safetensors")});
  REQUIRE(r.status == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 6);  // title, 2 metadata lines, blank, header, 1 site
  CHECK(lines[1] == "controlvector.model_hint: gemma3");
  CHECK(lines[2] == "origin: a test");
  CHECK(lines[3].empty());
  CHECK(contains(lines[5], "l_out-3"));
}

TEST_CASE("--quiet silences everything but errors; progress only on a terminal") {
  workspace w;
  auto r = w.fit("linear", "s.npy", "m.safetensors", {"--quiet"});
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  r = w.fit("linear", "s.npy", "m.safetensors");  // stderr is a pipe: no progress line, the summary on stdout
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "fitted with linear"));
  r = run({"apply", "--map", w.path("m.safetensors"), "--strength", "1", "--input", w.path("s.npy"), "--output",
           w.path("o.npy"), "--quiet"});
  CHECK(r.status == 0);
  CHECK((r.out + r.err).empty());
  r = w.fit("linear", "s.npy", "m.safetensors", {"--quiet", "--min-std", "-1"});
  CHECK(r.status == 2);  // errors still show
  CHECK(contains(r.err, "--min-std"));

  // On a terminal (util-linux `script` gives the program one), the steps show, and --quiet hides them.
  if (!std::filesystem::exists("/usr/bin/script")) return;
  const std::string fit = fmt::format("{} fit --method linear --source {} --target {} --out {}", ACT_CLI_PATH,
                                      w.path("s.npy"), w.path("t.npy"), w.path("m.safetensors"));
  r = act_test::run_program("/usr/bin/script", {"-qec", fit, "/dev/null"});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "[1/3] loading " + w.path("s.npy")));
  CHECK(contains(r.out, "[3/3] fitting linear on 64 x 3"));
  r = act_test::run_program("/usr/bin/script", {"-qec", fit + " --quiet", "/dev/null"});
  CHECK(r.status == 0);
  CHECK(r.out.empty());
}

TEST_CASE("--support-bounds: post-ReLU zeros stay put under open (the default), move under closed") {
  workspace w;
  REQUIRE(w.fit("linear", "relu.npy", "m.safetensors", {"--site", "open", "--quiet"}).status == 0);
  REQUIRE(w.fit("linear", "relu.npy", "m.safetensors", {"--site", "closed", "--support-bounds", "closed", "--quiet"})
              .status == 0);
  const auto maps = act::load_maps(w.path("m.safetensors"));
  const auto& open = std::get<act::affine_map<float>>(maps.at("open").map);
  const auto& closed = std::get<act::affine_map<float>>(maps.at("closed").map);
  CHECK(open.bounds == act::support_bounds::open);
  CHECK(closed.bounds == act::support_bounds::closed);
  for (const std::string site : {"open", "closed"}) {
    const auto r = run({"apply", "--map", w.path("m.safetensors"), "--site", site, "--strength", "1", "--input",
                        w.path("zeros.npy"), "--output", w.path(site + ".npy")});
    REQUIRE(r.status == 0);
    const Eigen::MatrixXf y = act::load_npy_matrix<float>(w.path(site + ".npy"));
    if (site == "open")
      CHECK((y.array() == 0.0f).all());
    else
      CHECK((y.array() != 0.0f).all());
  }
  const auto info = run({"info", w.path("m.safetensors")});
  CHECK(contains(info.out, "open"));
  CHECK(contains(info.out, "closed"));
  auto r = w.fit("linear", "relu.npy", "m.safetensors", {"--support-bounds", "half"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "'half' is not 'open' or 'closed'"));
  r = w.fit("mean", "relu.npy", "m.safetensors", {"--support-bounds", "closed"});  // mean's default is unbounded
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--support-bounds applies to bounded supports"));
  CHECK(w.fit("mean", "relu.npy", "m.safetensors", {"--support", "q0_100", "--support-bounds", "closed", "--quiet"})
            .status == 0);
  CHECK(w.fit("quantile", "relu.npy", "m.safetensors", {"--support-bounds", "open"}).status == 2);
}

TEST_CASE("--min-std: a near-constant neuron gets the fallback, fit says so and info counts and names it") {
  workspace w;
  auto r = w.fit("gaussian", "flat.npy", "m.safetensors", {"--site", "g"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "1 neuron(s) have a source or target spread at or below --min-std"));
  auto maps = act::load_maps(w.path("m.safetensors"));
  CHECK(std::get<act::affine_map<float>>(maps.at("g").map).omega[0] == 1.0f);
  CHECK(std::get<act::affine_map<float>>(maps.at("g").map).beta[0] == 0.0f);
  CHECK(maps.at("g").info.low_spread_neurons == 1);
  REQUIRE(w.fit("gaussian", "flat.npy", "m.safetensors", {"--site", "raw", "--min-std", "0", "--quiet"}).status == 0);
  maps = act::load_maps(w.path("m.safetensors"));
  CHECK(std::get<act::affine_map<float>>(maps.at("raw").map).omega[0] > 1e4f);
  CHECK(maps.at("raw").info.low_spread_neurons == 0);
  const auto info = lines_of(run({"info", w.path("m.safetensors")}).out);
  const auto column = info[2].find("low spread") + std::string("low spread").size() - 1;  // right-aligned
  std::size_t i = 3;
  for (; i < info.size() && !info[i].empty(); ++i) CHECK(info[i][column] == (info[i].rfind("g ", 0) == 0 ? '1' : '0'));
  // Below the table: which neurons, from the file's per-neuron flags.
  REQUIRE(i + 1 < info.size());
  CHECK(info[i + 1] == "g: low-spread neurons 0");
  CHECK(i + 2 == info.size());
  r = w.fit("caa", "flat.npy", "m.safetensors", {"--min-std", "1"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--min-std applies to --method linear/mean/gaussian only"));
}

TEST_CASE("each method's default support is the registry's, in the map file and act-cli's summary") {
  workspace w;
  for (const act::method_info& m : act::methods()) {
    CAPTURE(m.name);
    const std::string site(m.name);
    const auto r = w.fit(site, "s.npy", "m.safetensors", {"--site", site});
    REQUIRE(r.status == 0);
    const auto maps = act::load_maps(w.path("m.safetensors"));
    if (!m.has_support) continue;
    CHECK(contains(r.out, "(support " + m.default_support.to_string()));
    CHECK(maps.at(site).info.support == m.default_support.to_string());
    CHECK(std::get<act::affine_map<float>>(maps.at(site).map).bounded() == m.default_support.bounded);
  }
}
