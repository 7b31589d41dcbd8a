// The column sort (a sorting network down the rows of a row-major block) against an independent statement of its
// order: each column sorted by its ordered_bits keys with std::sort, bit for bit, on each act::simd level; and the
// fits' row-major column access that uses it against the radix sort of each gathered column.
#include <act/detail/kernels/column_sort.hpp>
#include <act/detail/numeric/columns.hpp>
#include <act/detail/numeric/radix_sort.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "each_level.hpp"

namespace {

using bits = act::detail::ordered_bits<float>;

std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float from_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

/// Column c of a row-major block, sorted by key: what sort_float_columns must produce.
std::vector<std::uint32_t> expected_column(const std::vector<float>& block, std::size_t rows, std::size_t width,
                                           std::size_t c) {
  std::vector<std::uint32_t> keys(rows);
  for (std::size_t i = 0; i < rows; ++i) keys[i] = bits::encode(block[i * width + c]);
  std::sort(keys.begin(), keys.end());
  for (auto& k : keys) k = bits_of(bits::decode(k));
  return keys;
}

/// A block with ties, zeros of both signs, subnormals, infinities and NaNs of both signs mixed into normal values.
std::vector<float> awkward_block(std::size_t rows, std::size_t width, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.5f, 2.0f);
  std::uniform_int_distribution<int> pick(0, 15);
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f,
                            -0.0f,
                            inf,
                            -inf,
                            std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            from_bits(0x7fffffffu),
                            from_bits(0xffffffffu),
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::lowest()};
  std::vector<float> block(rows * width);
  for (auto& x : block) {
    const int p = pick(rng);
    x = p < 2   ? specials[static_cast<std::size_t>(pick(rng)) % (sizeof specials / sizeof specials[0])]
        : p < 5 ? static_cast<float>(static_cast<int>(normal(rng)))  // ties
                : normal(rng);
  }
  return block;
}

}  // namespace

TEST_CASE("sort_float_columns sorts each column by its ordered_bits key, bit for bit, on each level") {
  std::mt19937 rng(61);
  act::test::each_level([&](act::simd::level level) {
    for (const std::size_t rows : {16u, 32u, 64u, 256u, 512u, 1024u, 4096u, 8192u})
      for (const std::size_t width : {32u, 64u}) {
        CAPTURE(rows);
        CAPTURE(width);
        const std::vector<float> input = awkward_block(rows, width, rng);
        std::vector<float> block = input;
        const bool sorted = act::detail::sort_float_columns(block.data(), rows, width);
        if (level == act::simd::level::baseline) {
          // No vector min and max: the caller sorts otherwise, and the block is untouched.
          CHECK_FALSE(sorted);
          CHECK(std::memcmp(block.data(), input.data(), block.size() * sizeof(float)) == 0);
          continue;
        }
        REQUIRE(sorted);
        for (std::size_t c = 0; c < width; ++c) {
          CAPTURE(c);
          const std::vector<std::uint32_t> expected = expected_column(input, rows, width, c);
          for (std::size_t i = 0; i < rows; ++i) REQUIRE(bits_of(block[i * width + c]) == expected[i]);
        }
      }
  });
}

