#pragma once
/// \file file.hpp
/// Whole-file reads, atomic whole-file writes (temporary file in the same folder, fsync, rename; stale
/// temporaries of killed writers removed) and the advisory lock of a file's read-modify-write.

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
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
  unique_fd(unique_fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
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

/// What a file that is not a regular file is, for messages: "a FIFO", "a directory", ...
inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

/// An input file opened for reading, with the size it had when opened.
struct input_file {
  unique_fd fd;
  std::size_t size = 0;
};

/// Opens `path` for reading without ever blocking: O_NONBLOCK for the open itself (a FIFO without a writer
/// or a device would otherwise wait forever), then fstat, and anything that is not a regular file (FIFO,
/// socket, device, directory) is refused with io_error naming it before a byte is read. O_NONBLOCK is then
/// cleared. The size is what readers may read, never more.
template <class Path>
input_file open_input(const Path& file) {
  const std::string path = path_string(file);
  input_file in{unique_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)), 0};
  if (in.fd.get() < 0) {
    const int code = errno;
    // A socket cannot be opened at all (ENXIO): say what it is.
    if (struct stat info{}; ::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode))
      raise<io_error>("{}: is {}, not a regular file; refusing to read it", path, file_kind(info.st_mode));
    raise<io_error>("{}: cannot open for reading: {}", path, errno_text(code));
  }
  struct stat info {};
  if (::fstat(in.fd.get(), &info) != 0) raise<io_error>("{}: cannot stat: {}", path, errno_text(errno));
  if (!S_ISREG(info.st_mode))
    raise<io_error>("{}: is {}, not a regular file; refusing to read it", path, file_kind(info.st_mode));
  const int flags = ::fcntl(in.fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(in.fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    raise<io_error>("{}: cannot set blocking mode: {}", path, errno_text(errno));
  if (info.st_size < 0 || static_cast<std::uint64_t>(info.st_size) > static_cast<std::uint64_t>(PTRDIFF_MAX))
    raise<io_error>("{}: size {} is out of range", path, static_cast<long long>(info.st_size));
  in.size = static_cast<std::size_t>(info.st_size);
  return in;
}

/// Reads exactly `size` bytes at `offset` of the open file `fd` into `out`. A file that ends early (it
/// was truncated or rewritten while being read) is an io_error naming `path` and the offset.
inline void read_exactly(int fd, void* out, std::size_t size, std::uint64_t offset, const std::string& path) {
  auto* to = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, to + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      raise<io_error>("{}: read failed at offset {}: {}", path, offset + done, errno_text(errno));
    }
    if (got == 0)
      raise<io_error>("{}: the file ends at offset {} while {} bytes were expected there (it changed while being read)",
                      path, offset + done, size - done);
    done += static_cast<std::size_t>(got);
  }
}

/// Reads the whole file at `path`: exactly the size it has when opened (open_input: FIFOs, devices and
/// other files that are not regular files are refused). Throws io_error naming the path when it cannot be
/// opened or read, or ends early. (Templates here and below only so that translation units that do no I/O
/// compile none of it.)
template <class Path>
std::vector<unsigned char> read_file(const Path& file) {
  const std::string path = path_string(file);
  const input_file in = open_input(path);
  std::vector<unsigned char> bytes(in.size);
  read_exactly(in.fd.get(), bytes.data(), bytes.size(), 0, path);
  return bytes;
}

