// Column sources and fits on them: act::npy_columns reads every layout as load_npy_matrix
// does, pooled and stacked sources equal pooling / concatenating by hand, and act::fit_columns within a
// small budget equals the in-memory fit bit for bit, for every registered method.
#include <act/act.hpp>
#include <act/columns/fit.hpp>
#include <act/columns/pooled.hpp>
#include <act/columns/npy_columns.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "fit_test_util.hpp"
#include "io_test_util.hpp"

namespace {

/// A .npy file of `m` (shape `shape`, default [rows x cols]) in `type`, C or Fortran order; `pad` extra
/// header bytes shift the data off its natural alignment.
void write_npy(const std::string& path, const Eigen::MatrixXd& m, act::dtype type, bool fortran, std::size_t pad = 0,
               const std::string& shape = "") {
  const char* descr = type == act::dtype::f32   ? "<f4"
                      : type == act::dtype::f64 ? "<f8"
                      : type == act::dtype::f16 ? "<f2"
                                                : "<V2";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr, fortran ? "True" : "False",
                  shape.empty() ? fmt::format("({}, {})", m.rows(), m.cols()) : shape);
  while ((10 + header.size() + 1) % 64 != pad % 64) header += ' ';
  header += '\n';
  std::vector<unsigned char> bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  act_test::put_u16(bytes, static_cast<std::uint16_t>(header.size()));
  act_test::put_str(bytes, header);
  const std::size_t start = bytes.size();
  bytes.resize(start + static_cast<std::size_t>(m.size()) * act::dtype_size(type));
  std::size_t k = 0;
  for (Eigen::Index a = 0; a < (fortran ? m.cols() : m.rows()); ++a)
    for (Eigen::Index b = 0; b < (fortran ? m.rows() : m.cols()); ++b)
      act::detail::encode_element(bytes.data() + start, type, k++, fortran ? m(b, a) : m(a, b));
  act_test::write_bytes(path, bytes);
}

