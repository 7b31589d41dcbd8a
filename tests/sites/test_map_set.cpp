#include <act/estimators/quantile_act.hpp>
#include <act/sites/map_set.hpp>

#include <doctest/doctest.h>

namespace {
act::affine_map<float> shift_map(Eigen::Index d, float shift) {
  auto m = act::affine_map<float>::identity(d);
  m.beta.setConstant(shift);
  return m;
}
}  // namespace

TEST_CASE("sites without a map are left alone") {
  act::map_set maps;
  maps.insert("blk.1.attn_out", shift_map(2, 1.0f), {"mean", 10, 12, "mean", "all"});
  std::vector<float> x = {0, 0, 0, 0};
  CHECK_FALSE(maps("blk.2.attn_out", act::view(x.data(), 2, 2)));
  CHECK(x == std::vector<float>{0, 0, 0, 0});
  CHECK(maps("blk.1.attn_out", act::view(x.data(), 2, 2)));
  CHECK(x == std::vector<float>{1, 1, 1, 1});
  CHECK(maps.at("blk.1.attn_out").info.method == "mean");
  CHECK(maps.at("blk.1.attn_out").info.target_samples == 12);
  CHECK(maps.sites() == std::vector<std::string>{"blk.1.attn_out"});
}

TEST_CASE("global strength and per-site overrides") {
  act::map_set maps;
  maps.insert("a", shift_map(1, 2.0f));
  maps.insert("b", shift_map(1, 2.0f));
  CHECK(maps.strength() == 1.0);
  maps.set_strength(0.5);
  maps.set_strength("b", 0.0);
  float xa = 0, xb = 0;
  maps("a", act::view(&xa, 1, 1));
  maps("b", act::view(&xb, 1, 1));
  CHECK(xa == 1.0f);
  CHECK(xb == 0.0f);
  CHECK(maps.strength("b") == 0.0);
  maps.set_strength(0.25);  // b keeps its override
  CHECK(maps.strength("a") == 0.25);
  CHECK(maps.strength("b") == 0.0);
  maps.reset_strength("b");
  CHECK(maps.strength("b") == 0.25);
  xb = 0;
  maps("b", act::view(&xb, 1, 1));
  CHECK(xb == 0.5f);
}

TEST_CASE("selections through the set") {
  act::map_set maps;
  maps.insert("s", shift_map(1, 1.0f));
  std::vector<float> x = {0, 0, 0};
  maps.last_rows("s", act::view(x.data(), 3, 1), {2, 1});
  CHECK(x == std::vector<float>{0, 1, 1});
  maps.masked("s", act::view(x.data(), 3, 1), {1, 0, 0});
  CHECK(x == std::vector<float>{1, 1, 1});
  maps.per_row("s", act::view(x.data(), 3, 1), {0.0f, 2.0f, 0.5f});
  CHECK(x == std::vector<float>{1, 3, 1.5f});
}

TEST_CASE("double maps are stored as float; replacing a site replaces its map") {
  act::map_set maps;
  auto m = act::affine_map<double>::identity(1);
  m.omega[0] = 2.0;
  maps.insert("s", m);
  float x = 3;
  maps("s", act::view(&x, 1, 1));
  CHECK(x == 6.0f);
  maps.insert("s", shift_map(1, -1.0f));
  maps("s", act::view(&x, 1, 1));
  CHECK(x == 5.0f);
  CHECK(maps.size() == 1);
  maps.erase("s");
  CHECK(maps.empty());
}

TEST_CASE("bad use of a map set") {
  act::map_set maps;
  CHECK_THROWS_WITH_AS(maps.at("nope"), doctest::Contains("'nope'"), act::invalid_argument);
  CHECK_THROWS_AS(maps.set_strength("nope", 1.0), act::invalid_argument);
  CHECK_THROWS_AS(maps.set_strength(std::nan("")), act::invalid_argument);
  CHECK_THROWS_AS(maps.insert("", shift_map(1, 0.0f)), act::invalid_argument);
  auto broken = shift_map(2, 0.0f);
  broken.beta.resize(1);
  CHECK_THROWS_WITH_AS(maps.insert("x", broken), doctest::Contains("site 'x'"), act::invalid_argument);
  maps.insert("s", shift_map(2, 0.0f));
  std::vector<float> x(3);
  CHECK_THROWS_AS(maps("s", act::view(x.data(), 1, 3)), act::shape_error);
}

TEST_CASE("non-parametric maps go through the same hook points") {
  Eigen::MatrixXf a(4, 1), b(4, 1);
  a << 0, 1, 2, 3;
  b << 10, 11, 14, 20;
  const auto fit = act::quantile_act{}.fit(a, b);
  act::map_set maps;
  maps.insert("q", fit.map, {"quantile", 4, 4, "mean", "knots"});
  maps.insert("lin", shift_map(1, 1.0f));
  maps.set_strength(1.0);
  std::vector<float> x = {2.0f};
  CHECK(maps("q", act::view(x.data(), 1, 1)));
  CHECK(x[0] == doctest::Approx(fit.map.transport(0, 2.0f)));
  CHECK(std::holds_alternative<act::quantile_map<float>>(maps.at("q").map));
  maps.set_strength("q", 0.0);
  x = {2.0f};
  maps("q", act::view(x.data(), 1, 1));
  CHECK(x[0] == 2.0f);
}
