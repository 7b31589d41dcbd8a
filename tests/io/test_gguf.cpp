#include <act/io/control_vector_maps.hpp>
#include <act/io/gguf.hpp>
#include <act/io/map_file.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "gguf_test_util.hpp"
#include "io_test_util.hpp"

using act_test::put_f32;
using act_test::put_u32;
using act_test::put_u64;
using act_test::sample_vector;
using act_test::scratch_dir;

namespace {

/// Builds GGUF files by hand, field by field, so each malformed case changes exactly one thing.
struct gguf_builder {
  std::vector<unsigned char> b;

  gguf_builder& header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
    act_test::put_str(b, "GGUF");
    put_u32(b, version);
    put_u64(b, tensors);
    put_u64(b, kvs);
    return *this;
  }
  gguf_builder& str(const std::string& s) {
    put_u64(b, s.size());
    act_test::put_str(b, s);
    return *this;
  }
  gguf_builder& kv_str(const std::string& key, const std::string& value) {
    str(key);
    put_u32(b, 8);
    return str(value);
  }
  gguf_builder& kv_u32(const std::string& key, std::uint32_t value, std::uint32_t type = 4) {
    str(key);
    put_u32(b, type);
    put_u32(b, value);
    return *this;
  }
  /// The usual control-vector metadata (3 pairs).
  gguf_builder& cv_meta() {
    kv_str("general.architecture", "controlvector");
    kv_str("controlvector.model_hint", "llama");
    return kv_u32("controlvector.layer_count", 1, 5);
  }
  gguf_builder& tensor(const std::string& name, std::vector<std::uint64_t> dims, std::uint64_t offset,
                       std::uint32_t type = 0) {
    str(name);
    put_u32(b, static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) put_u64(b, d);
    put_u32(b, type);
    put_u64(b, offset);
    return *this;
  }
  gguf_builder& pad(std::size_t alignment = 32) {
    while (b.size() % alignment != 0) b.push_back(0);
    return *this;
  }
  gguf_builder& floats(std::size_t n, float start = 1.0f) {
    for (std::size_t i = 0; i < n; ++i) put_f32(b, start + static_cast<float>(i));
    return *this;
  }
};

act::control_vector parse(const std::vector<unsigned char>& b) {
  return act::parse_control_vector(b.data(), b.size(), "bad.gguf");
}

/// A valid file with one 4-element direction for each name in `names` (offsets 0, 32, ...).
std::vector<unsigned char> with_tensors(const std::vector<std::string>& names, std::size_t length = 4) {
  gguf_builder g;
  g.header(names.size(), 3).cv_meta();
  for (std::size_t i = 0; i < names.size(); ++i) g.tensor(names[i], {length}, 32 * i * ((length * 4 + 31) / 32));
  g.pad();
  for (std::size_t i = 0; i < names.size(); ++i) g.floats(length).pad();
  return g.b;
}

}  // namespace

TEST_CASE("gguf control vector round trip") {
  scratch_dir dir;
  const act::control_vector cv = sample_vector();
  const std::string path = dir.file("cv.gguf");
  act::write_control_vector(path, cv);
  const act::control_vector back = act::read_control_vector(path);
  CHECK(back.model_hint == "llama");
  CHECK(back.directions == cv.directions);
  CHECK(dir.entries().size() == 1);
  // The generic structure of the file (what llama.cpp expects) is checked in tests/detail/test_gguf_layout.cpp.
}

TEST_CASE("gguf model hints that break the name rule are read escaped, so what is read can be written back") {
  const std::vector<unsigned char> good = act::serialize_control_vector(sample_vector());  // model_hint "llama"
  const std::string hint = "llama";
  for (const auto& [bad, escaped] : {std::pair<std::string, std::string>{"lla\xff"
                                                                         "a",
                                                                         "lla\\xffa"},
                                     std::pair<std::string, std::string>{"ll\x1b"
                                                                         "ma",
                                                                         "ll\\x1bma"}}) {
    const std::string shown = escaped;  // a copy: CAPTURE's lambda cannot capture a structured binding in C++17
    CAPTURE(shown);
    std::vector<unsigned char> bytes = good;
    const auto at = std::search(bytes.begin(), bytes.end(), hint.begin(), hint.end());
    REQUIRE(at != bytes.end());
    std::copy(bad.begin(), bad.end(), at);
    const act::control_vector cv = act::parse_control_vector(bytes.data(), bytes.size(), "hint.gguf");
    CHECK(cv.model_hint == shown);
    const std::vector<unsigned char> again = act::serialize_control_vector(cv);  // the fuzzer's round trip
    CHECK(act::parse_control_vector(again.data(), again.size(), "again.gguf").model_hint == shown);
  }
}

