#include <act/io/npy.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

using act_test::put_f32;
using act_test::put_f64;
using act_test::put_u16;
using act_test::put_u32;
using act_test::scratch_dir;

namespace {

/// Builds a .npy file by hand: magic, version, header length, header text (padded like NumPy), data.
std::vector<unsigned char> make_npy(const std::string& dict, const std::vector<unsigned char>& data, unsigned major = 1,
                                    unsigned minor = 0) {
  std::vector<unsigned char> b{
      0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), static_cast<unsigned char>(minor)};
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  if (major == 1)
    put_u16(b, static_cast<std::uint16_t>(header.size()));
  else
    put_u32(b, static_cast<std::uint32_t>(header.size()));
  act_test::put_str(b, header);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::vector<unsigned char> f32_data(std::initializer_list<float> v) {
  std::vector<unsigned char> b;
  for (float f : v) put_f32(b, f);
  return b;
}

act::npy_array parse(const std::vector<unsigned char>& b) { return act::parse_npy(b.data(), b.size(), "bad.npy"); }

std::string dict(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

}  // namespace

TEST_CASE("npy round trip of float and double matrices") {
  scratch_dir dir;
  Eigen::MatrixXf f(2, 3);
  f << 1, 2, 3, 4, 5, -6.5f;
  act::save_npy(dir.file("f.npy"), f);
  CHECK(act::load_npy_matrix<float>(dir.file("f.npy")) == f);
  const act::npy_array a = act::read_npy(dir.file("f.npy"));
  CHECK(a.descr == "<f4");
  CHECK(!a.fortran_order);
  CHECK(a.shape == std::vector<std::size_t>{2, 3});

  Eigen::MatrixXd d = Eigen::MatrixXd::Random(5, 4);
  act::save_npy(dir.file("d.npy"), d);
  CHECK(act::load_npy_matrix<double>(dir.file("d.npy")) == d);
  CHECK(act::read_npy(dir.file("d.npy")).descr == "<f8");
  // Expressions work too, and the header is padded to 64 bytes with a newline as NumPy writes it.
  act::save_npy(dir.file("t.npy"), f.transpose());
  CHECK(act::load_npy_matrix(dir.file("t.npy")) == f.transpose());
  const auto raw = act_test::read_bytes(dir.file("f.npy"));
  const std::size_t header_len = raw[8] | (raw[9] << 8);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(raw[10 + header_len - 1] == '\n');
  CHECK(std::string(raw.begin() + 10, raw.begin() + 10 + 60) ==
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } ");
  CHECK(dir.entries().size() == 3);  // no temporary files
}

TEST_CASE("npy 1-D arrays load as one row") {
  scratch_dir dir;
  act_test::write_bytes(dir.file("v.npy"), make_npy(dict("<f4", "(3,)"), f32_data({1, 2, 3})));
  const Eigen::MatrixXf m = act::load_npy_matrix(dir.file("v.npy"));
  REQUIRE(m.rows() == 1);
  REQUIRE(m.cols() == 3);
  CHECK(m(0, 2) == 3.0f);
}

TEST_CASE("npy Fortran-order input is transposed into row-major values") {
  // The 2x3 matrix [[1,2,3],[4,5,6]] stored column by column.
  const auto a = parse(make_npy(dict("<f4", "(2, 3)", "True"), f32_data({1, 4, 2, 5, 3, 6})));
  CHECK(a.fortran_order);
  CHECK(a.values == std::vector<double>{1, 2, 3, 4, 5, 6});
  scratch_dir dir;
  act_test::write_bytes(dir.file("f.npy"), make_npy(dict("<f4", "(2, 3)", "True"), f32_data({1, 4, 2, 5, 3, 6})));
  Eigen::MatrixXd expected(2, 3);
  expected << 1, 2, 3, 4, 5, 6;
  CHECK(act::load_npy_matrix<double>(dir.file("f.npy")) == expected);
}

TEST_CASE("npy float16 input") {
  std::vector<unsigned char> data;
  for (std::uint16_t bits : std::initializer_list<std::uint16_t>{0x3C00, 0xC000, 0x3800, 0x7BFF})
    put_u16(data, bits);  // 1, -2, 0.5, 65504
  const auto a = parse(make_npy(dict("<f2", "(2, 2)"), data));
  CHECK(a.values == std::vector<double>{1.0, -2.0, 0.5, 65504.0});
}

TEST_CASE("npy bfloat16 stored as <V2 and |V2") {
  std::vector<unsigned char> data;
  for (std::uint16_t bits : std::initializer_list<std::uint16_t>{0x3F80, 0xC040, 0x3E00})
    put_u16(data, bits);  // 1, -3, 0.125
  CHECK(parse(make_npy(dict("<V2", "(3,)"), data)).values == std::vector<double>{1.0, -3.0, 0.125});
  CHECK(parse(make_npy(dict("|V2", "(1, 3)"), data)).values == std::vector<double>{1.0, -3.0, 0.125});
}

TEST_CASE("npy versions 2.0 and 3.0, native byte order, Python 2 longs") {
  std::vector<unsigned char> d64;
  put_f64(d64, 0.25);
  put_f64(d64, -8.0);
  CHECK(parse(make_npy(dict("<f8", "(2,)"), d64, 2)).values == std::vector<double>{0.25, -8.0});
  CHECK(parse(make_npy(dict("=f8", "(1, 2)"), d64, 3)).values == std::vector<double>{0.25, -8.0});
  CHECK(parse(make_npy(dict("<f8", "(2L, 1L)"), d64)).shape == std::vector<std::size_t>{2, 1});
  // Key order is free and double quotes are legal Python.
  CHECK(parse(make_npy(R"({"shape": (2,), "fortran_order": False, "descr": "<f8"})", d64)).values.size() == 2);
}

TEST_CASE("npy empty arrays") {
  const auto a = parse(make_npy(dict("<f4", "(0, 3)"), {}));
  CHECK(a.values.empty());
  CHECK(a.rows() == 0);
  CHECK(a.cols() == 3);
}

TEST_CASE("npy empty arrays with 2^62 rows read and write back at once") {
  // No column, so no data: neither the reader nor the writer may step through the rows one by one, which
  // would take forever at 2^62.
  const auto a = parse(make_npy(dict("<f4", "(4611686018427387904, 0)"), {}));
  CHECK(a.values.empty());
  CHECK(a.rows() == (std::size_t{1} << 62));
  CHECK(a.cols() == 0);
  const Eigen::MatrixXd m(Eigen::Index{1} << 62, 0);
  const std::vector<unsigned char> bytes = act::serialize_npy(m);
  const auto b = parse(bytes);
  CHECK(b.shape == a.shape);
  CHECK(b.values.empty());
}

// ---- Catalogue of malformed files: each one a documented format_error, never a crash. ----

TEST_CASE("npy malformed: empty file") { ACT_CHECK_ERROR(parse({}), act::format_error, "bad magic"); }

TEST_CASE("npy malformed: bad magic") {
  auto b = make_npy(dict("<f4", "(1,)"), f32_data({1}));
  b[1] = 'X';
  ACT_CHECK_ERROR(parse(b), act::format_error, "bad.npy: bad magic");
}

TEST_CASE("npy malformed: truncated header") {
  ACT_CHECK_ERROR(parse({0x93, 'N', 'U', 'M', 'P', 'Y', 1}), act::format_error, "truncated header");
  ACT_CHECK_ERROR(parse({0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 5, 0}), act::format_error, "truncated header");
}

TEST_CASE("npy malformed: unsupported version") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1,)"), f32_data({1}), 4)), act::format_error,
                  "unsupported .npy version 4.0");
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1,)"), f32_data({1}), 1, 1)), act::format_error,
                  "unsupported .npy version 1.1");
}

