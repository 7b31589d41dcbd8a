// No lost data in the file layer: concurrent updates of one map file, the lock, temporary files
// (names within the file-name limit, stale ones of killed writers removed, live ones kept), names that
// would corrupt a file, same-file detection, and control vectors that would hold Inf.
#include <act/io/control_vector_maps.hpp>
#include <act/io/files.hpp>
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/safetensors.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using act_test::scratch_dir;

/// A small additive map whose beta tells the sites apart.
act::affine_map<float> shift_map(float value, Eigen::Index d = 4) {
  auto m = act::affine_map<float>::identity(d);
  m.beta.setConstant(value);
  return m;
}

act::map_set one_site(const std::string& site, float value = 1.0f) {
  act::map_set maps;
  maps.insert(site, shift_map(value), {"mean", 10, 10, "mean", "all"});
  return maps;
}

std::vector<unsigned char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Holds a file descriptor with an exclusive flock, as another writer following the lock protocol would.
struct held_lock {
  int fd = -1;
  explicit held_lock(const std::string& path) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX) == 0);
  }
  ~held_lock() { ::close(fd); }
};

/// Children that start together: each blocks until the parent closes the pipe (no sleeps).
struct start_gate {
  int fds[2] = {-1, -1};
  start_gate() { REQUIRE(::pipe(fds) == 0); }
  void wait_in_child() {
    ::close(fds[1]);
    char c;
    while (::read(fds[0], &c, 1) > 0) {
    }
    ::close(fds[0]);
  }
  void open_in_parent() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

/// A process that creates `path` (a temporary file as a writer would), holds an flock on it like act's
/// writers do, reports that it is ready and waits until its pipe closes (or it is killed).
struct fake_writer {
  pid_t pid = -1;
  int release_fd = -1;