TEST_CASE("gguf reader accepts other writers' choices") {
  // Version 2, custom alignment, uint32 layer_count, extra metadata of every kind, arrays included.
  gguf_builder g;
  g.header(1, 7, 2);
  g.kv_str("general.architecture", "controlvector");
  g.kv_u32("general.alignment", 64);
  g.kv_u32("controlvector.layer_count", 1);
  g.str("general.tags");
  put_u32(g.b, 9);  // array
  put_u32(g.b, 8);  // of strings
  put_u64(g.b, 2);
  g.str("a").str("bc");
  g.str("some.ints");
  put_u32(g.b, 9);
  put_u32(g.b, 5);
  put_u64(g.b, 3);
  for (int i = 0; i < 3; ++i) put_u32(g.b, static_cast<std::uint32_t>(i));
  g.str("some.flag");
  put_u32(g.b, 7);
  g.b.push_back(1);
  g.str("some.double");
  put_u32(g.b, 12);
  act_test::put_f64(g.b, 2.5);
  g.tensor("direction.7", {3}, 0).pad(64).floats(3).pad(64);
  const auto cv = parse(g.b);
  CHECK(cv.model_hint.empty());
  REQUIRE(cv.directions.count(7) == 1);
  CHECK(cv.directions.at(7) == std::vector<float>{1, 2, 3});
}

TEST_CASE("gguf writer refuses vectors llama.cpp cannot load") {
  act::control_vector cv;
  ACT_CHECK_ERROR(act::serialize_control_vector(cv), act::invalid_argument, "no directions");
  cv.directions[0] = {1.0f};
  ACT_CHECK_ERROR(act::serialize_control_vector(cv), act::invalid_argument, "layers start at 1");
  cv.directions.clear();
  cv.directions[1] = {1.0f, 2.0f};
  cv.directions[2] = {1.0f};
  ACT_CHECK_ERROR(act::serialize_control_vector(cv), act::shape_error, "layer 2 has length 1, expected 2");
  cv.directions.clear();
  cv.directions[1] = {};
  ACT_CHECK_ERROR(act::serialize_control_vector(cv), act::invalid_argument, "empty");
}

TEST_CASE("gguf write into a missing folder fails and leaves nothing") {
  scratch_dir dir;
  ACT_CHECK_ERROR(act::write_control_vector(dir.file("missing/cv.gguf"), sample_vector()), act::io_error,
                  "missing/cv.gguf");
  CHECK(dir.entries().empty());
}

// ---- Catalogue of malformed files: each one a documented format_error, never a crash. ----

TEST_CASE("gguf malformed: empty file") { ACT_CHECK_ERROR(parse({}), act::format_error, "bad magic"); }

TEST_CASE("gguf malformed: wrong magic") {
  auto b = with_tensors({"direction.1"});
  b[0] = 'X';
  ACT_CHECK_ERROR(parse(b), act::format_error, "bad.gguf: bad magic");
}

TEST_CASE("gguf malformed: wrong version") {
  ACT_CHECK_ERROR(parse(gguf_builder().header(0, 0, 1).b), act::format_error, "unsupported GGUF version 1");
  ACT_CHECK_ERROR(parse(gguf_builder().header(0, 0, 4).b), act::format_error, "unsupported GGUF version 4");
  // A big-endian file's version reads as a huge number here.
  ACT_CHECK_ERROR(parse(gguf_builder().header(0, 0, 0x03000000).b), act::format_error, "unsupported GGUF version");
}

