#pragma once
/// \file files.hpp
/// What a tool asks about paths before it writes: whether an output can be written, whether it is one of
/// its inputs.

#include <sys/stat.h>

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

}  // namespace act