/// Folder part of `path` ("." when it has none), used to place the temporary file and fsync the folder.
inline std::string parent_folder(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

/// The longest file name the temporary and lock names are built to fit (NAME_MAX of Linux file systems).
inline constexpr std::size_t max_file_name = 255;

/// The part of a target's file name that act's sibling files (`.STEM.tmp.PID.N`, `.STEM.lock`) carry: the
/// name itself when a temporary name built from it fits in max_file_name, else its first bytes (cut at a
/// UTF-8 character boundary) and `~` and 16 hex digits of a hash of the whole name. The same name always
/// gives the same stem, so the stale temporaries and the lock of a target can be found again.
inline std::string sibling_stem(std::string_view base) {
  // ".STEM" + ".tmp." + up to 10 digits of pid + "." + up to 10 digits of counter.
  constexpr std::size_t room = max_file_name - (1 + 5 + 10 + 1 + 10);
  if (base.size() <= room) return std::string(base);
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (const char c : base) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::size_t keep = room - 17;
  while (keep > 0 && (static_cast<unsigned char>(base[keep]) & 0xC0u) == 0x80u) --keep;  // not inside a character
  static constexpr char hex[] = "0123456789abcdef";
  std::string stem(base.substr(0, keep));
  stem += '~';
  for (int shift = 60; shift >= 0; shift -= 4) stem += hex[(hash >> shift) & 0xF];
  return stem;
}

/// A target path cut into the pieces its sibling files need (made by `target_of`).
struct target_path {
  std::string given;   ///< as given
  std::string path;    ///< the file written: `given` with its symbolic links followed
  std::string folder;  ///< its folder, "." when it names none
  std::string prefix;  ///< its folder with a trailing slash, or "" (what sibling names are appended to)
  std::string stem;    ///< sibling_stem of its file name

  /// The target for messages: "PATH", or "GIVEN (-> PATH)" when a symbolic link led there.
  std::string name() const { return given == path ? path : given + " (-> " + path + ")"; }
  /// The start of every temporary file name of this target: ".STEM.tmp." (without the folder).
  std::string temporary_prefix() const { return "." + stem + ".tmp."; }
  /// The lock file of this target, with its folder: "FOLDER/.STEM.lock".
  std::string lock_path() const { return prefix + "." + stem + ".lock"; }
};

/// `path` with symbolic links in its last component followed (a link to a link too, at most 40), so that a
/// write through a link replaces the file it points to, not the link. A dangling link gives the path it names.
inline std::string follow_links(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) return path;
    std::string link(static_cast<std::size_t>(info.st_size > 0 ? info.st_size : 255) + 1, '\0');
    const ssize_t n = ::readlink(path.c_str(), link.data(), link.size());
    if (n < 0) raise<io_error>("{}: cannot read the symbolic link: {}", path, errno_text(errno));
    if (static_cast<std::size_t>(n) >= link.size())
      raise<io_error>("{}: the symbolic link changed while being read", path);
    link.resize(static_cast<std::size_t>(n));
    const std::size_t slash = path.find_last_of('/');
    path = link.front() == '/' || slash == std::string::npos ? link : path.substr(0, slash + 1) + link;
  }
  raise<io_error>("{}: too many levels of symbolic links", path);
}

/// The pieces of the file path `path`, its symbolic links followed (follow_links); throws io_error for an
/// empty path or one that names a folder.
template <class Path>
target_path target_of(const Path& file) {
  target_path t;
  t.given = path_string(file);
  if (t.given.empty()) raise<io_error>("cannot write a file with an empty path");
  t.path = follow_links(t.given);
  const std::size_t slash = t.path.find_last_of('/');
  t.folder = parent_folder(t.path);
  t.prefix = slash == std::string::npos ? std::string() : t.path.substr(0, slash + 1);
  const std::string_view base = std::string_view(t.path).substr(slash == std::string::npos ? 0 : slash + 1);
  if (base.empty()) raise<io_error>("{}: names a folder, not a file", t.name());
  t.stem = sibling_stem(base);
  return t;
}

/// Refuses (io_error naming it) a target that exists and is not a regular file: a write never replaces a
/// device, FIFO, socket or directory by a file.
inline void check_replaceable(const target_path& target) {
  struct stat info {};
  if (::lstat(target.path.c_str(), &info) != 0) {
    if (errno == ENOENT) return;
    raise<io_error>("{}: cannot examine the output: {}", target.name(), errno_text(errno));
  }
  if (!S_ISREG(info.st_mode))
    raise<io_error>("{}: is {}, not a regular file; refusing to replace it", target.name(), file_kind(info.st_mode));
}