TEST_CASE("gguf malformed: truncated header") {
  auto b = gguf_builder().header(1, 3).b;
  b.resize(10);
  ACT_CHECK_ERROR(parse(b), act::format_error, "tensor count at offset 8 runs past the end");
}

TEST_CASE("gguf malformed: metadata count larger than the file") {
  ACT_CHECK_ERROR(parse(gguf_builder().header(0, 1'000'000'000'000).cv_meta().b), act::format_error,
                  "metadata count 1000000000000 is larger than the file could hold");
}

TEST_CASE("gguf malformed: tensor count larger than the file") {
  ACT_CHECK_ERROR(parse(gguf_builder().header(~0ull, 3).cv_meta().b), act::format_error,
                  "tensor count 18446744073709551615 is larger than the file could hold");
}

TEST_CASE("gguf malformed: key length past the end") {
  gguf_builder g;
  g.header(0, 1);
  put_u64(g.b, 1ull << 62);
  put_u32(g.b, 8);
  put_u64(g.b, 0);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "metadata key has length 4611686018427387904");
}

TEST_CASE("gguf malformed: string value length past the end") {
  gguf_builder g;
  g.header(0, 1).str("general.architecture");
  put_u32(g.b, 8);
  put_u64(g.b, 1000);
  act_test::put_str(g.b, "controlvector");
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "value of 'general.architecture' has length 1000");
}

TEST_CASE("gguf malformed: tensor name length past the end") {
  gguf_builder g;
  g.header(1, 3).cv_meta();
  put_u64(g.b, 500);
  act_test::put_str(g.b, std::string(40, 'x'));
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "tensor name has length 500");
}

TEST_CASE("gguf malformed: unknown value type") {
  gguf_builder g;
  g.header(0, 1).str("x.y");
  put_u32(g.b, 13);
  put_u64(g.b, 0);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "unknown value type 13 for key 'x.y'");
}

TEST_CASE("gguf malformed: nested arrays") {
  gguf_builder g;
  g.header(0, 1).str("x.nested");
  put_u32(g.b, 9);
  put_u32(g.b, 9);
  put_u64(g.b, 1);
  put_u32(g.b, 4);
  put_u64(g.b, 0);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "key 'x.nested' holds nested arrays");
}

TEST_CASE("gguf malformed: unknown array element type") {
  gguf_builder g;
  g.header(0, 1).str("x.arr");
  put_u32(g.b, 9);
  put_u32(g.b, 99);
  put_u64(g.b, 0);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "unknown array element type 99");
}

TEST_CASE("gguf malformed: array length larger than the file") {
  gguf_builder g;
  g.header(0, 1).str("x.arr");
  put_u32(g.b, 9);
  put_u32(g.b, 8);  // strings: 8 bytes each at least
  put_u64(g.b, 1ull << 60);
  put_u64(g.b, 0);
  ACT_CHECK_ERROR(parse(g.b), act::format_error,
                  "array length 1152921504606846976 for key 'x.arr' is larger than the file");
}

TEST_CASE("gguf malformed: string inside an array past the end") {
  gguf_builder g;
  g.header(0, 1).str("x.arr");
  put_u32(g.b, 9);
  put_u32(g.b, 8);
  put_u64(g.b, 1);
  put_u64(g.b, 99);
  act_test::put_str(g.b, "short");
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "string in array 'x.arr' has length 99");
}

TEST_CASE("gguf malformed: bool that is neither 0 nor 1") {
  gguf_builder g;
  g.header(0, 1).str("x.flag");
  put_u32(g.b, 7);
  g.b.push_back(2);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "bool value of 'x.flag' is 2");
}

TEST_CASE("gguf malformed: duplicate metadata keys") {
  gguf_builder g;
  g.header(0, 2).kv_str("general.architecture", "controlvector").kv_str("general.architecture", "controlvector");
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "duplicate metadata key 'general.architecture'");
}

TEST_CASE("gguf malformed: alignment not a power of two") {
  gguf_builder g;
  g.header(0, 1).kv_u32("general.alignment", 48);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "general.alignment 48 is not a power of two");
}

TEST_CASE("gguf malformed: n_dims > 4") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {1, 1, 1, 1, 4}, 0).pad().floats(4);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "tensor 'direction.1' has n_dims 5");
}

