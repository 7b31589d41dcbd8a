// Map sets hold only what a map file can hold and hosts can show: site names and map_info text are
// valid UTF-8 without control characters; a strength a site cannot take names the site and changes nothing.
#include <act/sites/map_set.hpp>

#include <string>

#include <doctest/doctest.h>

#include "map_test_util.hpp"

namespace {

using rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using act_test::additive;
using act_test::scaling;

rows sample() {
  rows x(2, 3);
  x << 0.5f, -1.0f, 2.0f, 100.0f, -100.0f, 0.0f;
  return x;
}

}  // namespace

TEST_CASE("map_set refuses site names and map_info text that a map file cannot hold or a terminal should not get") {
  act::map_set maps;
  maps.insert("blk.1", additive(1.0f), {"mean", 3, 4, "mean", "all"});
  // Three invalid UTF-8 sequences (a stray byte, a surrogate, an overlong '/'), an escape sequence, a forged
  // line, a C1 control, a NUL.
  for (const std::string& bad :
       {std::string("\xff"), std::string("\xed\xa0\x80"), std::string("\xc0\xaf"), std::string("blk.2\x1b]0;pwned\x07"),
        std::string("blk.2\nblk.3"), std::string("\xc2\x9b"), std::string("a\0b", 3)}) {
    CAPTURE(act::printable(bad));
    CHECK_THROWS_WITH_AS(maps.insert(bad, additive(2.0f)), doctest::Contains("map_set: site name '"),
                         act::invalid_argument);
    CHECK_THROWS_WITH_AS(maps.insert("blk.2", additive(2.0f), {bad, 1, 1, "mean", "all"}),
                         doctest::Contains("map_set: site 'blk.2': map_info.method '"), act::invalid_argument);
    CHECK_THROWS_AS(maps.insert("blk.2", additive(2.0f), {"mean", 1, 1, bad, "all"}), act::invalid_argument);
    CHECK_THROWS_AS(maps.insert("blk.2", additive(2.0f), {"mean", 1, 1, "mean", bad}), act::invalid_argument);
  }
  CHECK_THROWS_WITH_AS(maps.insert("a\x1b[2J", additive(2.0f)),
                       "map_set: site name 'a\\x1b[2J' holds the control character U+001B at offset 1",
                       act::invalid_argument);
  CHECK(maps.sites() == std::vector<std::string>{"blk.1"});
  // Any valid UTF-8 is a fine name.
  maps.insert("schicht.\xc3\xa4 / \xe2\x82\xac", additive(2.0f));
  CHECK(maps.size() == 2);
}

TEST_CASE("map_set: a strength one site cannot take names the site and changes nothing") {
  act::map_set maps;
  maps.insert("blk.1", scaling(1.5f));
  maps.insert("blk.2", additive(2.0f));
  maps.set_strength(0.5);
  maps.set_strength("blk.1", 0.25);
  CHECK_THROWS_WITH_AS(maps.set_strength(1e39), doctest::Contains("map_set: site 'blk.2': affine_hook: strength 1e+39"),
                       act::non_finite_error);
  CHECK(maps.strength() == 0.5);
  rows x = sample();
  maps("blk.2", act::view(x));
  CHECK(x(0, 0) == 1.5f);  // blk.2 still at 0.5
  CHECK_THROWS_WITH_AS(maps.set_strength("blk.1", 1e308), doctest::Contains("map_set: site 'blk.1'"),
                       act::non_finite_error);
  CHECK(maps.strength("blk.1") == 0.25);
  maps.set_strength("blk.2", 1e30);  // large but finite results: allowed
  maps.reset_strength("blk.2");
  CHECK(maps.strength("blk.2") == 0.5);
}

TEST_CASE("map_set: a map that overflows a float at any strength is refused when inserted, naming the site") {
  act::quantile_map<float> q;
  q.knots_source.resize(2, 1);
  q.knots_target.resize(2, 1);
  q.knots_source << -3.0e38f, 3.0e38f;
  q.knots_target << 3.0e38f, 3.0e38f;  // moves -3e38 by 6e38
  act::map_set maps;
  CHECK_THROWS_WITH_AS(maps.insert("blk.7", q), doctest::Contains("map_set: site 'blk.7': quantile_hook: neuron 0"),
                       act::non_finite_error);
  CHECK(maps.empty());
}
