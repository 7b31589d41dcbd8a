// no reader allocates more than the file's size justifies before validating. This executable
// replaces the global operator new to record the peak of live heap bytes while one parse runs, then
// feeds the readers tiny files whose headers claim huge shapes, counts and lengths: each must fail before
// any large allocation. It also bounds peak memory as a multiple of the file size for hostile files that
// are valid byte for byte up to their last field. The generic GGUF parser's case is in
// tests/detail/test_gguf_parse_allocation.cpp, linked into this executable.
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>
#include <act/io/npy.hpp>
#include <act/io/safetensors.hpp>

#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "allocation_tracking.hpp"
#include "io_test_util.hpp"

using act_test::gguf_header;
using act_test::gguf_string;
using act_test::peak_during;
using act_test::put_f32;
using act_test::put_str;
using act_test::put_u16;
using act_test::put_u32;
using act_test::put_u64;
using act_test::small;

// AddressSanitizer brings its own operator new and flags memory crossing between the two, so under ASan
// the counters stay at zero: the parses still run (for their errors and timing), the byte checks pass
// trivially, and the plain test preset does the measuring.
#if defined(__SANITIZE_ADDRESS__)
#define ACT_TRACK_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ACT_TRACK_ALLOCATIONS 0
#endif
#endif
#ifndef ACT_TRACK_ALLOCATIONS
#define ACT_TRACK_ALLOCATIONS 1
#endif

namespace act_test {

// Counters of the replaced operator new (declared in allocation_tracking.hpp). Plain globals: the tests run
// on one thread.
std::size_t live_bytes = 0;
std::size_t peak_bytes = 0;

}  // namespace act_test

#if ACT_TRACK_ALLOCATIONS

// malloc_usable_size gives the size back in operator delete without a header, so alignment is malloc's.
void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  act_test::live_bytes += malloc_usable_size(p);
  if (act_test::live_bytes > act_test::peak_bytes) act_test::peak_bytes = act_test::live_bytes;
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  act_test::live_bytes -= malloc_usable_size(p);
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
#endif

namespace {

std::vector<unsigned char> npy_file(const std::string& dict, std::size_t data_bytes, unsigned major = 1) {
  std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  if (major == 1)
    put_u16(b, static_cast<std::uint16_t>(dict.size()));
  else
    put_u32(b, static_cast<std::uint32_t>(dict.size()));
  put_str(b, dict);
  b.resize(b.size() + data_bytes, 0);
  return b;
}

std::vector<unsigned char> safetensors_file(const std::string& header, std::size_t data_bytes) {
  std::vector<unsigned char> b;
  put_u64(b, header.size());
  put_str(b, header);
  b.resize(b.size() + data_bytes, 0);
  return b;
}

}  // namespace

TEST_CASE("npy: a header claiming a huge shape on a tiny file fails before allocating") {
  for (const char* shape : {"(1000000000, 1000000)", "(4294967295, 4294967295)", "(18446744073709551615,)"}) {
    const auto f = npy_file(std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + shape + ", }\n", 24);
    INFO(shape);
    CHECK(peak_during([&] { act::parse_npy(f.data(), f.size(), "x.npy"); }) < small);
  }
  // Version 2 header length of 4 GB on a 20-byte file.
  std::vector<unsigned char> f = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xFF, 0xFF, 0xFF, 0xFF, '{', '}'};
  CHECK(peak_during([&] { act::parse_npy(f.data(), f.size(), "x.npy"); }) < small);
}

TEST_CASE("safetensors: huge header lengths, shapes and offsets on a tiny file fail before allocating") {
  std::vector<unsigned char> f;
  put_u64(f, ~std::uint64_t{0} - 7);
  put_str(f, "{}      ");
  CHECK(peak_during([&] { act::parse_safetensors(f.data(), f.size(), "x"); }) < small);

  for (const char* entry : {R"({"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,8]}})",
                            R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})"}) {
    INFO(entry);
    const auto g = safetensors_file(entry, 8);
    CHECK(peak_during([&] { act::parse_safetensors(g.data(), g.size(), "x"); }) < small);
  }
}