TEST_CASE("gguf malformed: n_dims 0") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {}, 0).pad().floats(8);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "has n_dims 0");
}

TEST_CASE("gguf malformed: dimensions whose product overflows") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {1ull << 40, 1ull << 40}, 0).pad().floats(8);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "product overflows");
}

TEST_CASE("gguf malformed: non-F32 tensor") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {4}, 0, 1).pad().floats(4);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "tensor 'direction.1' has ggml type 1; only F32");
}

TEST_CASE("gguf malformed: tensor direction.0") {
  ACT_CHECK_ERROR(parse(with_tensors({"direction.0"})), act::format_error, "'direction.0': layer 0 is not allowed");
}

TEST_CASE("gguf malformed: tensor direction.-1") {
  ACT_CHECK_ERROR(parse(with_tensors({"direction.-1"})), act::format_error,
                  "tensor name 'direction.-1' is not of the form direction.N");
}

TEST_CASE("gguf malformed: tensor direction.x") {
  ACT_CHECK_ERROR(parse(with_tensors({"direction.x"})), act::format_error,
                  "tensor name 'direction.x' is not of the form direction.N");
  ACT_CHECK_ERROR(parse(with_tensors({"blk.1.attn"})), act::format_error, "not of the form direction.N");
  ACT_CHECK_ERROR(parse(with_tensors({"direction.99999999999"})), act::format_error, "layer number too large");
}

TEST_CASE("gguf malformed: duplicate tensor names") {
  ACT_CHECK_ERROR(parse(with_tensors({"direction.1", "direction.1"})), act::format_error,
                  "duplicate tensor name 'direction.1'");
}

TEST_CASE("gguf repeated layers are added up in file order, as llama.cpp's loader does") {
  const auto cv = parse(with_tensors({"direction.1", "direction.01", "direction.2", "direction.1.again"}));
  REQUIRE(cv.directions.size() == 2);
  CHECK(cv.directions.at(1) == std::vector<float>{3, 6, 9, 12});
  CHECK(cv.directions.at(2) == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("gguf direction names are read as llama.cpp reads them") {
  // The part before the first '.' is "direction"; the number is read like std::stoi.
  CHECK(parse(with_tensors({"direction.2.attn"})).directions.count(2) == 1);
  CHECK(parse(with_tensors({"direction.+3"})).directions.count(3) == 1);
  CHECK(parse(with_tensors({"direction. 4"})).directions.count(4) == 1);
  CHECK(parse(with_tensors({"direction.007"})).directions.count(7) == 1);
  ACT_CHECK_ERROR(parse(with_tensors({"direction.-0"})), act::format_error, "layer 0 is not allowed");
  ACT_CHECK_ERROR(parse(with_tensors({" direction.1"})), act::format_error, "is not of the form direction.N");
  ACT_CHECK_ERROR(parse(with_tensors({"direction"})), act::format_error, "is not of the form direction.N");
  ACT_CHECK_ERROR(parse(with_tensors({"direction."})), act::format_error, "is not of the form direction.N");
  // Its GGUF reader's name limit: 63 bytes.
  CHECK(parse(with_tensors({"direction.1" + std::string(52, 'x')})).directions.count(1) == 1);
  ACT_CHECK_ERROR(parse(with_tensors({"direction.1" + std::string(53, 'x')})), act::format_error, "allows 63 at most");
}

TEST_CASE("gguf directions may carry trailing dimensions of 1, as ggml counts dimensions") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {4, 1, 1}, 0).pad().floats(4).pad();
  CHECK(parse(g.b).directions.at(1) == std::vector<float>{1, 2, 3, 4});
  gguf_builder h;
  h.header(1, 3).cv_meta().tensor("direction.1", {1, 4}, 0).pad().floats(4).pad();
  ACT_CHECK_ERROR(parse(h.b), act::format_error, "has 2 dimensions, expected 1");
}

