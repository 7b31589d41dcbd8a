#pragma once
/// \file files.hpp
/// What a tool asks about paths: whether an output can be written, whether it is one of its inputs, and
/// reading a whole input file with the guards every act reader has.

#include <sys/stat.h>

#include <vector>

#include <act/detail/io/file.hpp>

namespace act {

/// Whether two paths name one existing file: the same device and inode after following symlinks, so
/// `./a` and `a`, a symlink and its target, and two hard links of one file all count. False when either
/// path does not exist or cannot be examined. Paths: std::string, string_view, C strings or
/// std::filesystem::path.
///
///     if (act::same_file(output, input)) refuse("the output would replace the input");
template <class PathA, class PathB>
bool same_file(const PathA& a, const PathB& b) {
  struct stat sa {
  }, sb{};
  return ::stat(detail::path_string(a).c_str(), &sa) == 0 && ::stat(detail::path_string(b).c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/// Throws io_error naming `path` when it exists and is not a regular file (a device, FIFO, socket or
/// directory), which act's writers refuse to replace; a symbolic link is judged by the file it points to,
/// which is what they write. Lets a tool refuse such an output before doing any work.
///
///     act::check_output(out);   // "/dev/null: is a character device, not a regular file; refusing to replace it"
template <class Path>
void check_output(const Path& path) {
  detail::check_replaceable(detail::target_of(path));
}

/// The bytes of the regular file at `path`, read as act's own readers read (a FIFO, device, socket or
/// directory is refused without blocking; never more than the size the file had when opened; a file that
/// shrinks meanwhile is an error). Throws io_error naming the path. For a tool's own small inputs
/// (prompt lists, settings), so they keep the same promises as map files.
template <class Path>
std::vector<unsigned char> read_whole_file(const Path& path) {
  return detail::read_file(path);
}

}  // namespace act
