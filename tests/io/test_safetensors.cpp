#include <act/io/safetensors.hpp>

#include <csignal>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

using act_test::put_f32;
using act_test::put_u64;
using act_test::scratch_dir;

namespace {

/// Builds a safetensors file from a header text and a data section.
std::vector<unsigned char> make_file(const std::string& header, const std::vector<unsigned char>& data = {}) {
  std::vector<unsigned char> b;
  put_u64(b, header.size());
  act_test::put_str(b, header);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

act::safetensors_file parse(const std::vector<unsigned char>& b) {
  return act::parse_safetensors(b.data(), b.size(), "bad.safetensors");
}

std::vector<unsigned char> zeros(std::size_t n) { return std::vector<unsigned char>(n, 0); }

}  // namespace

TEST_CASE("safetensors round trip for every dtype, with metadata") {
  scratch_dir dir;
  const std::vector<float> values{0.0f, 1.0f, -2.5f, 0.125f, 1024.0f, -0.375f};  // exact in every dtype
  act::safetensors_file file;
  file.metadata["act.format_version"] = "1";
  file.metadata["quote\"back\\slash\nnewline"] = "ünïcode \u2713 \U0001F600";
  file.tensors.push_back(act::safetensors_tensor::from_floats("a.f32", {2, 3}, values.data(), act::dtype::f32));
  file.tensors.push_back(act::safetensors_tensor::from_floats("b.f64", {6}, values.data(), act::dtype::f64));
  file.tensors.push_back(act::safetensors_tensor::from_floats("c.f16", {3, 2}, values.data(), act::dtype::f16));
  file.tensors.push_back(act::safetensors_tensor::from_floats("d.bf16", {1, 6}, values.data(), act::dtype::bf16));
  const std::vector<double> dvalues{0.1, -1e300};
  file.tensors.push_back(act::safetensors_tensor::from_doubles("e.f64", {2}, dvalues.data()));

  const std::string path = dir.file("rt.safetensors");
  act::write_safetensors(path, file);
  const act::safetensors_file back = act::read_safetensors(path);

  CHECK(back.metadata == file.metadata);
  REQUIRE(back.tensors.size() == file.tensors.size());
  for (std::size_t i = 0; i < file.tensors.size(); ++i) {
    CAPTURE(i);
    CHECK(back.tensors[i].name == file.tensors[i].name);
    CHECK(back.tensors[i].type == file.tensors[i].type);
    CHECK(back.tensors[i].shape == file.tensors[i].shape);
    CHECK(back.tensors[i].bytes == file.tensors[i].bytes);
  }
  for (const char* name : {"a.f32", "b.f64", "c.f16", "d.bf16"}) {
    CAPTURE(name);
    const act::safetensors_tensor* t = back.find(name);
    REQUIRE(t != nullptr);
    CHECK(t->element_count() == 6);
    CHECK(t->to_floats() == values);
    const std::vector<double> d = t->to_doubles();
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(d[i] == static_cast<double>(values[i]));
  }
  CHECK(back.find("e.f64")->to_doubles() == dvalues);
  CHECK(back.find("missing") == nullptr);
  // The writer's header is padded to a multiple of 8 so the data stays aligned.
  const std::vector<unsigned char> raw = act_test::read_bytes(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | raw[static_cast<std::size_t>(i)];
  CHECK(n % 8 == 0);
  CHECK(dir.entries().size() == 1);  // no temporary file left behind
}

TEST_CASE("safetensors 16-bit conversions round to nearest and keep specials") {
  const std::vector<float> v{1.0f / 3.0f, std::numeric_limits<float>::infinity(), 65504.0f, 1e-8f};
  const auto h = act::safetensors_tensor::from_floats("h", {4}, v.data(), act::dtype::f16).to_floats();
  CHECK(h[0] == doctest::Approx(1.0 / 3.0).epsilon(1e-3));
  CHECK(std::isinf(h[1]));
  CHECK(h[2] == 65504.0f);
  const auto b = act::safetensors_tensor::from_floats("b", {4}, v.data(), act::dtype::bf16).to_floats();
  CHECK(b[0] == doctest::Approx(1.0 / 3.0).epsilon(1e-2));
  CHECK(std::isinf(b[1]));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(act::safetensors_tensor::from_floats("n", {1}, &nan, act::dtype::f16).to_floats()[0]));
  CHECK(std::isnan(act::safetensors_tensor::from_floats("n", {1}, &nan, act::dtype::bf16).to_floats()[0]));
}

TEST_CASE("safetensors reads hand-made files: data order, scalars, empty tensors, escapes") {
  std::vector<unsigned char> data;
  put_f32(data, 7.0f);  // "s" (scalar) at [0,4)
  put_f32(data, 1.0f);  // "v" at [4,12)
  put_f32(data, 2.0f);
  const auto b = make_file(
      R"({"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}, "z":{"data_offsets":[12,12],"shape":[0,5],"dtype":"BF16"},)"
      R"( "s\u00e9":{"dtype":"F32","shape":[],"data_offsets":[0,4]}, "__metadata__":{}}   )",
      data);
  const act::safetensors_file f = parse(b);
  REQUIRE(f.tensors.size() == 3);
  CHECK(f.tensors[0].name == "s\xc3\xa9");  // file order is data order
  CHECK(f.tensors[0].shape.empty());
  CHECK(f.tensors[0].to_floats() == std::vector<float>{7.0f});
  CHECK(f.tensors[1].name == "v");
  CHECK(f.tensors[1].to_floats() == std::vector<float>{1.0f, 2.0f});
  CHECK(f.tensors[2].name == "z");
  CHECK(f.tensors[2].element_count() == 0);
  CHECK(f.metadata.empty());
}