TEST_CASE("sort_float_columns pads with the largest key and refuses shapes it does not sort") {
  std::mt19937 rng(62);
  act::test::each_level([&](act::simd::level level) {
    if (level == act::simd::level::baseline) return;
    // 1000 rows padded to 1024: the padding stays below the 1000 values, which come out sorted.
    const std::size_t n = 1000, rows = 1024, width = 32;
    std::vector<float> block = awkward_block(rows, width, rng);
    std::fill(block.begin() + n * width, block.end(), act::detail::column_sort_padding());
    const std::vector<float> input = block;
    REQUIRE(act::detail::sort_float_columns(block.data(), rows, width));
    for (std::size_t c = 0; c < width; ++c) {
      const std::vector<std::uint32_t> expected = expected_column(input, rows, width, c);
      for (std::size_t i = 0; i < rows; ++i) REQUIRE(bits_of(block[i * width + c]) == expected[i]);
      for (std::size_t i = n; i < rows; ++i) REQUIRE(bits_of(block[i * width + c]) == 0x7fffffffu);
    }
    // A width that is not a multiple of 32, or fewer rows than the registers hold: refused, block untouched.
    std::vector<float> narrow = awkward_block(64, 48, rng);
    const std::vector<float> narrow_input = narrow;
    CHECK_FALSE(act::detail::sort_float_columns(narrow.data(), 64, 48));
    CHECK(std::memcmp(narrow.data(), narrow_input.data(), narrow.size() * sizeof(float)) == 0);
    std::vector<float> short_block = awkward_block(4, 32, rng);
    const std::vector<float> short_input = short_block;
    CHECK_FALSE(act::detail::sort_float_columns(short_block.data(), 4, 32));
    CHECK(std::memcmp(short_block.data(), short_input.data(), short_block.size() * sizeof(float)) == 0);
  });
}

namespace {

/// Every column of x through sorted_columns, against the radix sort of the column: the same bits and the same
/// finiteness; `non_finite` lists the columns holding a NaN or Inf.
template <class Matrix>
void check_sorted_columns(const Matrix& x, const std::vector<Eigen::Index>& non_finite) {
  act::detail::sorted_columns<Matrix> columns(x);
  act::detail::radix_buffers<float> buffers;
  const Eigen::Index n = x.rows();
  std::vector<float> expected(static_cast<std::size_t>(n));
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    CAPTURE(n);
    CAPTURE(j);
    for (Eigen::Index i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = x(i, j);
    const bool finite = act::detail::radix_sort_into(expected.data(), expected.size(), expected.data(), buffers);
    REQUIRE(columns.sort(j) == finite);
    CHECK(finite == (std::find(non_finite.begin(), non_finite.end(), j) == non_finite.end()));
    if (!finite) continue;
    REQUIRE(columns.sorted().size() == expected.size());
    CHECK(std::memcmp(columns.sorted().data(), expected.data(), expected.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("columns come out sorted as the radix sort sorts each column, in either layout, on each level") {
  // sorted_columns sorts float blocks of 32 neurons with 1024 to 8192 samples with the column sort (row-major
  // blocks where they lie, contiguous columns transposed into rows first): the same bits and the same finiteness
  // as the radix sort of each column, with partial blocks, outer strides and columns holding NaN or Inf; outside
  // that range of samples it radix-sorts each column as before.
  using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::mt19937 rng(63);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  act::test::each_level([&](act::simd::level) {
    for (const Eigen::Index n : {1023, 1024, 1500, 4096, 8192, 8193}) {
      row_matrix wide(n, 80);
      for (Eigen::Index i = 0; i < wide.size(); ++i)
        wide.data()[i] = i % 7 == 0    ? -0.0f
                         : i % 11 == 0 ? 0.0f
                                       : static_cast<float>(static_cast<int>(4 * normal(rng)));
      wide(n / 2, 3) = std::numeric_limits<float>::quiet_NaN();
      wide(0, 40) = -std::numeric_limits<float>::infinity();
      wide(n - 1, 70) = std::numeric_limits<float>::infinity();
      const std::vector<Eigen::Index> non_finite = {1, 38, 68};
      // Outer stride 80 (row-major) or n + 5 (column-major); blocks of 32, 32 and 7 neurons.
      check_sorted_columns(wide.block(0, 2, n, 71), non_finite);
      const Eigen::MatrixXf tall = wide;
      check_sorted_columns(tall, {3, 40, 70});
      Eigen::MatrixXf padded = Eigen::MatrixXf::Zero(n + 5, 80);
      padded.topRows(n) = tall;
      check_sorted_columns(padded.block(0, 2, n, 71), non_finite);
    }
  });
}
