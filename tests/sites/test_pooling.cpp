#include <act/sites/pooling.hpp>

#include <doctest/doctest.h>

TEST_CASE("padded batches pool over valid tokens only") {
  // Two sequences of length 3, two neurons; the padding row (99s) must never count.
  Eigen::MatrixXf x(6, 2);
  x << 1, -1, 3, 5, 99, 99,  // sequence 0: rows 0-1 valid, row 2 padding
      2, 0, 4, 8, 6, -4;     // sequence 1: all valid
  const std::vector<std::uint8_t> valid = {1, 1, 0, 1, 1, 1};
  const Eigen::MatrixXf mean = act::pool_padded(x, 3, valid, act::pooling::mean);
  const Eigen::MatrixXf last = act::pool_padded(x, 3, valid, act::pooling::last);
  const Eigen::MatrixXf max = act::pool_padded(x, 3, valid, act::pooling::max);
  const Eigen::MatrixXf min = act::pool_padded(x, 3, valid, act::pooling::min);
  CHECK(mean.rows() == 2);
  CHECK(mean(0, 0) == 2.0f);
  CHECK(mean(0, 1) == 2.0f);
  CHECK(mean(1, 0) == 4.0f);
  CHECK(mean(1, 1) == doctest::Approx(4.0 / 3.0));
  CHECK(last(0, 0) == 3.0f);
  CHECK(last(1, 1) == -4.0f);
  CHECK(max(0, 1) == 5.0f);
  CHECK(max(1, 1) == 8.0f);
  CHECK(min(0, 0) == 1.0f);
  CHECK(min(1, 1) == -4.0f);
  // Without a mask every row is valid.
  CHECK(act::pool_padded(x, 3, {}, act::pooling::max)(0, 0) == 99.0f);
}

TEST_CASE("packed sequences pool by length") {
  Eigen::MatrixXd x(5, 1);
  x << 1, 2, 3, 10, 20;
  const Eigen::MatrixXd mean = act::pool_packed(x, {3, 2}, act::pooling::mean);
  CHECK(mean(0, 0) == 2.0);
  CHECK(mean(1, 0) == 15.0);
  CHECK(act::pool_packed(x, {3, 2}, act::pooling::last)(0, 0) == 3.0);
}

TEST_CASE("pooling names round trip") {
  for (auto p : {act::pooling::mean, act::pooling::last, act::pooling::max, act::pooling::min})
    CHECK(act::parse_pooling(act::to_string(p)) == p);
  CHECK_THROWS_WITH_AS(act::parse_pooling("median"), doctest::Contains("median"), act::invalid_argument);
}

TEST_CASE("bad pooling arguments") {
  Eigen::MatrixXf x = Eigen::MatrixXf::Ones(4, 2);
  CHECK_THROWS_AS(act::pool_padded(x, 3, {}, act::pooling::mean), act::shape_error);
  CHECK_THROWS_WITH_AS(act::pool_padded(x, 2, {1, 1, 1}, act::pooling::mean), doctest::Contains("mask has 3"),
                       act::shape_error);
  CHECK_THROWS_WITH_AS(act::pool_padded(x, 2, {1, 1, 0, 0}, act::pooling::mean), doctest::Contains("sequence 1"),
                       act::invalid_argument);
  CHECK_THROWS_AS(act::pool_padded(x, 0, {}, act::pooling::mean), act::invalid_argument);
  CHECK_THROWS_AS(act::pool_packed(x, {1, 2}, act::pooling::mean), act::shape_error);
  CHECK_THROWS_AS(act::pool_packed(x, {4, 0}, act::pooling::mean), act::invalid_argument);
}

TEST_CASE("16-bit activations pool into float samples, rounded once from the double mean") {
  // bfloat16 values whose mean is not a bfloat16: the pooled sample keeps the float rounding of the exact mean.
  Eigen::Matrix<Eigen::bfloat16, Eigen::Dynamic, Eigen::Dynamic> x(3, 2);
  x << Eigen::bfloat16(1.0f), Eigen::bfloat16(1.0078125f), Eigen::bfloat16(1.0f), Eigen::bfloat16(3.0f),
      Eigen::bfloat16(1.0f), Eigen::bfloat16(2.0f);
  const auto mean = act::pool_padded(x, 3, {}, act::pooling::mean);
  static_assert(std::is_same_v<decltype(mean)::Scalar, float>);
  CHECK(mean(0, 0) == 1.0f);
  CHECK(mean(0, 1) == static_cast<float>((1.0078125 + 3.0 + 2.0) / 3.0));
  const auto packed = act::pool_packed(x.cast<Eigen::half>().eval(), {1, 2}, act::pooling::mean);
  static_assert(std::is_same_v<decltype(packed)::Scalar, float>);
  CHECK(packed(1, 1) == 2.5f);
}
