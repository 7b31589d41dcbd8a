// act-cli loses no data: parallel fits into one file keep every site; names that would corrupt a file are
// refused; no output replaces an input; info shows text from a file escaped; strengths that overflow write
// nothing; stale temporaries of killed writers go, live ones stay; long output names work; and numbers,
// strengths and --knots are checked alike across commands.
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>
#include <act/io/safetensors.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "run_program.hpp"

namespace {

namespace fs = std::filesystem;

using act_test::run_result;

/// Runs act-cli with exactly these arguments (no shell: any bytes pass through), stdout and stderr apart.
run_result run(const std::vector<std::string>& arguments) { return act_test::run_program(ACT_CLI_PATH, arguments); }

bool has_control_bytes(const std::string& text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n') || u == 0x7f) return true;
  }
  return false;
}

std::vector<unsigned char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A scratch folder with source/target dumps.
struct workspace {
  act_test::scratch_dir dir;
  std::string source, target;

  workspace() : source(dir.file("s.npy")), target(dir.file("t.npy")) {
    std::mt19937 rng(11);
    std::normal_distribution<float> z;
    Eigen::MatrixXf s(60, 4), t(50, 4);
    for (Eigen::Index i = 0; i < s.size(); ++i) s.data()[i] = z(rng);
    for (Eigen::Index i = 0; i < t.size(); ++i) t.data()[i] = 2.0f + z(rng);
    act::save_npy(source, s);
    act::save_npy(target, t);
  }
  std::string path(const std::string& name) const { return dir.file(name); }
  run_result fit(const std::string& out, const std::string& site, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"fit",   "--method", "mean",   "--source", source,    "--target",  target,
                                  "--out", out,        "--site", site,       "--quiet", "--support", "all"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
};

}  // namespace

TEST_CASE("8 parallel fits into one map file keep every site, every time") {
  workspace w;
  const std::string out = w.path("m.safetensors");
  constexpr int writers = 8, repetitions = 3;
  for (int rep = 0; rep < repetitions; ++rep) {
    CAPTURE(rep);
    fs::remove(out);
    REQUIRE(w.fit(out, "s0").status == 0);
    // Every act-cli starts when the parent closes the gate, so they all read, fit and write at once.
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    std::vector<pid_t> children;
    for (int i = 1; i <= writers; ++i) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(gate[1]);
        char c;
        while (::read(gate[0], &c, 1) > 0) {
        }
        const std::string site = "s" + std::to_string(i);
        const std::string args[] = {"fit",    "--method", "mean", "--source", w.source, "--target",
                                    w.target, "--out",    out,    "--site",   site,     "--quiet"};
        std::vector<char*> argv{const_cast<char*>(ACT_CLI_PATH)};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(ACT_CLI_PATH, argv.data());
        ::_exit(127);
      }
      children.push_back(pid);
    }
    ::close(gate[0]);
    ::close(gate[1]);
    for (const pid_t pid : children) {
      int raw = -1;
      REQUIRE(::waitpid(pid, &raw, 0) == pid);
      CHECK((WIFEXITED(raw) && WEXITSTATUS(raw) == 0));
    }
    CHECK(act::load_maps(out).sites() ==
          std::vector<std::string>{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"});
    const auto info = run({"info", out});
    CHECK(info.out.find("9 site(s)") != std::string::npos);
  }
  auto entries = w.dir.entries();
  std::sort(entries.begin(), entries.end());
  CHECK(entries == std::vector<std::string>{"m.safetensors", "s.npy", "t.npy"});  // no lock, no temporary
}