TEST_CASE("gguf tensors must be packed in file order, as llama.cpp's reader wants") {
  gguf_builder gap;
  gap.header(2, 3)
      .cv_meta()
      .tensor("direction.1", {4}, 0)
      .tensor("direction.2", {4}, 64)
      .pad()
      .floats(4)
      .pad()
      .floats(8)
      .floats(4)
      .pad();
  ACT_CHECK_ERROR(parse(gap.b), act::format_error, "tensor 'direction.2' has data offset 64 but llama.cpp requires 32");
  gguf_builder reversed;
  reversed.header(2, 3)
      .cv_meta()
      .tensor("direction.1", {4}, 32)
      .tensor("direction.2", {4}, 0)
      .pad()
      .floats(4)
      .pad()
      .floats(4)
      .pad();
  ACT_CHECK_ERROR(parse(reversed.b), act::format_error, "has data offset 32 but llama.cpp requires 0");
  gguf_builder empty_key;
  empty_key.header(1, 4).cv_meta().kv_str("", "x").tensor("direction.1", {4}, 0).pad().floats(4).pad();
  ACT_CHECK_ERROR(parse(empty_key.b), act::format_error, "a metadata key is empty");
}

TEST_CASE("gguf malformed: misaligned data offset") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {4}, 4).pad().floats(8);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "misaligned data offset 4");
}

TEST_CASE("gguf malformed: tensor data past the end") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {100}, 0).pad().floats(4);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "tensor 'direction.1' data (400 bytes at offset 0) runs past the end");
  gguf_builder h;
  h.header(1, 3).cv_meta().tensor("direction.1", {4}, 1ull << 63).pad().floats(4);
  ACT_CHECK_ERROR(parse(h.b), act::format_error, "runs past the end");
}

TEST_CASE("gguf malformed: data section missing") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {4}, 0);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "past the end of the file");
}

TEST_CASE("gguf malformed: overlapping tensors") {
  gguf_builder g;
  g.header(2, 3).cv_meta().tensor("direction.1", {16}, 0).tensor("direction.2", {16}, 32).pad().floats(24);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "overlap");
}

TEST_CASE("gguf malformed: directions of different lengths") {
  gguf_builder g;
  g.header(2, 3).cv_meta().tensor("direction.1", {4}, 0).tensor("direction.2", {5}, 32).pad().floats(8).floats(5);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "all directions must be the same length");
}

TEST_CASE("gguf malformed: 2-D direction") {
  gguf_builder g;
  g.header(1, 3).cv_meta().tensor("direction.1", {2, 2}, 0).pad().floats(4);
  ACT_CHECK_ERROR(parse(g.b), act::format_error, "has 2 dimensions, expected 1");
}

TEST_CASE("gguf malformed: no direction tensors") {
  ACT_CHECK_ERROR(parse(gguf_builder().header(0, 3).cv_meta().b), act::format_error, "no direction tensors");
}

TEST_CASE("gguf control vectors need no metadata: llama.cpp's loader reads none") {
  gguf_builder g;
  g.header(1, 1).kv_str("controlvector.model_hint", "llama").tensor("direction.1", {4}, 0).pad().floats(4).pad();
  CHECK(parse(g.b).model_hint == "llama");  // no general.architecture
  gguf_builder h;
  h.header(1, 1).kv_str("general.architecture", "llama").tensor("direction.1", {4}, 0).pad().floats(4).pad();
  CHECK(parse(h.b).directions.at(1) == std::vector<float>{1, 2, 3, 4});
  // layer_count and model_hint of other types are ignored (the hint is kept only when it is a string).
  gguf_builder k;
  k.header(1, 3).kv_str("general.architecture", "controlvector").kv_str("controlvector.layer_count", "3");
  k.kv_u32("controlvector.model_hint", 3).tensor("direction.1", {4}, 0).pad().floats(4).pad();
  const auto cv = parse(k.b);
  CHECK(cv.model_hint.empty());
  CHECK(cv.directions.count(1) == 1);
}

TEST_CASE("gguf malformed: every truncation of a valid file is an error, never a crash") {
  const auto full = act::serialize_control_vector(sample_vector());
  // Including a cut inside the padding after the last direction: llama.cpp's reader refuses that too.
  for (std::size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    const std::vector<unsigned char> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(parse(cut), act::format_error);
  }
}

