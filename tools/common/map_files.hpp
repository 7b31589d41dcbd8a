#pragma once
// Reading map files in act's tools, with the same message for a file that is not one.

#include <string>

#include <act/core/error.hpp>
#include <act/io/map_file.hpp>

namespace act_tools {

/// Runs `read(path)` on a map file; a file that is not one (an .npy array, a text file, a truncated download)
/// is named as such, with the reader's reason after it.
template <class Read>
auto read_map_file(const std::string& path, Read&& read) {
  try {
    return read(path);
  } catch (const act::format_error& e) {
    std::string reason = e.what();
    if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);
    act::raise<act::format_error>("{}: not a safetensors map file ({})", path, reason);
  }
}

/// Reads a map file (see read_map_file).
inline act::map_set load_map_file(const std::string& path) {
  return read_map_file(path, [](const std::string& p) { return act::load_maps(p); });
}

/// Validates a map file without keeping its maps (see read_map_file).
inline void check_map_file(const std::string& path) {
  read_map_file(path, [](const std::string& p) { act::check_map_file(p); });
}

}  // namespace act_tools