TEST_CASE("npy malformed: header longer than the file") {
  std::vector<unsigned char> b{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xFF, 0xFF};
  act_test::put_str(b, "{'descr': '<f4'");
  ACT_CHECK_ERROR(parse(b), act::format_error, "header length 65535 is longer than the file");
}

TEST_CASE("npy malformed: unparsable header dict") {
  ACT_CHECK_ERROR(parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", f32_data({1}))),
                  act::format_error, "cannot parse header dict");
  ACT_CHECK_ERROR(parse(make_npy("not a dict", f32_data({1}))), act::format_error, "cannot parse header dict");
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1,)") + " junk", f32_data({1}))), act::format_error,
                  "cannot parse header dict");
}

TEST_CASE("npy malformed: missing key") {
  ACT_CHECK_ERROR(parse(make_npy("{'descr': '<f4', 'shape': (1,), }", f32_data({1}))), act::format_error,
                  "missing key 'fortran_order'");
  ACT_CHECK_ERROR(parse(make_npy("{'descr': '<f4', 'fortran_order': False}", f32_data({1}))), act::format_error,
                  "missing key 'shape'");
  ACT_CHECK_ERROR(parse(make_npy("{'fortran_order': False, 'shape': (1,)}", f32_data({1}))), act::format_error,
                  "missing key 'descr'");
}