// ---- Third-party reader: @huggingface/gguf must parse what we write. ----
// Not discovered with the other cases (skip decorator); tests/CMakeLists.txt runs it as its own ctest
// test with --no-skip and marks it skipped when the output says SKIPPED.

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

TEST_CASE("gguf output parses with @huggingface/gguf" * doctest::skip()) {
#if defined(ACT_NODE) && defined(ACT_GGUF_CHECK) && defined(ACT_NPM_PREFIX)
  std::string node = ACT_NODE;
  std::string prefix = ACT_NPM_PREFIX;
  if (const char* env = std::getenv("ACT_NPM_PREFIX")) prefix = env;
  if (node.empty() || node.find("NOTFOUND") != std::string::npos || ::access(node.c_str(), X_OK) != 0) {
    MESSAGE("SKIPPED: node (Node.js) not found; the third-party GGUF check did not run");
    return;
  }
  scratch_dir dir;
  const act::control_vector cv = sample_vector();
  const std::string path = dir.file("cv.gguf");
  act::write_control_vector(path, cv);
  std::string layers, firsts;
  for (const auto& [layer, direction] : cv.directions) {
    layers += (layers.empty() ? "" : ",") + std::to_string(layer);
    firsts += (firsts.empty() ? "" : ",") + fmt::format("{}", direction[0]);
  }
  const std::string command = shell_quote(node) + " " + shell_quote(ACT_GGUF_CHECK) + " " + shell_quote(prefix) + " " +
                              shell_quote(path) + " " + shell_quote(cv.model_hint) + " 7 " + layers + " " +
                              shell_quote(firsts) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) output += buffer.data();
  const int status = ::pclose(pipe);
  REQUIRE(WIFEXITED(status));
  const int code = WEXITSTATUS(status);
  if (code == 77) {
    MESSAGE("SKIPPED: @huggingface/gguf not installed (npm install --prefix " << prefix
                                                                              << " @huggingface/gguf): " << output);
    return;
  }
  INFO(output);
  CHECK(code == 0);
  MESSAGE(output);
#else
  MESSAGE("SKIPPED: built without the node / npm paths");
#endif
}

TEST_CASE("gguf file without the padding after the last tensor is refused, as llama.cpp's reader refuses it") {
  auto full = act::serialize_control_vector(sample_vector());
  full.resize(full.size() - 4);
  ACT_CHECK_ERROR(parse(full), act::format_error, "the data section ends before the padding after the last tensor");
}

// ---- Map sets <-> control vectors (io/control_vector_maps.hpp) and model shapes. ----

namespace {
act::affine_map<float> shift(std::initializer_list<float> beta) {
  auto m = act::affine_map<float>::identity(static_cast<Eigen::Index>(beta.size()));
  Eigen::Index j = 0;
  for (const float b : beta) m.beta[j++] = b;
  return m;
}
const act::map_info additive{"caa", 10, 10, "mean", "all"};
}  // namespace

TEST_CASE("control vector sites: l_out-N and blk.N are the output of block N, nothing else is") {
  CHECK(act::block_output_index("l_out-12") == 12);
  CHECK(act::block_output_index("blk.3") == 3);
  CHECK(act::block_output_index("blk.0") == 0);
  for (const char* other :
       {"blk.2.post_attn_norm", "attn_norm-3", "l_out-", "l_out-1x", "blk.", "xl_out-1", "l_out-1234567890"})
    CHECK_MESSAGE(!act::block_output_index(other), other);
  CHECK(act::block_output_site(5) == "l_out-5");
}