TEST_CASE("safetensors file without tensors round trips") {
  scratch_dir dir;
  act::safetensors_file file;
  act::write_safetensors(dir.file("empty.safetensors"), file);
  const auto back = act::read_safetensors(dir.file("empty.safetensors"));
  CHECK(back.tensors.empty());
  CHECK(back.metadata.empty());
}

TEST_CASE("safetensors writer refuses inconsistent tensors") {
  act::safetensors_file file;
  const float x = 1.0f;
  file.tensors.push_back(act::safetensors_tensor::from_floats("a", {1}, &x));
  file.tensors.push_back(act::safetensors_tensor::from_floats("a", {1}, &x));
  ACT_CHECK_ERROR(act::serialize_safetensors(file), act::invalid_argument, "duplicate tensor name 'a'");
  file.tensors.pop_back();
  file.tensors[0].bytes.push_back(0);
  ACT_CHECK_ERROR(act::serialize_safetensors(file), act::shape_error, "do not match shape");
  file.tensors[0] = act::safetensors_tensor::from_floats("__metadata__", {1}, &x);
  ACT_CHECK_ERROR(act::serialize_safetensors(file), act::invalid_argument, "reserved");
}

// ---- Catalogue of malformed files: each one a documented format_error, never a crash. ----

TEST_CASE("safetensors malformed: empty file") { ACT_CHECK_ERROR(parse({}), act::format_error, "too short"); }

TEST_CASE("safetensors malformed: file shorter than the length field") {
  ACT_CHECK_ERROR(parse({1, 0, 0}), act::format_error, "too short");
}

TEST_CASE("safetensors malformed: header length beyond the file") {
  std::vector<unsigned char> b;
  put_u64(b, 100);
  act_test::put_str(b, "{}");
  ACT_CHECK_ERROR(parse(b), act::format_error, "header length 100 exceeds the file");
}

TEST_CASE("safetensors malformed: header length near 2^64") {
  std::vector<unsigned char> b;
  put_u64(b, std::numeric_limits<std::uint64_t>::max() - 3);
  act_test::put_str(b, "{}");
  ACT_CHECK_ERROR(parse(b), act::format_error, "exceeds the file");
}

