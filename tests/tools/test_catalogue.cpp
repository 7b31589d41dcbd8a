// act-cli on every file of the malformed-file catalogue (tests/catalogue): exit status 1, never a
// signal, exactly one line on stderr naming the file with the documented key phrase, no file written.
// Under the asan preset act-cli itself runs with AddressSanitizer and UBSan, so a memory error or UB
// while reading a hostile file fails here too.
#include <act/io/npy.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

namespace {

namespace fs = std::filesystem;

/// One row of tests/catalogue/catalogue.tsv.
struct catalogue_case {
  std::string file, wrong, phrase;
};

std::vector<catalogue_case> read_manifest() {
  std::ifstream in(fs::path(ACT_CATALOGUE_DIR) / "catalogue.tsv");
  REQUIRE(in.good());
  std::vector<catalogue_case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    REQUIRE_MESSAGE(tab2 != std::string::npos, "malformed manifest line: " << line);
    cases.push_back({line.substr(0, tab1), line.substr(tab1 + 1, tab2 - tab1 - 1), line.substr(tab2 + 1)});
  }
  return cases;
}

struct run_result {
  bool exited = false;  ///< false when act-cli died by a signal
  int status = -1;      ///< exit status, or the signal number
  std::string err;      ///< everything act-cli wrote to stderr
};

/// Single quotes for the shell; the paths used here never contain one.
std::string quoted(const std::string& s) {
  REQUIRE(s.find('\'') == std::string::npos);
  return "'" + s + "'";
}

run_result run_cli(const std::string& arguments, const std::string& err_file) {
  const std::string command = quoted(ACT_CLI_PATH) + " " + arguments + " >/dev/null 2>" + quoted(err_file);
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  const int raw = pclose(pipe);
  run_result r;
  // popen runs `sh -c`; sh reports a child killed by signal N as status 128 + N, so both forms count.
  r.exited = WIFEXITED(raw) && WEXITSTATUS(raw) < 128;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : WTERMSIG(raw);
  std::ifstream in(err_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  r.err = text.str();
  return r;
}

/// The act-cli command that reads `file` the way a user would: fit for activation dumps, info for map
/// files, import-gguf for control vectors.
std::string command_for(const std::string& file, const std::string& good_npy, const std::string& out) {
  const auto ends_with = [&](const std::string& suffix) {
    return file.size() >= suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".npy"))
    return "fit --method linear --source " + quoted(file) + " --target " + quoted(good_npy) + " --out " + quoted(out) +
           " --quiet";
  if (ends_with(".safetensors")) return "info " + quoted(file);
  if (ends_with(".gguf")) return "import-gguf --gguf " + quoted(file) + " --out " + quoted(out);
  FAIL("catalogue file with an unknown extension: " << file);
  return {};
}

}  // namespace

TEST_CASE("every catalogue file is documented in catalogue.tsv, and every documented file exists") {
  const auto cases = read_manifest();
  std::set<std::string> documented;
  for (const auto& c : cases) {
    CHECK_MESSAGE(documented.insert(c.file).second, "listed twice: " << c.file);
    CHECK_MESSAGE(fs::is_regular_file(fs::path(ACT_CATALOGUE_DIR) / c.file), "missing: " << c.file);
    CHECK_MESSAGE(!c.phrase.empty(), c.file);
    CHECK_MESSAGE(!c.wrong.empty(), c.file);
  }
  for (const auto& e : fs::directory_iterator(ACT_CATALOGUE_DIR)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".npy" || ext == ".safetensors" || ext == ".gguf")
      CHECK_MESSAGE(documented.count(e.path().filename().string()) == 1, "undocumented: " << e.path().filename());
  }
  // Every format's cases are all present (a deleted row would otherwise go unnoticed).
  CHECK(cases.size() >= 90);
}

TEST_CASE("act-cli answers every catalogue file with exit status 1 and one line naming the file") {
  act_test::scratch_dir scratch;
  // A valid target for `fit`, so the error comes from the catalogue file given as the source.
  const std::string good_npy = scratch.file("good.npy");
  act::save_npy(good_npy, Eigen::MatrixXf::Random(8, 3).eval());
  const std::string out = scratch.file("out.safetensors");
  const std::string err_file = scratch.file("stderr.txt");

  for (const auto& c : read_manifest()) {
    const std::string file = (fs::path(ACT_CATALOGUE_DIR) / c.file).string();
    const run_result r = run_cli(command_for(file, good_npy, out), err_file);
    INFO("file: " << c.file << " (" << c.wrong << ")");
    INFO("stderr: " << r.err);
    CHECK_MESSAGE(r.exited, "act-cli was killed by signal " << (r.status >= 128 ? r.status - 128 : r.status));
    CHECK(r.status == 1);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK((!r.err.empty() && r.err.back() == '\n'));
    CHECK(r.err.rfind("act-cli: ", 0) == 0);
    CHECK(r.err.find(file) != std::string::npos);
    CHECK(r.err.find(c.phrase) != std::string::npos);
    // No control character reaches the terminal: the message is printable text and one final newline.
    CHECK(std::none_of(r.err.begin(), r.err.end() - (r.err.empty() ? 0 : 1),
                       [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; }));
    // A failed command writes nothing: no output file, no temporary file.
    CHECK_MESSAGE(!fs::exists(out), "act-cli wrote " << out);
    std::vector<std::string> left = scratch.entries();
    left.erase(std::remove_if(left.begin(), left.end(),
                              [](const std::string& n) { return n == "good.npy" || n == "stderr.txt"; }),
               left.end());
    CHECK_MESSAGE(left.empty(), "left behind: " << (left.empty() ? std::string() : left.front()));
    for (const auto& n : left) fs::remove(scratch.file(n));
  }
}

TEST_CASE("fit --out onto a malformed map file of the catalogue is refused before fitting, as info refuses it") {
  // act-cli checks an existing output without keeping its maps (act::check_map_file); the message must be the
  // one loading gives, and the file must stay as it was.
  act_test::scratch_dir scratch;
  const std::string good_npy = scratch.file("good.npy");
  act::save_npy(good_npy, Eigen::MatrixXf::Random(8, 3).eval());
  const std::string err_file = scratch.file("stderr.txt");
  std::size_t checked = 0;
  for (const auto& c : read_manifest()) {
    if (fs::path(c.file).extension() != ".safetensors") continue;
    const std::string out = scratch.file("copy.safetensors");
    fs::copy_file(fs::path(ACT_CATALOGUE_DIR) / c.file, out, fs::copy_options::overwrite_existing);
    const auto before = fs::file_size(out);
    const run_result info = run_cli("info " + quoted(out), err_file);
    const run_result fit = run_cli("fit --method linear --source " + quoted(good_npy) + " --target " +
                                       quoted(good_npy) + " --out " + quoted(out) + " --site s --quiet",
                                   err_file);
    INFO("file: " << c.file << " (" << c.wrong << ")");
    CHECK(fit.exited);
    CHECK(fit.status == 1);
    CHECK(info.status == 1);
    CHECK(fit.err == info.err);
    CHECK(fit.err.find(c.phrase) != std::string::npos);
    CHECK(fs::file_size(out) == before);
    ++checked;
  }
  CHECK(checked >= 40);
}