TEST_CASE("to_control_vector: block outputs become direction.N; other sites need an explicit layer") {
  act::map_set maps;
  maps.insert("l_out-2", shift({1, 2}), additive);
  maps.insert("blk.3", shift({-4, 0.5f}), additive);
  act::control_vector_options o;
  o.strength = 0.5;
  const auto cv = act::to_control_vector(maps, o, "m.safetensors");
  CHECK(cv.model_hint == "unknown");
  CHECK(cv.directions.at(2) == std::vector<float>{0.5f, 1.0f});
  CHECK(cv.directions.at(3) == std::vector<float>{-2.0f, 0.25f});
  CHECK(act::to_control_vector(maps, 0.5, "llama").directions == cv.directions);  // the short form

  act::map_set elsewhere;
  elsewhere.insert("blk.2.post_attn_norm", shift({1, 2}), additive);
  ACT_CHECK_ERROR(act::to_control_vector(elsewhere, act::control_vector_options{}, "m.safetensors"),
                  act::invalid_argument, "m.safetensors: site 'blk.2.post_attn_norm' is not a block output");
  act::control_vector_options at5;
  at5.layer = 5;
  CHECK(act::to_control_vector(elsewhere, at5).directions.count(5) == 1);
  ACT_CHECK_ERROR(act::to_control_vector(maps, at5), act::invalid_argument,
                  "needs a map set with one site; this one has 2");
  at5.layer = 0;
  ACT_CHECK_ERROR(act::to_control_vector(elsewhere, at5), act::invalid_argument, "layer 0 is invalid");

  act::map_set first;
  first.insert("l_out-0", shift({1, 2}), additive);
  ACT_CHECK_ERROR(act::to_control_vector(first, act::control_vector_options{}), act::invalid_argument,
                  "site 'l_out-0' is the output of block 0, which control vectors cannot reach");
  act::map_set twice;
  twice.insert("blk.3", shift({1, 2}), additive);
  twice.insert("l_out-3", shift({1, 2}), additive);
  ACT_CHECK_ERROR(act::to_control_vector(twice, act::control_vector_options{}), act::invalid_argument,
                  "sites 'blk.3' and 'l_out-3' both name the output of block 3");
  act::map_set scaled;
  auto m = shift({1, 2});
  m.omega[0] = 2;
  scaled.insert("l_out-1", m, additive);
  ACT_CHECK_ERROR(act::to_control_vector(scaled, act::control_vector_options{}), act::invalid_argument,
                  "is not additive");
}

TEST_CASE("to_control_vector: --normalize gives unit directions; the hint comes from the options, the set, the model") {
  act::map_set maps;
  maps.insert("l_out-1", shift({3, 4}), additive);
  act::control_vector_options o;
  o.normalize = true;
  o.strength = 2;
  CHECK(act::to_control_vector(maps, o).directions.at(1) == std::vector<float>{1.2f, 1.6f});
  act::map_set zero;
  zero.insert("l_out-1", shift({0, 0}), additive);
  ACT_CHECK_ERROR(act::to_control_vector(zero, o), act::invalid_argument, "zero direction, which cannot be normalised");

  act::control_vector_options hint;
  hint.model = act::gguf_model_info{"qwen2", 2, 4};
  CHECK(act::to_control_vector(maps, hint).model_hint == "qwen2");
  maps.metadata()["controlvector.model_hint"] = "llama";
  CHECK(act::to_control_vector(maps, act::control_vector_options{}).model_hint == "llama");
  // Against a model, the hint must name its architecture; an explicit hint replaces the recorded one.
  ACT_CHECK_ERROR(act::to_control_vector(maps, hint), act::invalid_argument,
                  "the model hint 'llama' (recorded in the maps) is not the model's architecture 'qwen2'");
  hint.model_hint = "gemma2";
  ACT_CHECK_ERROR(act::to_control_vector(maps, hint), act::invalid_argument,
                  "the model hint 'gemma2' (given) is not the model's architecture 'qwen2'");
  hint.model_hint = "qwen2";
  CHECK(act::to_control_vector(maps, hint).model_hint == "qwen2");
  hint.model_hint.clear();
  hint.model = act::gguf_model_info{"llama", 3, 4};
  ACT_CHECK_ERROR(act::to_control_vector(maps, hint), act::invalid_argument, "has width 2 but the model's n_embd is 3");
  hint.model = act::gguf_model_info{"llama", 2, 1};
  ACT_CHECK_ERROR(act::to_control_vector(maps, hint), act::invalid_argument, "llama.cpp applies layers 1 to 0");
}

