#include <act/core/support.hpp>

#include <doctest/doctest.h>

TEST_CASE("support spellings round trip") {
  CHECK(act::support::parse("all").bounded == false);
  const auto q = act::support::parse("q1_99");
  CHECK(q.bounded);
  CHECK(q.lower_percent == 1.0);
  CHECK(q.upper_percent == 99.0);
  CHECK(q.to_string() == "q1_99");
  CHECK(act::support::min_max().to_string() == "q0_100");
  CHECK(act::support::parse("q0.5_99.5").lower_percent == 0.5);
  CHECK(act::support::unbounded().to_string() == "all");
}

TEST_CASE("bad support spellings") {
  for (const char* bad : {"", "q", "q1", "q1-99", "q99_1", "qa_b", "q0_101", "x0_100", "q-1_50"})
    CHECK_THROWS_AS(act::support::parse(bad), act::invalid_argument);
}