/// The process id in a temporary file name "<prefix>PID.N" of this target, or 0 when `name` is not one.
inline long temporary_owner(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return 0;
  name.remove_prefix(prefix.size());
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 10 || dot + 1 == name.size()) return 0;
  long pid = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (i == dot) continue;
    if (name[i] < '0' || name[i] > '9') return 0;
    if (i < dot) pid = pid * 10 + (name[i] - '0');
  }
  return pid > 0 && pid <= 0x7fffffffL ? pid : 0;
}

/// Removes the temporary files other writes to `target` left behind: only files named like this
/// target's temporaries ("." + stem + ".tmp.PID.N") whose process PID no longer exists (kill(PID, 0) says
/// ESRCH) and that nobody holds a lock on (every writer keeps an exclusive flock on its temporary until
/// it has renamed it, which also protects writers whose PID this process cannot see, e.g. in another
/// container). Best effort: a file that cannot be examined or removed is left alone.
template <class Target>
void remove_stale_temporaries(const Target& target) {
  const std::string prefix = target.temporary_prefix();
  DIR* dir = ::opendir(target.folder.c_str());
  if (dir == nullptr) return;
  const int dir_fd = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const long pid = temporary_owner(entry->d_name, prefix);
    if (pid == 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    unique_fd fd(::openat(dir_fd, entry->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (fd.get() < 0) continue;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a live writer holds it
    (void)::unlinkat(dir_fd, entry->d_name, 0);
  }
  ::closedir(dir);
}

/// The exclusive advisory lock of a target path, held while the object lives: an flock on the sibling
/// file `.STEM.lock` (target_path::lock_path), which is created when missing and removed again by the
/// holder before it lets go. The protocol, for any program that wants to take part:
///   open (create) `.STEM.lock` next to the target without following symlinks, flock(LOCK_EX); if the
///   descriptor no longer names the file at that path (the previous holder removed it meanwhile), close it
///   and start over; then read, change and atomically replace the target; unlink `.STEM.lock`; close.
/// Readers take no lock: the atomic rename already shows them an old or a new complete file.
/// flock locks belong to the open file, so two threads of one process exclude each other too (on NFS,
/// Linux emulates flock with POSIX locks, which exclude other processes only).
class target_lock {
 public:
  /// Waits up to `timeout` for the lock of `target` (polling every few milliseconds; flock has no timed
  /// wait). Throws io_error naming the target when the time runs out or the lock file cannot be made.
  template <class Target>
  target_lock(const Target& target, std::chrono::milliseconds timeout) : path_(target.lock_path()) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    long delay_us = 500;
    for (;;) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0666);
      if (fd_ < 0) raise<io_error>("{}: cannot open the lock file {}: {}", target.name(), path_, errno_text(errno));
      for (;;) {
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) break;
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) {
          const int code = errno;
          close_fd();
          raise<io_error>("{}: cannot lock {}: {}", target.name(), path_, errno_text(code));
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
          close_fd();
          raise<io_error>(
              "{}: another writer has held its lock {} for longer than the timeout ({} s); nothing was written",
              target.path, path_, static_cast<double>(timeout.count()) / 1000.0);
        }
        const long left_us =
            static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count());
        const long wait_us = delay_us < left_us ? delay_us : left_us;
        timespec pause{wait_us / 1000000, (wait_us % 1000000) * 1000};
        ::nanosleep(&pause, nullptr);
        delay_us = delay_us < 25000 ? delay_us * 2 : 50000;
      }
      if (names_path()) return;
      close_fd();  // the holder before us removed this lock file; lock the current one
    }
  }
  target_lock(const target_lock&) = delete;
  target_lock& operator=(const target_lock&) = delete;
  /// Removes the lock file (while still holding it) and releases the lock.
  ~target_lock() {
    if (names_path()) ::unlink(path_.c_str());
    close_fd();
  }

 private:
  /// Whether the locked descriptor is still the file at the lock path.
  bool names_path() const {
    struct stat held {
    }, named{};
    return ::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
           held.st_ino == named.st_ino;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string path_;
  int fd_ = -1;
};