TEST_CASE("a fit that cannot get the lock in time fails naming the file and writes nothing") {
  workspace w;
  const std::string out = w.path("m.safetensors");
  REQUIRE(w.fit(out, "blk.1").status == 0);
  const auto before = file_bytes(out);
  const int fd = ::open(w.path(".m.safetensors.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  const auto r = w.fit(out, "blk.2", {"--lock-timeout", "0.2"});
  CHECK(r.status == 1);
  CHECK(r.err.find(out + ": another writer has held its lock") != std::string::npos);
  CHECK(r.err.find("(0.2 s); nothing was written") != std::string::npos);
  CHECK(file_bytes(out) == before);
  CHECK(run({"info", out}).status == 0);  // readers do not wait for the lock
  ::close(fd);
  CHECK(w.fit(out, "blk.2", {"--lock-timeout", "0"}).status == 0);
  CHECK(act::load_maps(out).size() == 2);
  CHECK(w.fit(out, "blk.3", {"--lock-timeout", "-1"}).status == 2);
}

TEST_CASE("names that are not UTF-8 or hold control characters are refused before anything is written") {
  workspace w;
  const std::string out = w.path("m.safetensors");
  REQUIRE(w.fit(out, "blk.1").status == 0);
  const auto before = file_bytes(out);
  for (const std::string& bad : {std::string("\xff"), std::string("\xed\xa0\x80"), std::string("\xc0\xaf"),
                                 std::string("blk.2\x1b]0;pwned\x07"), std::string("blk.2\nblk.3 forged")}) {
    CAPTURE(act::printable(bad));
    const auto r = w.fit(out, bad);
    CHECK(r.status == 2);
    CHECK(r.err.find("--site '") != std::string::npos);
    CHECK_FALSE(has_control_bytes(r.err));
    CHECK(file_bytes(out) == before);
    const auto fresh = w.fit(w.path("new.safetensors"), bad);
    CHECK(fresh.status == 2);
    CHECK_FALSE(fs::exists(w.path("new.safetensors")));
  }
  // The file stays readable, and fitting into it still works.
  CHECK(run({"info", out}).status == 0);
  CHECK(w.fit(out, "blk.\xc3\xa4").status == 0);  // any UTF-8 is fine
  CHECK(act::load_maps(out).size() == 2);
  const auto r = run({"export-gguf", "--map", out, "--out", w.path("cv.gguf"), "--model-hint", "llama\x1b[2J"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--model-hint 'llama\\x1b[2J' holds the control character U+001B") != std::string::npos);
}

TEST_CASE("no command writes over one of its inputs (same path, ./path, a hard link)") {
  workspace w;
  const std::string map = w.path("a.safetensors");
  REQUIRE(w.fit(map, "blk.1").status == 0);
  REQUIRE(run({"export-gguf", "--map", map, "--out", w.path("c.gguf")}).status == 0);
  fs::create_hard_link(map, w.path("hard.safetensors"));
  fs::create_hard_link(w.source, w.path("hard.npy"));
  const auto map_bytes = file_bytes(map), cv_bytes = file_bytes(w.path("c.gguf")), source_bytes = file_bytes(w.source);
  const std::string dot_map = w.dir.path() + "/./a.safetensors";
  const std::vector<std::vector<std::string>> commands = {
      {"export-gguf", "--map", map, "--out", map},
      {"export-gguf", "--map", map, "--out", dot_map},
      {"export-gguf", "--map", map, "--out", w.path("hard.safetensors")},
      {"apply", "--map", map, "--strength", "1", "--input", w.source, "--output", map},
      {"apply", "--map", map, "--strength", "1", "--input", w.source, "--output", w.source},
      {"apply", "--map", map, "--strength", "1", "--input", w.source, "--output", w.path("hard.npy")},
      {"import-gguf", "--gguf", w.path("c.gguf"), "--out", w.path("c.gguf")},
      {"fit", "--method", "mean", "--source", w.source, "--target", w.target, "--out", w.path("hard.npy")},
      {"fit", "--method", "mean", "--source", w.source, "--target", w.target, "--out", w.target},
  };
  for (const auto& command : commands) {
    CAPTURE(command[0]);
    CAPTURE(command.back());
    const auto r = run(command);
    CHECK(r.status == 2);
    CHECK(r.err.find("is the same file as") != std::string::npos);
  }
  CHECK(file_bytes(map) == map_bytes);
  CHECK(file_bytes(w.path("c.gguf")) == cv_bytes);
  CHECK(file_bytes(w.source) == source_bytes);
  // fit's --out is meant to be read and written: adding to a map file is not an output over an input.
  CHECK(w.fit(w.path("hard.safetensors"), "blk.2").status == 0);
  CHECK(act::load_maps(w.path("hard.safetensors")).size() == 2);
}

TEST_CASE("info and errors show text from files escaped, never raw control characters") {
  workspace w;
  // A map file whose name holds an OSC sequence: info's header line shows it escaped.
  const std::string hostile_name = w.path("m\x1b]0;pwned\x07.safetensors");
  REQUIRE(w.fit(hostile_name, "blk.1").status == 0);
  auto r = run({"info", hostile_name});
  CHECK(r.status == 0);
  CHECK(r.out.find("m\\x1b]0;pwned\\x07.safetensors: 1 site(s)") != std::string::npos);
  CHECK_FALSE(has_control_bytes(r.out));

  // A map file written by another tool with an ESC sequence in a site name and in metadata: refused, and
  // the message shows both escaped on one line.
  act::safetensors_file f = act::read_safetensors(hostile_name);
  for (auto& t : f.tensors) t.name = "blk.1\x1b[2J\x1b]0;title\x07" + t.name.substr(5);
  f.metadata = {{"act.format_version", "1"}, {"act.method.blk.1\x1b[2J\x1b]0;title\x07", "mean\nforged row"}};
  act::write_safetensors(w.path("esc.safetensors"), f);
  r = run({"info", w.path("esc.safetensors")});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("site name 'blk.1\\x1b[2J\\x1b]0;title\\x07' holds the control character U+001B") !=
        std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(has_control_bytes(r.err));
  // The same for a metadata value alone.
  f = act::read_safetensors(hostile_name);
  f.metadata["act.pooling.blk.1"] = "mean\x1b[31m\xc2\x9b";
  act::write_safetensors(w.path("esc2.safetensors"), f);
  r = run({"info", w.path("esc2.safetensors")});
  CHECK(r.status == 1);
  CHECK(r.err.find("act.pooling.blk.1 'mean\\x1b[31m\\xc2\\x9b' holds the control character U+001B") !=
        std::string::npos);
  CHECK_FALSE(has_control_bytes(r.err));
}

TEST_CASE("a strength that overflows fails naming the strength and the site, and writes nothing") {
  workspace w;
  const std::string map = w.path("add.safetensors");
  REQUIRE(w.fit(map, "blk.4").status == 0);
  auto r = run({"apply", "--map", map, "--strength", "1e308", "--input", w.source, "--output", w.path("y.npy")});
  CHECK(r.status == 1);
  CHECK(r.err.find("site 'blk.4'") != std::string::npos);
  CHECK(r.err.find("strength 1e+308") != std::string::npos);
  CHECK_FALSE(fs::exists(w.path("y.npy")));

  r = run({"export-gguf", "--map", map, "--out", w.path("cv.gguf"), "--strength", "1e308"});
  CHECK(r.status == 1);
  CHECK(r.err.find("site 'blk.4' at strength 1e+308") != std::string::npos);
  CHECK_FALSE(fs::exists(w.path("cv.gguf")));

  // Finite coefficients that overflow on large activations: caught after applying, nothing written.
  act::save_npy(w.path("big.npy"), Eigen::MatrixXf::Constant(2, 4, 3e38f));  // beta is about 2: 3e38 + 2e38
  r = run({"apply", "--map", map, "--strength", "1e38", "--input", w.path("big.npy"), "--output", w.path("y.npy")});
  CHECK(r.status == 1);
  CHECK(r.err.find("site 'blk.4' at strength 1e+38 turns the finite value") != std::string::npos);
  CHECK_FALSE(fs::exists(w.path("y.npy")));

  // Large but finite results are fine.
  CHECK(run({"apply", "--map", map, "--strength", "1e30", "--input", w.source, "--output", w.path("y.npy")}).status ==
        0);
  CHECK(run({"export-gguf", "--map", map, "--out", w.path("cv.gguf"), "--strength", "1e30"}).status == 0);
}

TEST_CASE("the next write removes a killed writer's temporary file and keeps a live writer's") {
  workspace w;
  const std::string out = w.path("m.safetensors");
  REQUIRE(w.fit(out, "blk.1").status == 0);
  // Two writers in the middle of writing m.safetensors: each has created its temporary file and holds it.
  const auto start_writer = [&](pid_t& pid, int& release) {
    int ready[2], hold[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(hold) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const std::string temp = w.path(".m.safetensors.tmp." + std::to_string(::getpid()) + ".0");
      const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
      if (fd < 0 || ::flock(fd, LOCK_EX) != 0 || ::write(fd, "half a map", 10) != 10 || ::write(ready[1], "r", 1) != 1)
        ::_exit(1);
      ::close(hold[1]);
      char c;
      while (::read(hold[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    release = hold[1];
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
  };
  pid_t killed = -1, live = -1;
  int killed_release = -1, live_release = -1;
  start_writer(killed, killed_release);
  start_writer(live, live_release);
  ::kill(killed, SIGKILL);  // kill -9 mid-write
  int raw = 0;
  ::waitpid(killed, &raw, 0);
  ::close(killed_release);
  const std::string killed_temp = w.path(".m.safetensors.tmp." + std::to_string(killed) + ".0");
  const std::string live_temp = w.path(".m.safetensors.tmp." + std::to_string(live) + ".0");
  REQUIRE(fs::exists(killed_temp));

  REQUIRE(w.fit(out, "blk.2").status == 0);
  CHECK_FALSE(fs::exists(killed_temp));
  CHECK(fs::exists(live_temp));

  ::close(live_release);
  ::waitpid(live, &raw, 0);
  REQUIRE(w.fit(out, "blk.3").status == 0);
  CHECK_FALSE(fs::exists(live_temp));
  CHECK(act::load_maps(out).size() == 3);
}

TEST_CASE("250- and 255-byte output names work for every command") {
  workspace w;
  for (const std::size_t length : {250, 255}) {
    CAPTURE(length);
    const auto name = [&](const std::string& suffix) {
      return w.path(std::string(length - suffix.size(), 'n') + suffix);
    };
    const std::string map = name(".safetensors");
    CHECK(w.fit(map, "blk.1").status == 0);
    CHECK(w.fit(map, "blk.2").status == 0);
    CHECK(act::load_maps(map).size() == 2);
    CHECK(run({"apply", "--map", map, "--site", "blk.1", "--strength", "1", "--input", w.source, "--output",
               name(".npy")})
              .status == 0);
    CHECK(run({"export-gguf", "--map", map, "--out", name(".gguf")}).status == 0);
    CHECK(run({"import-gguf", "--gguf", name(".gguf"), "--out", name(".back.safetensors")}).status == 0);
    CHECK(act::load_maps(name(".back.safetensors")).size() == 2);
    for (const char* suffix : {".safetensors", ".npy", ".gguf", ".back.safetensors"}) fs::remove(name(suffix));
  }
  CHECK(w.dir.entries().size() == 2);  // s.npy and t.npy: nothing else left behind
}

TEST_CASE("import-gguf names the file for NaN, strengths and numbers are checked alike, --knots 0 works") {
  workspace w;
  // A control vector holding NaN (act's writer refuses one, so the bytes are patched).
  act::control_vector cv;
  cv.directions[1] = {1.0f, 12345.0f, 3.0f};
  std::vector<unsigned char> bytes = act::serialize_control_vector(cv);
  const float marker = 12345.0f, nan = std::nanf("");
  const auto at = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const unsigned char*>(&marker),
                              reinterpret_cast<const unsigned char*>(&marker) + 4);
  REQUIRE(at != bytes.end());
  std::memcpy(&*at, &nan, 4);
  act_test::write_bytes(w.path("nan.gguf"), bytes);
  auto r = run({"import-gguf", "--gguf", w.path("nan.gguf"), "--out", w.path("m.safetensors")});
  CHECK(r.status == 1);
  CHECK(r.err.find(w.path("nan.gguf") + ": tensor 'direction.1' holds a non-finite value nan at index 1") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(w.path("m.safetensors")));

  const std::string map = w.path("add.safetensors");
  REQUIRE(w.fit(map, "blk.1").status == 0);
  for (const char* strength : {"inf", "-inf", "nan"}) {
    CAPTURE(strength);
    r = run({"apply", "--map", map, "--strength", strength, "--input", w.source, "--output", w.path("y.npy")});
    CHECK(r.status == 2);
    CHECK(r.err.find("is not a finite number") != std::string::npos);
    r = run({"export-gguf", "--map", map, "--out", w.path("cv.gguf"), "--strength", strength});
    CHECK(r.status == 2);
    CHECK(r.err.find("is not a finite number") != std::string::npos);
  }
  r = run({"apply", "--map", map, "--strength", "1e309", "--input", w.source, "--output", w.path("y.npy")});
  CHECK(r.status == 2);
  CHECK(r.err.find("--strength '1e309' is out of range") != std::string::npos);
  r = run({"export-gguf", "--map", map, "--out", w.path("cv.gguf"), "--strength", "-1e309"});
  CHECK(r.status == 2);
  CHECK(r.err.find("is out of range") != std::string::npos);
  r = run({"apply", "--map", map, "--strength", "abc", "--input", w.source, "--output", w.path("y.npy")});
  CHECK(r.err.find("--strength 'abc' is not a number") != std::string::npos);
  CHECK_FALSE(fs::exists(w.path("y.npy")));
  CHECK_FALSE(fs::exists(w.path("cv.gguf")));

  // --knots 0: a knot at every sample, as in the library.
  r = run({"fit", "--method", "quantile", "--knots", "0", "--source", w.source, "--target", w.target, "--out",
           w.path("q.safetensors"), "--quiet"});
  CHECK(r.status == 0);
  const act::map_set fitted = act::load_maps(w.path("q.safetensors"));
  const auto& q = std::get<act::quantile_map<float>>(fitted.at("site").map);
  CHECK(q.knots() >= 50);
  CHECK(run({"fit", "--method", "quantile", "--knots", "1", "--source", w.source, "--target", w.target, "--out",
             w.path("q.safetensors")})
            .status == 2);
  r = run({"fit", "--method", "quantile", "--knots", "2000000000", "--source", w.source, "--target", w.target, "--out",
           w.path("q.safetensors")});
  CHECK(r.status == 2);
  CHECK(r.err.find("--knots must be 0 (every sample) or an integer from 2 to 1e9, got '2000000000'") !=
        std::string::npos);
}
