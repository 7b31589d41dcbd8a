#pragma once
/// \file io_test_util.hpp
/// Helpers shared by the file-format tests: scratch folders, byte builders, error checks.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <act/core/error.hpp>

namespace act_test {

/// A fresh folder under the system temp folder, removed with its content at scope exit.
class scratch_dir {
 public:
  scratch_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "act-io-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Names of every entry in the folder (to prove no temporary file was left behind).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    return names;
  }

 private:
  std::filesystem::path path_;
};

/// Little-endian byte appenders for building files by hand.
inline void put_u8(std::vector<unsigned char>& b, unsigned v) { b.push_back(static_cast<unsigned char>(v)); }
inline void put_u16(std::vector<unsigned char>& b, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
inline void put_u32(std::vector<unsigned char>& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
inline void put_u64(std::vector<unsigned char>& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
inline void put_f32(std::vector<unsigned char>& b, float f) {
  std::uint32_t v;
  std::memcpy(&v, &f, 4);
  put_u32(b, v);
}
inline void put_f64(std::vector<unsigned char>& b, double f) {
  std::uint64_t v;
  std::memcpy(&v, &f, 8);
  put_u64(b, v);
}
inline void put_str(std::vector<unsigned char>& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

/// Writes bytes to a file non-atomically (test inputs only).
inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

/// Every byte of a file (to check a writer's layout on disk).
inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A .npy file (version 1.0, C order, '<f4') of this shape, e.g. "(8, 0, 16)", followed by `data_bytes` zero bytes.
inline std::vector<unsigned char> npy_f32_with_shape(const std::string& shape, std::size_t data_bytes = 0) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<unsigned char> b{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  b.push_back(static_cast<unsigned char>(header.size() & 0xFF));
  b.push_back(static_cast<unsigned char>(header.size() >> 8));
  b.insert(b.end(), header.begin(), header.end());
  b.resize(b.size() + data_bytes, 0);
  return b;
}

}  // namespace act_test

/// Checks that `expr` throws exactly the exception family `type` with `phrase` in its message.
#define ACT_CHECK_ERROR(expr, type, phrase) \
  CHECK_THROWS_WITH_AS(expr, doctest::Contains(std::string(phrase).c_str()), type)