TEST_CASE("safetensors malformed: invalid JSON") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":)")), act::format_error, "invalid JSON header");
  ACT_CHECK_ERROR(parse(make_file(R"({"a" 1})")), act::format_error, "invalid JSON header");
  ACT_CHECK_ERROR(parse(make_file("{}\x01")), act::format_error, "invalid JSON header");
}

TEST_CASE("safetensors malformed: invalid UTF-8 in the header") {
  ACT_CHECK_ERROR(parse(make_file("{\"\xff\":1}")), act::format_error, "invalid UTF-8");
  ACT_CHECK_ERROR(parse(make_file("{\"\xc0\xaf\":1}")), act::format_error, "invalid UTF-8");
}

TEST_CASE("safetensors malformed: nesting too deep") {
  ACT_CHECK_ERROR(parse(make_file(std::string(10000, '['))), act::format_error, "nesting deeper");
}

TEST_CASE("safetensors malformed: header is not an object") {
  ACT_CHECK_ERROR(parse(make_file("[1,2]")), act::format_error, "not a JSON object");
}

TEST_CASE("safetensors malformed: tensor entry is not an object") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":[1]})")), act::format_error, "tensor 'w': entry is an array");
}

TEST_CASE("safetensors malformed: missing keys") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", zeros(4))), act::format_error,
                  "tensor 'w': missing key 'dtype'");
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", zeros(4))), act::format_error,
                  "tensor 'w': missing key 'shape'");
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[1]}})", zeros(4))), act::format_error,
                  "tensor 'w': missing key 'data_offsets'");
}

TEST_CASE("safetensors malformed: extra key") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", zeros(4))),
                  act::format_error, "tensor 'w': unexpected key 'x'");
}

TEST_CASE("safetensors malformed: unknown dtype") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})", zeros(1))),
                  act::format_error, "tensor 'w': unsupported dtype 'I8'");
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":3,"shape":[1],"data_offsets":[0,1]}})", zeros(1))),
                  act::format_error, "dtype is not a string");
}

TEST_CASE("safetensors malformed: shape not a list of non-negative integers") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", zeros(4))),
                  act::format_error, "shape must hold non-negative integers");
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", zeros(4))),
                  act::format_error, "shape must hold non-negative integers");
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})", zeros(4))),
                  act::format_error, "shape is not an array");
}

TEST_CASE("safetensors malformed: data_offsets not [begin, end]") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", zeros(8))),
                  act::format_error, "data_offsets must be [begin, end]");
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", zeros(4))),
                  act::format_error, "data_offsets must hold non-negative integers");
}

TEST_CASE("safetensors malformed: data_offsets begin after end") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", zeros(4))),
                  act::format_error, "begin 4 is after end 0");
}

TEST_CASE("safetensors malformed: offsets outside the data") {
  ACT_CHECK_ERROR(parse(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", zeros(4))),
                  act::format_error, "tensor 'w': data_offsets [0, 8] lie outside the data");
}

TEST_CASE("safetensors malformed: offsets beyond 64 bits") {
  ACT_CHECK_ERROR(
      parse(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}})", zeros(4))),
      act::format_error, "does not fit in 64 bits");
}

TEST_CASE("safetensors malformed: overlapping tensors") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  zeros(12))),
                  act::format_error, "overlap");
}

TEST_CASE("safetensors malformed: gap between tensors") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                  zeros(12))),
                  act::format_error, "tensor 'b': data_offsets [8, 12] leave a gap");
}

TEST_CASE("safetensors malformed: data section longer than the tensors") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", zeros(8))),
                  act::format_error, "tensors cover 4 bytes but the data section holds 8");
}

