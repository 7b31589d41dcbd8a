// Paths that are not ordinary files, and files that change while they are read: every reader refuses a
// FIFO, a socket, a device or a folder without blocking and without reading past the file's size; a .npy
// file truncated under its mapping is an error, not SIGBUS; degenerate 3-D shapes are refused before
// anything is sized from them; writers never replace what is not a regular file, follow symbolic links
// (and lock the file they point to), and a write beyond the file-size limit is an error, not SIGXFSZ;
// save_maps waits for the file's lock like update_map_file.
#include <act/columns/npy_columns.hpp>
#include <act/io/files.hpp>
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>
#include <act/io/npy_mapped.hpp>
#include <act/io/safetensors.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using act_test::scratch_dir;

act::map_set one_site(const std::string& site, float value = 1.0f) {
  auto m = act::affine_map<float>::identity(4);
  m.beta.setConstant(value);
  act::map_set maps;
  maps.insert(site, m, {"mean", 10, 10, "mean", "all"});
  return maps;
}

/// A folder holding a FIFO, a listening Unix socket and a sub-folder, each of them no regular file.
struct odd_files {
  scratch_dir dir;
  std::string fifo = dir.file("pipe"), socket = dir.file("socket"), folder = dir.file("folder");
  int socket_fd = -1;
  odd_files() {
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    fs::create_directory(folder);
    socket_fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(socket_fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(socket.size() < sizeof address.sun_path);
    std::strcpy(address.sun_path, socket.c_str());
    REQUIRE(::bind(socket_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  }
  ~odd_files() { ::close(socket_fd); }
  std::vector<std::pair<std::string, std::string>> all() const {
    return {{fifo, "FIFO"}, {socket, "socket"}, {folder, "directory"}, {"/dev/zero", "character device"}};
  }
};

/// Runs `f` in a child process and returns its wait status, so that a signal or a hang (alarm after
/// `seconds`) shows as a failed status instead of ending the test run.
int in_child(const std::function<int()>& f, unsigned seconds = 20) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(seconds);
    int code = 3;
    try {
      code = f();
    } catch (...) {
      code = 4;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

bool exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

}  // namespace

TEST_CASE("readers refuse a FIFO, a socket, a folder and /dev/zero at once, naming the file") {
  odd_files odd;
  for (const auto& [path, kind] : odd.all()) {
    const std::string file = path;  // a copy: CAPTURE's lambda cannot capture a structured binding in C++17
    CAPTURE(file);
    // In a child: a reader that blocked on the FIFO or read /dev/zero without end would fail by the alarm.
    const int status = in_child([&, p = path, k = kind] {
      const auto refused = [&](const std::function<void()>& read) {
        try {
          read();
        } catch (const act::io_error& e) {
          const std::string what = e.what();
          return what.find(p) != std::string::npos && what.find(k) != std::string::npos &&
                 what.find("not a regular file") != std::string::npos && what.find('\n') == std::string::npos;
        } catch (...) {
        }
        return false;
      };
      const bool all =
          refused([&] { (void)act::read_npy(p); }) && refused([&] { (void)act::read_safetensors(p); }) &&
          refused([&] { (void)act::load_maps(p); }) && refused([&] { (void)act::read_control_vector(p); }) &&
          refused([&] { (void)act::read_gguf_model_info(p); }) && refused([&] { (void)act::npy_mapped(p); }) &&
          refused([&] { (void)act::npy_columns(p); }) && refused([&] { (void)act::read_npy_integers(p); });
      return all ? 0 : 1;
    });
    CHECK(exited_with(status, 0));
  }
}

TEST_CASE("a .npy file truncated while mapped gives an io_error naming the file and the offset, not SIGBUS") {
  scratch_dir dir;
  const std::string path = dir.file("x.npy");
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(4096, 64);  // 1 MB: many pages
  act::save_npy(path, x);
  const int status = in_child([&] {
    const act::npy_columns columns(path);
    Eigen::MatrixXf block(columns.rows(), 8);
    columns.read<float>(0, 8, block);
    if (block != x.leftCols(8)) return 1;
    if (::truncate(path.c_str(), 4096) != 0) return 2;  // another program cuts the file short
    try {
      columns.read<float>(8, 8, block);
    } catch (const act::io_error& e) {
      const std::string what = e.what();
      return what.find(path) != std::string::npos && what.find("offset") != std::string::npos &&
                     what.find("truncated") != std::string::npos
                 ? 0
                 : 5;
    }
    return 6;
  });
  CHECK(exited_with(status, 0));
  // A second truncated read in the same process works the same (the handler stays in place).
  act::save_npy(path, x);
  const act::npy_columns columns(path);
  REQUIRE(::truncate(path.c_str(), 100) == 0);
  Eigen::MatrixXf block(columns.rows(), 4);
  ACT_CHECK_ERROR(columns.read<float>(0, 4, block), act::io_error, "while being read");
  ACT_CHECK_ERROR(columns.read<float>(4, 4, block), act::io_error, "while being read");
}

TEST_CASE("shapes without tokens or neurons are refused with one line before anything is sized from them") {
  scratch_dir dir;
  const struct {
    const char* shape;
    const char* phrase;
  } cases[] = {{"(8, 0, 16)", "no tokens per sequence"},
               {"(1024, 1048576, 0)", "no neurons"},
               {"(1024, 4194304, 0)", "no neurons"},
               {"(3, 0)", "no neurons"}};
  for (const auto& c : cases) {
    CAPTURE(c.shape);
    const std::string path = dir.file("d.npy");
    act_test::write_bytes(path, act_test::npy_f32_with_shape(c.shape));
    ACT_CHECK_ERROR(act::npy_columns{path}, act::format_error, c.phrase);
  }
}

TEST_CASE("writers refuse to replace a FIFO, a socket or a folder, and leave it as it was") {
  odd_files odd;
  for (const auto& [path, kind] : odd.all()) {
    if (path == "/dev/zero") continue;  // never risk a system device
    const std::string file = path;      // see above: CAPTURE needs a copy
    CAPTURE(file);
    struct stat before {};
    REQUIRE(::lstat(path.c_str(), &before) == 0);
    ACT_CHECK_ERROR(act::save_maps(path, one_site("a")), act::io_error, "refusing to replace it");
    ACT_CHECK_ERROR(act::update_map_file(path, one_site("a")), act::io_error, "not a regular file");
    ACT_CHECK_ERROR(act::save_npy(path, Eigen::MatrixXf::Ones(2, 2)), act::io_error, kind);
    ACT_CHECK_ERROR(act::check_output(path), act::io_error, kind);
    struct stat after {};
    REQUIRE(::lstat(path.c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    CHECK((after.st_mode & S_IFMT) == (before.st_mode & S_IFMT));
  }
  CHECK(odd.dir.entries().size() == 3);  // no temporary and no lock file left
  // A symbolic link to something that is not a regular file is judged by what it points to.
  const std::string link = odd.dir.file("link");
  fs::create_symlink(odd.fifo, link);
  ACT_CHECK_ERROR(act::save_maps(link, one_site("a")), act::io_error, "FIFO");
  CHECK(fs::is_symlink(link));
}

TEST_CASE("a symbolic link as output: the file it points to is written and locked, the link stays") {
  scratch_dir dir;
  fs::create_directory(dir.file("real"));
  const std::string real = dir.file("real/m.safetensors"), link = dir.file("m.safetensors");
  act::save_maps(real, one_site("a"));
  fs::create_symlink("real/m.safetensors", link);  // relative, as `ln -s` makes them
  act::update_map_file(link, one_site("b"));
  CHECK(fs::is_symlink(link));
  CHECK(act::load_maps(real).sites() == std::vector<std::string>{"a", "b"});
  // The lock taken through the link is the real file's: a writer holding it makes a write through the link wait.
  {
    const act::detail::target_lock held(act::detail::target_of(real), std::chrono::milliseconds(1000));
    ACT_CHECK_ERROR(act::update_map_file(link, one_site("c"), std::chrono::milliseconds(100)), act::io_error,
                    "timeout");
    ACT_CHECK_ERROR(act::save_maps(link, one_site("c"), std::chrono::milliseconds(100)), act::io_error, "timeout");
  }
  act::save_maps(link, one_site("c"));
  CHECK(fs::is_symlink(link));
  CHECK(act::load_maps(real).sites() == std::vector<std::string>{"c"});
  // A dangling link creates the file it names; a loop of links is an error naming it.
  const std::string dangling = dir.file("d.safetensors");
  fs::create_symlink("real/new.safetensors", dangling);
  act::save_maps(dangling, one_site("n"));
  CHECK(act::load_maps(dir.file("real/new.safetensors")).sites() == std::vector<std::string>{"n"});
  fs::create_symlink("loop2", dir.file("loop1"));
  fs::create_symlink("loop1", dir.file("loop2"));
  ACT_CHECK_ERROR(act::save_maps(dir.file("loop1"), one_site("x")), act::io_error, "too many levels of symbolic links");
}

TEST_CASE("save_maps takes the file's lock: it waits for a writer holding it and fails naming the file on timeout") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  act::save_maps(path, one_site("a"));
  {
    const act::detail::target_lock held(act::detail::target_of(path), std::chrono::milliseconds(1000));
    ACT_CHECK_ERROR(act::save_maps(path, one_site("b"), std::chrono::milliseconds(100)), act::io_error, path);
  }
  CHECK(act::load_maps(path).sites() == std::vector<std::string>{"a"});
  act::save_maps(path, one_site("b"));
  CHECK(act::load_maps(path).sites() == std::vector<std::string>{"b"});
  CHECK(dir.entries() == std::vector<std::string>{"m.safetensors"});
}

TEST_CASE("update_map_file with a set writes the set's metadata too") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  act::map_set first = one_site("a");
  first.metadata()["note"] = "one";
  act::save_maps(path, first);
  act::map_set second = one_site("b");
  second.metadata()["controlvector.model_hint"] = "llama";
  act::update_map_file(path, second);
  const act::map_set back = act::load_maps(path);
  CHECK(back.sites() == std::vector<std::string>{"a", "b"});
  CHECK(back.metadata().at("note") == "one");
  CHECK(back.metadata().at("controlvector.model_hint") == "llama");
}

TEST_CASE("a write beyond the file-size limit is an io_error (EFBIG) leaving nothing behind, not SIGXFSZ") {
  scratch_dir dir;
  const std::string path = dir.file("big.npy");
  act::save_npy(path, Eigen::MatrixXf::Zero(2, 2));
  const auto before = act_test::read_bytes(path);
  // In a child whose SIGXFSZ has its default action (kill): the limit applies to it alone.
  const int status = in_child([&] {
    ::signal(SIGXFSZ, SIG_DFL);
    rlimit limit{};
    if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
    limit.rlim_cur = 4096;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
    try {
      act::save_npy(path, Eigen::MatrixXf::Zero(100, 100));  // 40 KB
    } catch (const act::io_error& e) {
      return std::string(e.what()).find("File too large") != std::string::npos ? 0 : 5;
    }
    return 6;
  });
  CHECK(exited_with(status, 0));
  CHECK(act_test::read_bytes(path) == before);
  CHECK(dir.entries() == std::vector<std::string>{"big.npy"});
}

TEST_CASE("serialize_safetensors finds a duplicate name among many tensors") {
  act::safetensors_file file;
  const float v = 1.0f;
  for (int i = 0; i < 20000; ++i)
    file.tensors.push_back(act::safetensors_tensor::from_floats("t" + std::to_string(i), {1}, &v));
  CHECK(act::serialize_safetensors(file).size() > 20000u * 4u);
  file.tensors.push_back(act::safetensors_tensor::from_floats("t12345", {1}, &v));
  ACT_CHECK_ERROR(act::serialize_safetensors(file), act::invalid_argument, "duplicate tensor name 't12345'");
}