TEST_CASE("maps_from_control_vector: sites l_out-N, the model hint in the map file, back to the same vector") {
  scratch_dir dir;
  const act::control_vector cv = sample_vector();
  const act::map_set maps = act::maps_from_control_vector(cv);
  CHECK(maps.sites() == std::vector<std::string>{"l_out-1", "l_out-12", "l_out-2"});
  CHECK(maps.metadata().at("controlvector.model_hint") == "llama");
  CHECK(maps.at("l_out-2").info.method == "controlvector");
  act::save_maps(dir.file("m.safetensors"), maps);
  const act::control_vector back =
      act::to_control_vector(act::load_maps(dir.file("m.safetensors")), act::control_vector_options{});
  CHECK(back.model_hint == "llama");
  CHECK(back.directions == cv.directions);
  CHECK(act::serialize_control_vector(back) == act::serialize_control_vector(cv));
}

TEST_CASE("read_gguf_model_info: the shape from a model's metadata; its tensors must be in the file but are not read") {
  scratch_dir dir;
  const auto write = [&](const std::vector<unsigned char>& bytes, std::uint64_t size = 0) {
    const std::string path = dir.file("model.gguf");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    if (size > bytes.size())
      REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);  // sparse: nothing written
    return path;
  };
  gguf_builder g;
  g.header(2, 3).kv_str("general.architecture", "llama").kv_u32("llama.embedding_length", 4096);
  g.str("llama.block_count");
  put_u32(g.b, 10);  // u64
  put_u64(g.b, 32);
  const std::uint64_t embd_bytes = 4096ull * 128256 * 2;  // 1 GB of F16
  g.tensor("token_embd.weight", {4096, 128256}, 0, 1);
  g.tensor("blk.0.attn_q.weight", {4096, 4096}, embd_bytes, 12);  // Q4_K: 144 bytes per 256 elements
  g.pad();
  const std::uint64_t whole = g.b.size() + embd_bytes + 4096ull * 4096 / 256 * 144;
  const auto info = act::read_gguf_model_info(write(g.b, whole));
  CHECK(info.architecture == "llama");
  CHECK(info.n_embd == 4096);
  CHECK(info.n_layer == 32);
  // A download cut short in the tensor data, and header-only files, are refused.
  ACT_CHECK_ERROR(
      act::read_gguf_model_info(write(g.b, whole - 1)), act::format_error,
      "tensor 'blk.0.attn_q.weight' data (9437184 bytes at offset 1050673152) runs past the end of the file");
  ACT_CHECK_ERROR(act::read_gguf_model_info(write(g.b)), act::format_error, "tensor 'token_embd.weight' data");

  gguf_builder odd;
  odd.header(1, 1).kv_str("general.architecture", "llama");
  odd.tensor("w", {100, 2}, 0, 8);  // Q8_0 rows hold whole blocks of 32
  ACT_CHECK_ERROR(act::read_gguf_model_info(write(odd.b, 4096)), act::format_error,
                  "tensor 'w' has rows of 100 elements, not a multiple of its type's block of 32");
  gguf_builder removed;
  removed.header(1, 1).kv_str("general.architecture", "llama");
  removed.tensor("w", {32}, 0, 4);  // Q4_2, removed from ggml
  ACT_CHECK_ERROR(act::read_gguf_model_info(write(removed.b, 4096)), act::format_error,
                  "tensor 'w' has unknown ggml type 4");

  gguf_builder missing;
  missing.header(0, 2).kv_str("general.architecture", "llama").kv_u32("llama.embedding_length", 64);
  ACT_CHECK_ERROR(act::read_gguf_model_info(write(missing.b)), act::format_error,
                  "missing metadata 'llama.block_count'");
  gguf_builder no_arch;
  no_arch.header(0, 1).kv_u32("llama.block_count", 4);
  ACT_CHECK_ERROR(act::read_gguf_model_info(write(no_arch.b)), act::format_error, "no general.architecture string");
  ACT_CHECK_ERROR(act::read_gguf_model_info(write({'n', 'o', 'p', 'e', '!'})), act::format_error,
                  "bad magic, not a GGUF file");
  ACT_CHECK_ERROR(act::read_gguf_model_info(write({'G', 'G', 'U', 'F', 3, 0})), act::format_error,
                  "runs past the end of the file");
  ACT_CHECK_ERROR(act::read_gguf_model_info(dir.file("absent.gguf")), act::io_error, "cannot open");
}