TEST_CASE("safetensors malformed: shape x dtype disagrees with offsets") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", zeros(8))),
                  act::format_error, "tensor 'a': data_offsets span 8 bytes but shape x dtype needs 16");
}

TEST_CASE("safetensors malformed: shape product overflows") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})")),
                  act::format_error, "tensor 'a': shape product overflows");
  // The element count fits, but count x itemsize does not.
  ACT_CHECK_ERROR(
      parse(make_file(R"({"a":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,4]}})", zeros(4))),
      act::format_error, "shape product overflows");
}

TEST_CASE("safetensors malformed: duplicate tensor names") {
  ACT_CHECK_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                  R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                  zeros(8))),
                  act::format_error, "duplicate key 'a'");
}

TEST_CASE("safetensors malformed: non-string metadata") {
  ACT_CHECK_ERROR(parse(make_file(R"({"__metadata__":{"k":1}})")), act::format_error,
                  "__metadata__ value for 'k' is a number, not a string");
  ACT_CHECK_ERROR(parse(make_file(R"({"__metadata__":"x"})")), act::format_error, "__metadata__ is a string");
}

TEST_CASE("safetensors read of a missing file is an io_error naming the path") {
  ACT_CHECK_ERROR(act::read_safetensors("/nonexistent/act/x.safetensors"), act::io_error,
                  "/nonexistent/act/x.safetensors");
}

// ---- Atomic writes ----

namespace {
act::safetensors_file small_file(std::size_t n = 4) {
  std::vector<float> v(n, 1.5f);
  act::safetensors_file f;
  f.tensors.push_back(act::safetensors_tensor::from_floats("w", {n}, v.data()));
  return f;
}
}  // namespace

TEST_CASE("atomic write into an unwritable folder leaves nothing behind") {
  scratch_dir dir;
  const std::string sub = dir.file("locked");
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
  REQUIRE(::chmod(sub.c_str(), 0555) == 0);
  if (::geteuid() != 0) {
    ACT_CHECK_ERROR(act::write_safetensors(sub + "/m.safetensors", small_file()), act::io_error,
                    sub + "/m.safetensors");
  } else {
    // chmod does not stop root; a folder that does not exist is the unwritable folder we can make.
    MESSAGE("running as root: chmod cannot make a folder unwritable, using a missing folder instead");
    const std::string missing = dir.file("no/such/folder/m.safetensors");
    ACT_CHECK_ERROR(act::write_safetensors(missing, small_file()), act::io_error, "cannot create temporary file");
  }
  ::chmod(sub.c_str(), 0755);
  std::error_code ec;
  CHECK(std::filesystem::is_empty(sub, ec));
  CHECK(dir.entries() == std::vector<std::string>{"locked"});
}

TEST_CASE("atomic write over a directory is refused before anything is written") {
  scratch_dir dir;
  const std::string target = dir.file("target.safetensors");
  REQUIRE(::mkdir(target.c_str(), 0755) == 0);
  ACT_CHECK_ERROR(act::write_safetensors(target, small_file()), act::io_error, "is a directory, not a regular file");
  CHECK(dir.entries() == std::vector<std::string>{"target.safetensors"});
  CHECK(std::filesystem::is_directory(target));
}

TEST_CASE("atomic write that fails midway leaves no file and keeps the old one") {
  scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  // A file-size limit makes write() fail partway through, like a full disk, without touching real devices.
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);

  ACT_CHECK_ERROR(act::write_safetensors(path, small_file(100000)), act::io_error, "write failed");
  const bool nothing_left = dir.entries().empty();

  act::write_safetensors(path, small_file(4));  // small enough to pass under the limit
  ACT_CHECK_ERROR(act::write_safetensors(path, small_file(100000)), act::io_error, path);

  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK(nothing_left);
  CHECK(dir.entries() == std::vector<std::string>{"m.safetensors"});
  CHECK(act::read_safetensors(path).tensors.at(0).element_count() == 4);  // old content intact
}