  explicit fake_writer(const std::function<std::string(pid_t)>& name_for) {
    int ready[2], release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      const std::string name = name_for(::getpid());
      const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
      if (fd < 0 || ::flock(fd, LOCK_EX) != 0 || ::write(fd, "partial", 7) != 7) ::_exit(1);
      if (::write(ready[1], "r", 1) != 1) ::_exit(1);
      char c;
      while (::read(release[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_fd = release[1];
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
  }
  /// kill -9, then reap: the PID no longer exists.
  void kill_hard() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(release_fd);
  }
  void finish() {
    ::close(release_fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

std::vector<std::string> expected_sites(int writers, int per_writer) {
  std::vector<std::string> sites{"s0"};
  for (int w = 1; w <= writers; ++w)
    for (int k = 0; k < per_writer; ++k) sites.push_back(fmt::format("w{}.{}", w, k));
  std::sort(sites.begin(), sites.end());
  return sites;
}

}  // namespace

TEST_CASE("update_map_file: 8 processes adding different sites at once keep every site, every time") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  constexpr int writers = 8, per_writer = 3, repetitions = 5;
  for (int rep = 0; rep < repetitions; ++rep) {
    CAPTURE(rep);
    fs::remove(path);
    act::save_maps(path, one_site("s0"));
    start_gate gate;
    std::vector<pid_t> children;
    for (int w = 1; w <= writers; ++w) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        gate.wait_in_child();
        int status = 0;
        try {
          for (int k = 0; k < per_writer; ++k)
            act::update_map_file(path, one_site(fmt::format("w{}.{}", w, k), static_cast<float>(w)));
        } catch (...) {
          status = 1;
        }
        ::_exit(status);
      }
      children.push_back(pid);
    }
    gate.open_in_parent();
    for (const pid_t pid : children) {
      int status = -1;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    const act::map_set maps = act::load_maps(path);
    CHECK(maps.sites() == expected_sites(writers, per_writer));
    CHECK(std::get<act::affine_map<float>>(maps.at("w7.2").map).beta[0] == 7.0f);
    CHECK(dir.entries() == std::vector<std::string>{"m.safetensors"});  // no lock file, no temporary left
  }
}

TEST_CASE("update_map_file: threads of one process exclude each other too") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  act::save_maps(path, one_site("s0"));
  constexpr int writers = 8, per_writer = 3;
  std::vector<std::thread> threads;
  std::vector<int> failures(writers, 0);
  for (int w = 1; w <= writers; ++w)
    threads.emplace_back([&, w] {
      try {
        for (int k = 0; k < per_writer; ++k) act::update_map_file(path, one_site(fmt::format("w{}.{}", w, k)));
      } catch (...) {
        failures[static_cast<std::size_t>(w - 1)] = 1;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(std::count(failures.begin(), failures.end(), 1) == 0);
  CHECK(act::load_maps(path).sites() == expected_sites(writers, per_writer));
}

TEST_CASE("update_map_file: adds and replaces sites, creates a missing file, edits by function") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  auto written = act::update_map_file(path, one_site("blk.1", 1.0f));  // no file yet
  CHECK(written.sites() == std::vector<std::string>{"blk.1"});
  act::update_map_file(path, one_site("blk.2", 2.0f));
  act::update_map_file(path, one_site("blk.1", 5.0f));  // replaces
  auto maps = act::load_maps(path);
  CHECK(maps.sites() == std::vector<std::string>{"blk.1", "blk.2"});
  CHECK(std::get<act::affine_map<float>>(maps.at("blk.1").map).beta[0] == 5.0f);

  written = act::update_map_file(path, [](act::map_set& m) { m.erase("blk.2"); });
  CHECK(written.sites() == std::vector<std::string>{"blk.1"});
  CHECK(act::load_maps(path).sites() == std::vector<std::string>{"blk.1"});
  CHECK(dir.entries() == std::vector<std::string>{"m.safetensors"});
}

TEST_CASE("update_map_file: nothing is written when reading, the edit or the result fails; the lock is released") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  act::save_maps(path, one_site("blk.1"));
  const auto before = file_bytes(path);

  CHECK_THROWS_WITH_AS(act::update_map_file(path, [](act::map_set&) { throw std::runtime_error("edit failed"); }),
                       "edit failed", std::runtime_error);
  CHECK_THROWS_AS(act::update_map_file(path, [](act::map_set& m) { m.erase("blk.1"); }),
                  act::invalid_argument);  // empty
  CHECK(file_bytes(path) == before);
  // The lock was released each time: an update that may not wait at all gets it.
  CHECK_NOTHROW(act::update_map_file(path, one_site("blk.2"), std::chrono::milliseconds(0)));

  // A file that is not a map file is never replaced.
  const std::string npy = dir.file("x.safetensors");
  { std::ofstream(npy) << "not a map file"; }
  CHECK_THROWS_AS(act::update_map_file(npy, one_site("blk.1")), act::format_error);
  CHECK(file_bytes(npy) ==
        std::vector<unsigned char>{'n', 'o', 't', ' ', 'a', ' ', 'm', 'a', 'p', ' ', 'f', 'i', 'l', 'e'});
}

TEST_CASE("update_map_file: a writer that cannot get the lock in time fails naming the file; readers never wait") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  act::save_maps(path, one_site("blk.1"));
  const auto before = file_bytes(path);
  {
    held_lock other(dir.file(".m.safetensors.lock"));  // another writer, following the protocol
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(act::update_map_file(path, one_site("blk.2"), std::chrono::milliseconds(150)),
                         doctest::Contains((path + ": another writer has held its lock").c_str()), act::io_error);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
    CHECK_THROWS_WITH_AS(act::update_map_file(path, one_site("blk.2"), std::chrono::milliseconds(0)),
                         doctest::Contains("(0 s); nothing was written"), act::io_error);
    CHECK(file_bytes(path) == before);
    CHECK(act::load_maps(path).sites() == std::vector<std::string>{"blk.1"});  // reading does not wait
  }
  act::update_map_file(path, one_site("blk.2"), std::chrono::milliseconds(0));
  CHECK(act::load_maps(path).sites() == std::vector<std::string>{"blk.1", "blk.2"});
  CHECK_FALSE(fs::exists(dir.file(".m.safetensors.lock")));  // its holder removes it
  // A symlink planted as the lock file is not followed.
  fs::create_symlink(dir.file("elsewhere"), dir.file(".m.safetensors.lock"));
  CHECK_THROWS_AS(act::update_map_file(path, one_site("blk.3")), act::io_error);
  CHECK_FALSE(fs::exists(dir.file("elsewhere")));
}

TEST_CASE("temporary files: output names up to 255 bytes work, and stale temporaries are removed, live ones kept") {
  scratch_dir dir;
  for (const std::size_t length : {236, 237, 250, 255}) {
    CAPTURE(length);
    std::string name(length - 12, 'x');
    name += ".safetensors";
    const std::string path = dir.file(name);
    act::save_maps(path, one_site("blk.1"));
    act::update_map_file(path, one_site("blk.2"));
    CHECK(act::load_maps(path).sites() == std::vector<std::string>{"blk.1", "blk.2"});
    fs::remove(path);
    CHECK(dir.entries().empty());
  }
  // UTF-8 names are shortened at a character boundary (a name of 2-byte characters).
  std::string wide;
  while (wide.size() < 240) wide += "\xc3\xa4";
  act::save_maps(dir.file(wide), one_site("blk.1"));
  CHECK(act::load_maps(dir.file(wide)).size() == 1);
  fs::remove(dir.file(wide));

  const std::string path = dir.file("m.safetensors");
  act::save_maps(path, one_site("blk.1"));
  const auto temp_of = [&](const std::string& target) {
    return [&dir, target](pid_t pid) { return dir.file("." + target + ".tmp." + std::to_string(pid) + ".0"); };
  };
  fake_writer killed(temp_of("m.safetensors"));        // killed mid-write: its PID is gone
  fake_writer live(temp_of("m.safetensors"));          // still writing
  fake_writer other_target(temp_of("n.safetensors"));  // killed too, but another file's
  killed.kill_hard();
  other_target.kill_hard();
  const std::string killed_temp = temp_of("m.safetensors")(killed.pid);
  const std::string live_temp = temp_of("m.safetensors")(live.pid);
  // A temporary whose PID this process cannot see but whose writer holds its lock (another container).
  const std::string foreign_temp = temp_of("m.safetensors")(other_target.pid);
  held_lock foreign(foreign_temp);
  const std::string not_ours = dir.file(".m.safetensors.tmp.x.0");
  { std::ofstream(not_ours) << "a user's file"; }
  REQUIRE(fs::exists(killed_temp));

  act::save_maps(path, one_site("blk.2"));
  CHECK_FALSE(fs::exists(killed_temp));
  CHECK(fs::exists(live_temp));
  CHECK(fs::exists(foreign_temp));
  CHECK(fs::exists(temp_of("n.safetensors")(other_target.pid)));
  CHECK(fs::exists(not_ours));

  // Once the live writer has gone, the next write removes its leftover too (update_map_file writes the same way).
  live.kill_hard();
  act::update_map_file(path, one_site("blk.3"));
  CHECK_FALSE(fs::exists(live_temp));
  CHECK(act::load_maps(path).sites() == std::vector<std::string>{"blk.2", "blk.3"});
}

TEST_CASE("names: what a map file cannot hold is refused before writing, and readers refuse broken files") {
  scratch_dir dir;
  // The generic writer refuses what JSON cannot hold (not UTF-8), naming it escaped; nothing is written.
  for (const std::string bad : {"\xff", "\xed\xa0\x80", "\xc0\xaf"}) {
    act::safetensors_file f;
    f.metadata["k"] = bad;
    CHECK_THROWS_WITH_AS(act::write_safetensors(dir.file("a.safetensors"), f), doctest::Contains("is not valid UTF-8"),
                         act::invalid_argument);
    act::safetensors_file g;
    const float one = 1;
    g.tensors.push_back(act::safetensors_tensor::from_floats(bad + ".omega", {1}, &one));
    CHECK_THROWS_AS(act::write_safetensors(dir.file("a.safetensors"), g), act::invalid_argument);
    f.metadata.clear();
    f.metadata[bad] = "v";
    CHECK_THROWS_AS(act::serialize_safetensors(f), act::invalid_argument);
  }
  CHECK(dir.entries().empty());

  // A header with raw invalid UTF-8 stays refused by the readers (the whole file, with its name).
  std::string header = "{\"__metadata__\":{\"act.format_version\":\"1\",\"x\":\"\xff\"}}";
  std::vector<unsigned char> bytes;
  act_test::put_u64(bytes, header.size());
  act_test::put_str(bytes, header);
  act_test::write_bytes(dir.file("broken.safetensors"), bytes);
  CHECK_THROWS_WITH_AS(act::load_maps(dir.file("broken.safetensors")), doctest::Contains("invalid UTF-8"),
                       act::format_error);

  // A map file whose site name or site metadata holds control characters (JSON can escape them) is refused
  // with the file's name and the text escaped; save_maps cannot produce one (map_set refuses such names).
  const auto map_file_with = [&](const std::string& site, const std::string& method) {
    act::safetensors_file f = act::maps_to_safetensors(one_site("blk.1"));
    for (auto& t : f.tensors) t.name = site + t.name.substr(5);
    f.metadata.clear();
    f.metadata["act.format_version"] = "1";
    f.metadata["act.method." + site] = method;
    const std::string path = dir.file("esc.safetensors");
    act::write_safetensors(path, f);
    return path;
  };
  CHECK_THROWS_WITH_AS(
      act::load_maps(map_file_with("blk.1\x1b]0;pwned\x07", "mean")),
      doctest::Contains("esc.safetensors: site name 'blk.1\\x1b]0;pwned\\x07' holds the control character U+001B"),
      act::format_error);
  CHECK_THROWS_WITH_AS(act::load_maps(map_file_with("blk.1\nblk.9 forged", "mean")), doctest::Contains("U+000A"),
                       act::format_error);
  CHECK_THROWS_WITH_AS(act::load_maps(map_file_with("blk.1", "mean\x1b[2J")),
                       doctest::Contains("act.method.blk.1 'mean\\x1b[2J' holds the control character"),
                       act::format_error);
}

TEST_CASE("same_file compares device and inode") {
  scratch_dir dir;
  const std::string a = dir.file("a.safetensors");
  act::save_maps(a, one_site("blk.1"));
  act::save_maps(dir.file("b.safetensors"), one_site("blk.1"));
  fs::create_hard_link(a, dir.file("hard.safetensors"));
  fs::create_symlink(a, dir.file("soft.safetensors"));
  CHECK(act::same_file(a, a));
  CHECK(act::same_file(a, dir.path() + "/./a.safetensors"));
  CHECK(act::same_file(fs::path(a), dir.file("hard.safetensors")));
  CHECK(act::same_file(a, dir.file("soft.safetensors")));
  CHECK_FALSE(act::same_file(a, dir.file("b.safetensors")));
  CHECK_FALSE(act::same_file(a, dir.file("missing.safetensors")));
  CHECK_FALSE(act::same_file(dir.file("missing.safetensors"), dir.file("missing.safetensors")));
}

TEST_CASE(
    "control vectors: Inf is refused before writing, with the strength and the site; NaN read back names the file") {
  scratch_dir dir;
  act::control_vector cv;
  cv.directions[1] = {1.0f, std::numeric_limits<float>::infinity()};
  CHECK_THROWS_WITH_AS(act::write_control_vector(dir.file("cv.gguf"), cv),
                       doctest::Contains("direction for layer 1 holds inf at index 1"), act::non_finite_error);
  CHECK(dir.entries().empty());

  act::map_set maps = one_site("blk.3", 2.0f);
  CHECK_THROWS_WITH_AS(act::to_control_vector(maps, 1e308, "llama", "add.safetensors"),
                       doctest::Contains("add.safetensors: site 'blk.3' at strength 1e+308"), act::non_finite_error);
  CHECK(act::to_control_vector(maps, 1e30).directions.at(3)[0] == 2e30f);

  act::control_vector nan_cv;
  nan_cv.directions[2] = {0.5f, std::nanf("")};
  CHECK_THROWS_WITH_AS(act::maps_from_control_vector(nan_cv, "cv.gguf"),
                       doctest::Contains("cv.gguf: tensor 'direction.2' holds a non-finite value nan at index 1"),
                       act::non_finite_error);
}
