// act-cli on paths that are not ordinary files and on inputs that would make it block, divide by zero or
// allocate without bound: every case exits 1 with one line naming the file, at once, and changes no output.
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"
#include "run_program.hpp"

namespace {

namespace fs = std::filesystem;
using act_test::run_result;

run_result run(const std::vector<std::string>& arguments) { return act_test::run_program(ACT_CLI_PATH, arguments); }

/// Exit status 1 and exactly one line on stderr that names `file` and holds `phrase`.
void check_refused(const run_result& r, const std::string& file, const std::string& phrase) {
  CAPTURE(r.err);
  CHECK(r.status == 1);
  CHECK(r.err.find(file) != std::string::npos);
  CHECK(r.err.find(phrase) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

struct workspace {
  act_test::scratch_dir dir;
  std::string source = dir.file("s.npy"), target = dir.file("t.npy"), map = dir.file("m.safetensors"),
              fifo = dir.file("pipe");
  workspace(Eigen::Index d = 4) {
    std::mt19937 rng(5);
    std::normal_distribution<float> z;
    Eigen::MatrixXf s(40, d), t(30, d);
    for (Eigen::Index i = 0; i < s.size(); ++i) s.data()[i] = z(rng);
    for (Eigen::Index i = 0; i < t.size(); ++i) t.data()[i] = 1.0f + z(rng);
    act::save_npy(source, s);
    act::save_npy(target, t);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    REQUIRE(run({"fit", "--method", "mean", "--source", source, "--target", target, "--out", map, "--quiet"}).status ==
            0);
  }
  std::string path(const std::string& name) const { return dir.file(name); }
};

}  // namespace

TEST_CASE("a FIFO as any input or output is refused at once, naming it, and stays a FIFO") {
  workspace w;
  const std::string& p = w.fifo;
  const std::string out = w.path("o.npy");
  check_refused(run({"fit", "--method", "mean", "--source", p, "--target", w.target, "--out", w.path("n.safetensors"),
                     "--quiet"}),
                p, "FIFO");
  check_refused(run({"fit", "--method", "mean", "--source", w.source, "--target", p, "--out", w.path("n.safetensors"),
                     "--quiet"}),
                p, "FIFO");
  check_refused(run({"apply", "--map", w.map, "--strength", "1", "--input", p, "--output", out, "--quiet"}), p, "FIFO");
  check_refused(run({"apply", "--map", p, "--strength", "1", "--input", w.source, "--output", out, "--quiet"}), p,
                "FIFO");
  check_refused(run({"info", p}), p, "FIFO");
  check_refused(run({"import-gguf", "--gguf", p, "--out", w.path("n.safetensors")}), p, "FIFO");
  check_refused(run({"export-gguf", "--map", p, "--out", w.path("n.gguf")}), p, "FIFO");
  // As output: refused before any work, the FIFO left in place.
  check_refused(run({"fit", "--method", "mean", "--source", w.source, "--target", w.target, "--out", p, "--quiet"}), p,
                "refusing to replace it");
  check_refused(run({"apply", "--map", w.map, "--strength", "1", "--input", w.source, "--output", p, "--quiet"}), p,
                "refusing to replace it");
  check_refused(run({"export-gguf", "--map", w.map, "--out", p}), p, "refusing to replace it");
  struct stat info {};
  REQUIRE(::lstat(p.c_str(), &info) == 0);
  CHECK(S_ISFIFO(info.st_mode));
  CHECK(!fs::exists(out));
}

TEST_CASE("/dev/zero as a map or GGUF input and a folder as output are refused with one line") {
  workspace w;
  check_refused(run({"info", "/dev/zero"}), "/dev/zero", "character device");
  check_refused(run({"apply", "--map", "/dev/zero", "--strength", "1", "--input", w.source, "--output", w.path("o.npy"),
                     "--quiet"}),
                "/dev/zero", "character device");
  check_refused(run({"import-gguf", "--gguf", "/dev/zero", "--out", w.path("n.safetensors")}), "/dev/zero",
                "character device");
  check_refused(run({"fit", "--method", "mean", "--source", "/dev/zero", "--target", w.target, "--out",
                     w.path("n.safetensors"), "--quiet"}),
                "/dev/zero", "character device");
  fs::create_directory(w.path("folder"));
  check_refused(
      run({"apply", "--map", w.map, "--strength", "1", "--input", w.source, "--output", w.path("folder"), "--quiet"}),
      w.path("folder"), "directory");
  CHECK(fs::is_directory(w.path("folder")));
}

TEST_CASE(
    "3-D inputs without tokens or neurons are refused naming the file, with --lengths or --mask, before any "
    "allocation") {
  workspace w;
  const std::string lengths = w.path("len.npy"), mask = w.path("mask.npy");
  act::save_npy_vector(lengths, Eigen::VectorXf::Ones(8));  // never read: the shape is refused first
  act::save_npy(mask, Eigen::MatrixXf::Ones(8, 1));
  const struct {
    const char* shape;
    const char* phrase;
  } cases[] = {{"(8, 0, 16)", "no tokens per sequence"},
               {"(1024, 1048576, 0)", "no neurons"},
               {"(1024, 4194304, 0)", "no neurons"}};
  for (const auto& c : cases) {
    CAPTURE(c.shape);
    const std::string bad = w.path("bad.npy");
    act_test::write_bytes(bad, act_test::npy_f32_with_shape(c.shape));
    for (const char* option : {"--lengths", "--mask"}) {
      check_refused(run({"fit", "--method", "mean", "--source", bad, "--target", w.target, "--out",
                         w.path("n.safetensors"), option, std::string(option) == "--mask" ? mask : lengths, "--quiet"}),
                    bad, c.phrase);
    }
  }
  CHECK(!fs::exists(w.path("n.safetensors")));
}

TEST_CASE("fit --out through a symbolic link adds the site to the file it points to; the link stays") {
  workspace w;
  const std::string link = w.path("link.safetensors");
  fs::create_symlink("m.safetensors", link);
  REQUIRE(run({"fit", "--method", "mean", "--source", w.source, "--target", w.target, "--out", link, "--site", "second",
               "--quiet"})
              .status == 0);
  CHECK(fs::is_symlink(link));
  CHECK(act::load_maps(w.map).sites() == std::vector<std::string>{"second", "site"});
}

TEST_CASE("under ulimit -f smaller than the map, fit fails with one line and leaves no temporary") {
  workspace w(3000);  // a map of about 24 KB
  const auto before = act_test::read_bytes(w.map);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit small = saved;
  small.rlim_cur = 8192;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);  // inherited by act-cli; this process writes nothing meanwhile
  const run_result r = run({"fit", "--method", "mean", "--source", w.source, "--target", w.target, "--out", w.map,
                            "--site", "two", "--quiet"});
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  check_refused(r, w.map, "File too large");
  CHECK(act_test::read_bytes(w.map) == before);
  std::vector<std::string> names = w.dir.entries();
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"m.safetensors", "pipe", "s.npy", "t.npy"});
}