/// Writes `size` bytes to `path` atomically: readers see the old file or the complete new one, never a
/// part. A symbolic link is followed: the file it points to is replaced (target_of). A target that exists
/// and is not a regular file (device, FIFO, socket, directory) is refused before anything is written. The
/// data goes to a temporary file `.STEM.tmp.PID.N` in the same folder (rename is only atomic within one file
/// system; STEM is the file name, shortened with a hash when needed so that the temporary name fits in 255
/// bytes), is fsynced, then renamed over the target. The writer holds an exclusive flock on its temporary
/// file until the rename. On any failure (a full device, a size beyond the process's file-size limit: EFBIG,
/// checked before writing so that SIGXFSZ is never raised) the temporary file is removed and io_error
/// names the path; the target is left as it was. After a successful write, temporaries of the same target
/// left by processes that no longer exist (a writer killed mid-write) are removed (remove_stale_temporaries).
template <class Byte>
void atomic_write(const std::string& path, const Byte* bytes, std::size_t size) {
  static_assert(sizeof(Byte) == 1, "atomic_write writes bytes");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes);
  const target_path target = target_of(path);
  const std::string& folder = target.folder;
  const std::string name = target.name();
  check_replaceable(target);
  // Writing past RLIMIT_FSIZE raises SIGXFSZ, which kills the process by default: refuse such a size first.
  if (struct rlimit limit{}; ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
                             static_cast<std::uint64_t>(size) > static_cast<std::uint64_t>(limit.rlim_cur))
    raise<io_error>("{}: write failed: {} ({} bytes, the file-size limit is {} bytes); nothing was written", name,
                    errno_text(EFBIG), size, static_cast<std::uint64_t>(limit.rlim_cur));

  // A unique hidden name per process and call; O_EXCL makes a clash an error we retry, never a shared file.
  static std::atomic<unsigned> counter{0};
  std::string temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temp = target.prefix + target.temporary_prefix() + std::to_string(::getpid()) + "." +
           std::to_string(counter.fetch_add(1));
    // 0666 lets the umask decide the final permissions, as for any newly created file.
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0666);
    if (raw_fd < 0 && errno != EEXIST) {
      raise<io_error>("{}: cannot create temporary file in {}: {}", name, folder, errno_text(errno));
    }
  }
  if (raw_fd < 0) raise<io_error>("{}: cannot find a free temporary file name in {}", name, folder);
  unique_fd fd(raw_fd);
  // The lock tells remove_stale_temporaries in other processes that this file is in use. It belongs to
  // the open file, so a duplicate descriptor keeps it while `fd` is closed (to see close's errors) before
  // the rename. (Where flock is unsupported the PID check alone protects the file.)
  (void)::flock(fd.get(), LOCK_EX | LOCK_NB);
  unique_fd hold(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));

  // Removes the temporary file and throws; used by every failure after creation.
  auto fail = [&](const char* what, int code) {
    fd.reset();
    ::unlink(temp.c_str());
    hold.reset();
    raise<io_error>("{}: {} failed: {}", name, what, errno_text(code));
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
  // The target may have been replaced by something else meanwhile: look again just before the rename.
  try {
    check_replaceable(target);
  } catch (const io_error&) {
    ::unlink(temp.c_str());
    throw;
  }
  if (::rename(temp.c_str(), target.path.c_str()) != 0) fail("rename", errno);
  hold.reset();

  // Persist the rename itself; failure here cannot undo the write, so it is not an error.
  unique_fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) (void)::fsync(dir.get());
  remove_stale_temporaries(target);
}

/// Convenience overload for a byte vector.
template <class Byte>
void atomic_write(const std::string& path, const std::vector<Byte>& bytes) {
  atomic_write(path, bytes.data(), bytes.size());
}

}  // namespace act::detail