TEST_CASE("gguf: huge counts and lengths on a tiny file fail before allocating") {
  std::vector<std::vector<unsigned char>> files;
  files.push_back(gguf_header(0, std::uint64_t{1} << 62));  // metadata count
  files.push_back(gguf_header(std::uint64_t{1} << 40, 0));  // tensor count
  {
    auto b = gguf_header(0, 1);  // key length 2^63
    put_u64(b, std::uint64_t{1} << 63);
    b.resize(b.size() + 16, 'k');
    files.push_back(b);
  }
  {
    auto b = gguf_header(0, 1);  // string value length 2^40
    gguf_string(b, "k");
    put_u32(b, 8);
    put_u64(b, std::uint64_t{1} << 40);
    files.push_back(b);
  }
  {
    auto b = gguf_header(0, 1);  // array of 2^60 u64
    gguf_string(b, "k");
    put_u32(b, 9);
    put_u32(b, 10);
    put_u64(b, std::uint64_t{1} << 60);
    files.push_back(b);
  }
  {
    auto b = gguf_header(1, 1);  // a direction of 2^30 floats with 4 bytes of data
    gguf_string(b, "general.architecture");
    put_u32(b, 8);
    gguf_string(b, "controlvector");
    gguf_string(b, "direction.1");
    put_u32(b, 1);
    put_u64(b, std::uint64_t{1} << 30);
    put_u32(b, 0);
    put_u64(b, 0);
    while (b.size() % 32 != 0) b.push_back(0);
    put_f32(b, 1.0f);
    files.push_back(b);
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    INFO("file " << i);
    CHECK(peak_during([&] { act::parse_control_vector(files[i].data(), files[i].size(), "x.gguf"); }) < small);
  }
}

TEST_CASE("peak memory stays a fixed multiple of the file size for valid-looking hostile files") {
  SUBCASE("npy: the values (8 bytes per element) are the only large allocation") {
    const auto f = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 250), }\n", 1000 * 250 * 4);
    CHECK(peak_during([&] { act::parse_npy(f.data(), f.size(), "x.npy"); }, false) <= 2 * f.size() + small);
  }
  SUBCASE("safetensors: the JSON header is the costliest input (documented bound, 128x the header)") {
    // Arrays of one-digit numbers are JSON's densest values: 2 bytes of file each.
    std::string header = R"({"a":{"dtype":"F32","shape":[)";
    for (int i = 0; i < 200'000; ++i) header += i == 0 ? "0" : ",0";
    header += R"(],"data_offsets":[0,0]}})";
    const auto f = safetensors_file(header, 0);
    const std::size_t peak = peak_during([&] { act::parse_safetensors(f.data(), f.size(), "x"); }, false);
    MESSAGE("safetensors: ", f.size(), " bytes, peak ", peak, " bytes (", double(peak) / double(f.size()), "x)");
    CHECK(peak <= 128 * f.size());
  }
  SUBCASE("safetensors: 100000 distinct keys parse in O(n log n)") {
    std::string header = R"({"__metadata__":{)";
    for (int i = 0; i < 100'000; ++i) header += (i == 0 ? "\"" : ",\"") + std::to_string(i) + "\":\"\"";
    header += "}}";
    const auto f = safetensors_file(header, 0);
    const auto start = std::chrono::steady_clock::now();
    peak_during([&] { act::parse_safetensors(f.data(), f.size(), "x"); }, false);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 120);  // a pairwise duplicate scan took about a minute here
  }
}

TEST_CASE("map loading copies each tensor a bounded number of times") {
  act::map_set maps;
  const Eigen::Index d = 100'000;
  act::affine_map<float> m = act::affine_map<float>::identity(d);
  maps.insert("blk.1", m, {});
  const auto bytes = act::serialize_safetensors(act::maps_to_safetensors(maps));
  const std::size_t peak = peak_during(
      [&] { act::maps_from_safetensors(act::parse_safetensors(bytes.data(), bytes.size(), "x"), "x"); }, false);
  // The file bytes, the parsed tensor copies, and the hook the map set builds: 12 packed floats per neuron (the
  // float kernels' interleaved groups and the bfloat16 kernel's even/odd copy), 6x this file's 2 floats.
  CHECK(peak <= 8 * bytes.size() + small);
}