/// Checks that f() throws E with every phrase in its message.
template <class E, class F>
void check_throws(F&& f, std::initializer_list<const char*> phrases) {
  try {
    f();
    FAIL("no exception");
  } catch (const E& e) {
    for (const char* p : phrases) CHECK_MESSAGE(std::string(e.what()).find(p) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("npy_columns reads every dtype and order, aligned or not, as load_npy_matrix does") {
  act_test::scratch_dir dir;
  const Eigen::MatrixXd m = act_test::random_samples<double>(37, 11, 1);
  for (const act::dtype type : {act::dtype::f32, act::dtype::f64, act::dtype::f16, act::dtype::bf16})
    for (const bool fortran : {false, true})
      for (const std::size_t pad : {std::size_t(0), std::size_t(1), std::size_t(3)}) {
        CAPTURE(act::dtype_name(type));
        CAPTURE(fortran);
        CAPTURE(pad);
        const std::string path = dir.file("x.npy");
        write_npy(path, m, type, fortran, pad);
        const Eigen::MatrixXf whole = act::load_npy_matrix<float>(path);
        const act::npy_columns x(path);
        REQUIRE(x.rows() == 37);
        REQUIRE(x.cols() == 11);
        Eigen::MatrixXf block(37, 4);
        x.read<float>(5, 4, block);
        CHECK(block == whole.middleCols(5, 4));
        Eigen::MatrixXd all(37, 11);
        x.read<double>(0, 11, all);
        CHECK(all == act::load_npy_matrix<double>(path));
      }
}

TEST_CASE("npy_columns names the file and the sample of a NaN, and refuses bad shapes and ranges") {
  act_test::scratch_dir dir;
  Eigen::MatrixXd m = act_test::random_samples<double>(6, 3, 2);
  m(4, 2) = std::numeric_limits<double>::quiet_NaN();
  write_npy(dir.file("nan.npy"), m, act::dtype::f32, false);
  const act::npy_columns x(dir.file("nan.npy"));
  Eigen::MatrixXf block(6, 2);
  x.read<float>(0, 2, block);  // the NaN is not in these neurons
  check_throws<act::non_finite_error>([&] { x.read<float>(1, 2, block); },
                                      {"nan.npy", "non-finite value nan at row 4, neuron 2"});
  check_throws<act::invalid_argument>([&] { x.read<float>(2, 2, block); }, {"nan.npy", "cannot read neurons [2, 4)"});
  write_npy(dir.file("4d.npy"), act_test::random_samples<double>(1, 8, 3), act::dtype::f32, false, 0, "(2, 2, 1, 2)");
  check_throws<act::format_error>([&] { act::npy_columns bad(dir.file("4d.npy")); }, {"4d.npy", "got 4 dimension(s)"});
  check_throws<act::io_error>([&] { act::npy_columns bad(dir.file("missing.npy")); }, {"missing.npy", "cannot open"});
}

TEST_CASE("a 3-D file pooled over its lengths or mask equals act::pool_padded by hand") {
  act_test::scratch_dir dir;
  const Eigen::Index B = 9, T = 5, d = 6;
  const Eigen::MatrixXd tokens = act_test::random_samples<double>(B * T, d, 4);
  write_npy(dir.file("x3.npy"), tokens, act::dtype::f32, false, 0, fmt::format("({}, {}, {})", B, T, d));
  const std::vector<std::int64_t> lengths{1, 5, 3, 2, 4, 5, 1, 2, 3};
  const std::vector<std::uint8_t> valid = act::valid_from_lengths(lengths, T, "lengths");
  std::vector<std::uint8_t> mask(valid.size());
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = (i * 7 % 3 != 0) || i % T == 0;  // not a prefix
  for (const auto& flags : {valid, mask})
    for (const act::pooling how : {act::pooling::mean, act::pooling::last, act::pooling::max, act::pooling::min}) {
      CAPTURE(act::to_string(how));
      const Eigen::MatrixXf expected = act::pool_padded(tokens.cast<float>().eval(), T, flags, how);
      act::npy_columns file(dir.file("x3.npy"));
      REQUIRE(file.sequence_length() == T);
      const act::pooled_columns<act::npy_columns> pooled(std::move(file), T, flags, how);
      REQUIRE(pooled.rows() == B);
      Eigen::MatrixXf got(B, 2);
      pooled.read<float>(3, 2, got);
      CHECK(got == expected.middleCols(3, 2));
    }
  check_throws<act::invalid_argument>(
      [&] {
        (void)act::valid_from_lengths({2, 6}, T, "L.npy");
      },
      {"L.npy", "length of sequence 1 is 6"});
}

TEST_CASE("stacked_columns concatenates rows in order and names the file of another width") {
  const Eigen::MatrixXd a = act_test::random_samples<double>(4, 3, 5), b = act_test::random_samples<double>(6, 3, 6),
                        c = act_test::random_samples<double>(2, 4, 7);
  act::stacked_columns<double> s;
  s.push_back(act::columns_of(a), "a.npy");
  s.push_back(act::columns_of(b), "b.npy");
  Eigen::MatrixXd got(10, 2);
  s.read<double>(1, 2, got);
  CHECK(got.topRows(4) == a.middleCols(1, 2));
  CHECK(got.bottomRows(6) == b.middleCols(1, 2));
  check_throws<act::shape_error>([&] { s.push_back(act::columns_of(c), "c.npy"); },
                                 {"c.npy: has 4 neurons", "a.npy has 3"});
}

TEST_CASE_TEMPLATE("fit_columns in a small budget equals the in-memory fit bit for bit, every method", Scalar, float,
                   double) {
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const matrix source = act_test::random_samples<double>(300, 23, 8).cast<Scalar>();
  const matrix target = act_test::random_samples<double>(300, 23, 9, 1.5).cast<Scalar>();
  const matrix target_unpaired = act_test::random_samples<double>(211, 23, 10, -1.0).cast<Scalar>();
  for (const act::method_info& m : act::methods())
    for (const bool paired : {true, false}) {
      if (!paired && m.paired) continue;  // pairs need equal counts
      CAPTURE(m.name);
      CAPTURE(paired);
      const matrix& b = paired ? target : target_unpaired;
      act::fit_settings settings;
      settings.knots = paired ? 0 : 16;
      settings.threads = 2;
      const auto expected = act::fit(m.name, source, b, settings);
      // A few neurons per block beyond the threads' buffers, so several blocks and a short last one.
      const auto got = act::fit_columns<Scalar>(m.name, act::columns_of(source), act::columns_of(b), settings, 70000);
      CHECK(act_test::same_fit(expected, got));
    }
}

TEST_CASE("fit_columns refuses a budget below one neuron's samples and a width mismatch") {
  const Eigen::MatrixXf a = act_test::random_samples<double>(1000, 4, 11).cast<float>(),
                        b = act_test::random_samples<double>(1000, 5, 12).cast<float>();
  check_throws<act::invalid_argument>(
      [&] { (void)act::fit_columns<float>("linear", act::columns_of(a), act::columns_of(a), {}, 1000); },
      {"cannot hold the samples of one neuron", "1000 + 1000 samples"});
  check_throws<act::shape_error>([&] { (void)act::fit_columns<float>("mean", act::columns_of(a), act::columns_of(b)); },
                                 {"neuron counts differ"});
}
