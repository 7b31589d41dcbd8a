#pragma once
/// \file file.hpp
/// Whole-file reads and atomic whole-file writes (temporary file in the same folder, fsync, rename).

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <act/core/error.hpp>

// The readers copy little-endian bytes straight into floats.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "act's file readers assume a little-endian machine");

namespace act::detail {

/// A path argument as a string: std::string, std::string_view, C strings, or std::filesystem::path (and
/// anything else with a `string()` member).
template <class Path>
std::string path_string(const Path& path) {
  if constexpr (std::is_convertible_v<const Path&, std::string_view>)
    return std::string(std::string_view(path));
  else
    return path.string();
}

/// Text of errno for messages.
inline std::string errno_text(int code) { return std::strerror(code); }

/// Closes a file descriptor when it goes out of scope, so every early throw releases it.
class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  /// Closes now and reports close's errno (0 on success); close can report delayed write errors.
  int reset() noexcept {
    int code = 0;
    if (fd_ >= 0 && ::close(fd_) != 0) code = errno;
    fd_ = -1;
    return code;
  }

 private:
  int fd_;
};

/// Reads the whole file at `path`. Throws io_error naming the path when it cannot be opened or read.
/// (Templates here and below only so that translation units that do no I/O compile none of it.)
template <class Path>
std::vector<unsigned char> read_file(const Path& file) {
  const std::string path = path_string(file);
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) raise<io_error>("{}: cannot open for reading: {}", path, errno_text(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) raise<io_error>("{}: cannot stat: {}", path, errno_text(errno));
  if (S_ISDIR(info.st_mode)) raise<io_error>("{}: is a directory, not a file", path);

  std::vector<unsigned char> bytes;
  // Regular files tell their size; reserve it, but keep reading until EOF in case it changes.
  if (S_ISREG(info.st_mode) && info.st_size > 0) bytes.reserve(static_cast<std::size_t>(info.st_size));
  unsigned char chunk[65536];
  for (;;) {
    const ssize_t got = ::read(fd.get(), chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EINTR) continue;
      raise<io_error>("{}: read failed: {}", path, errno_text(errno));
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  return bytes;
}

/// Folder part of `path` ("." when it has none), used to place the temporary file and fsync the folder.
inline std::string parent_folder(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

/// Writes `size` bytes to `path` atomically: readers see the old file or the complete new one, never a
/// part. The data goes to a temporary file in the same folder (rename is only atomic within one file
/// system), is fsynced, then renamed over the target. On any failure the temporary file is removed and
/// io_error names the path; the target is left as it was.
template <class Byte>
void atomic_write(const std::string& path, const Byte* bytes, std::size_t size) {
  static_assert(sizeof(Byte) == 1, "atomic_write writes bytes");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes);
  if (path.empty()) raise<io_error>("cannot write a file with an empty path");
  const std::size_t slash = path.find_last_of('/');
  const std::string folder = parent_folder(path);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) raise<io_error>("{}: names a folder, not a file", path);

  // A unique hidden name per process and call; O_EXCL makes a clash an error we retry, never a shared file.
  static std::atomic<unsigned> counter{0};
  std::string temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temp = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "." + base + ".tmp." +
           std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    // 0666 lets the umask decide the final permissions, as for any newly created file.
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (raw_fd < 0 && errno != EEXIST) {
      raise<io_error>("{}: cannot create temporary file in {}: {}", path, folder, errno_text(errno));
    }
  }
  if (raw_fd < 0) raise<io_error>("{}: cannot find a free temporary file name in {}", path, folder);
  unique_fd fd(raw_fd);

  // Removes the temporary file and throws; used by every failure after creation.
  auto fail = [&](const char* what, int code) {
    fd.reset();
    ::unlink(temp.c_str());
    raise<io_error>("{}: {} failed: {}", path, what, errno_text(code));
  };

  std::size_t done = 0;
  while (done < size) {
    const ssize_t wrote = ::write(fd.get(), data + done, size - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    if (wrote == 0) fail("write", ENOSPC);  // no progress and no error: treat as a full device
    done += static_cast<std::size_t>(wrote);
  }
  if (::fsync(fd.get()) != 0) fail("fsync", errno);
  if (const int code = fd.reset(); code != 0) fail("close", code);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("rename", errno);

  // Persist the rename itself; failure here cannot undo the write, so it is not an error.
  unique_fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) (void)::fsync(dir.get());
}

/// Convenience overload for a byte vector.
template <class Byte>
void atomic_write(const std::string& path, const std::vector<Byte>& bytes) {
  atomic_write(path, bytes.data(), bytes.size());
}

}  // namespace act::detail