TEST_CASE("npy malformed: unexpected or duplicate key") {
  ACT_CHECK_ERROR(parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", f32_data({1}))),
                  act::format_error, "unexpected key 'x'");
  ACT_CHECK_ERROR(
      parse(make_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", f32_data({1}))),
      act::format_error, "duplicate key 'descr'");
}

TEST_CASE("npy malformed: fortran_order not a boolean") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1,)", "1"), f32_data({1}))), act::format_error,
                  "'fortran_order' must be True or False");
}

TEST_CASE("npy malformed: unsupported descr") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<i4", "(1,)"), f32_data({1}))), act::format_error,
                  "field 'descr' is '<i4': unsupported");
  ACT_CHECK_ERROR(parse(make_npy(dict("|f4", "(1,)"), f32_data({1}))), act::format_error, "unsupported");
  ACT_CHECK_ERROR(parse(make_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", f32_data({1}))),
                  act::format_error, "structured dtypes are unsupported");
}

TEST_CASE("npy malformed: big-endian") {
  ACT_CHECK_ERROR(parse(make_npy(dict(">f4", "(1,)"), f32_data({1}))), act::format_error, "big-endian");
  ACT_CHECK_ERROR(parse(make_npy(dict(">f8", "(1,)"), f32_data({1, 2}))), act::format_error, "big-endian");
}

TEST_CASE("npy malformed: 0-D array") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "()"), f32_data({1}))), act::format_error,
                  "field 'shape' has 0 dimensions");
}

TEST_CASE("npy malformed: 3-D where 2-D is needed") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1, 1, 2)"), f32_data({1, 2}))), act::format_error,
                  "field 'shape' has 3 dimensions");
}

TEST_CASE("npy malformed: negative shape") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(-1,)"), f32_data({1}))), act::format_error, "negative dimension");
}

TEST_CASE("npy malformed: overflowing shape") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(99999999999999999999,)"), {})), act::format_error, "overflows 64 bits");
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(4294967296, 4294967296)"), {})), act::format_error,
                  "field 'shape' overflows");
  ACT_CHECK_ERROR(parse(make_npy(dict("<f8", "(4611686018427387904,)"), {})), act::format_error,
                  "field 'shape' overflows");
  // Sizes are signed indices: 2^63 rows of no column hold no data, yet their count would turn negative.
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(9223372036854775808, 0)"), {})), act::format_error,
                  "has the dimension 9223372036854775808, above 2^63 - 1");
  const auto largest = parse(make_npy(dict("<f4", "(9223372036854775807, 0)"), {}));
  CHECK(largest.rows() == static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()));
}

TEST_CASE("npy malformed: shape larger than the data") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1000000, 1000000)"), f32_data({1, 2}))), act::format_error,
                  "data is shorter than shape x itemsize");
}

TEST_CASE("npy malformed: data longer than the shape") {
  ACT_CHECK_ERROR(parse(make_npy(dict("<f4", "(1,)"), f32_data({1, 2}))), act::format_error,
                  "data is longer than shape x itemsize");
}

TEST_CASE("npy missing file is an io_error naming the path") {
  ACT_CHECK_ERROR(act::read_npy("/nonexistent/act/x.npy"), act::io_error, "/nonexistent/act/x.npy");
  ACT_CHECK_ERROR(act::load_npy_matrix("/nonexistent/act/x.npy"), act::io_error, "cannot open");
}

TEST_CASE("npy save into a missing folder fails and leaves nothing") {
  scratch_dir dir;
  ACT_CHECK_ERROR(act::save_npy(dir.file("missing/x.npy"), Eigen::MatrixXf::Ones(2, 2)), act::io_error,
                  "missing/x.npy");
  CHECK(dir.entries().empty());
}
