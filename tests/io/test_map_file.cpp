#include <act/estimators/quantile_act.hpp>
#include <act/io/map_file.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include <doctest/doctest.h>

namespace {

std::string temp_path(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }

act::map_set sample_maps() {
  act::map_set maps;
  act::affine_map<float> bounded = act::affine_map<float>::identity(3);
  bounded.omega << 0.5f, 1.5f, 2.0f;
  bounded.beta << -1.0f, 0.0f, 3.25f;
  bounded.lower = (Eigen::ArrayXf(3) << -1, -2, -3).finished();
  bounded.upper = (Eigen::ArrayXf(3) << 1, 2, 3).finished();
  maps.insert("blk.12.post_attn_norm", bounded, {"linear", 700, 650, "mean", "q0_100"});
  auto shift = act::affine_map<float>::identity(3);
  shift.beta << 0.1f, 0.2f, 0.3f;
  maps.insert("blk.3", shift, {"mean", 10, 20, "last", "all"});
  return maps;
}

// The error message of `read()`, or "no error".
template <class Read>
std::string error_of(Read read) {
  try {
    read();
  } catch (const act::format_error& e) {
    return e.what();
  } catch (const act::error& e) {
    return std::string("other act::error: ") + e.what();
  }
  return "no error";
}

// Loads a file whose content was edited by `edit`; returns the error message. The same content written to a
// file must be refused alike by load_maps (which reads it in place) and check_map_file (which keeps no maps).
template <class Edit>
std::string load_error(Edit edit) {
  auto file = act::maps_to_safetensors(sample_maps());
  edit(file);
  const std::string path = temp_path("act_edited.safetensors");
  const std::string message = error_of([&] { act::maps_from_safetensors(file, path); });
  act::write_safetensors(path, file);
  CHECK(error_of([&] { (void)act::load_maps(path); }) == message);
  CHECK(error_of([&] { act::check_map_file(path); }) == message);
  std::remove(path.c_str());
  return message;
}

act::safetensors_tensor* tensor(act::safetensors_file& f, const std::string& name) {
  for (auto& t : f.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace

TEST_CASE("map files round trip maps, supports and provenance") {
  const auto path = temp_path("act_test_roundtrip.safetensors");
  const auto maps = sample_maps();
  act::save_maps(path, maps);
  const auto loaded = act::load_maps(path);
  REQUIRE(loaded.sites() == maps.sites());
  for (const auto& site : maps.sites()) {
    const auto& a = std::get<act::affine_map<float>>(maps.at(site).map);
    const auto& b = std::get<act::affine_map<float>>(loaded.at(site).map);
    CHECK((a.omega == b.omega).all());
    CHECK((a.beta == b.beta).all());
    CHECK(a.bounded() == b.bounded());
    if (a.bounded()) {
      CHECK((a.lower == b.lower).all());
      CHECK((a.upper == b.upper).all());
    }
    CHECK(loaded.at(site).info.method == maps.at(site).info.method);
    CHECK(loaded.at(site).info.source_samples == maps.at(site).info.source_samples);
    CHECK(loaded.at(site).info.target_samples == maps.at(site).info.target_samples);
    CHECK(loaded.at(site).info.pooling == maps.at(site).info.pooling);
    CHECK(loaded.at(site).info.support == maps.at(site).info.support);
  }
  std::remove(path.c_str());
}

TEST_CASE("the layout on disk is the documented one") {
  const auto file = act::maps_to_safetensors(sample_maps());
  CHECK(file.metadata.at("act.format_version") == "1");
  CHECK(file.metadata.at("act.method.blk.12.post_attn_norm") == "linear");
  CHECK(file.metadata.at("act.samples.blk.12.post_attn_norm") == "700,650");
  CHECK(file.metadata.at("act.pooling.blk.3") == "last");
  for (const char* name : {"blk.12.post_attn_norm.omega", "blk.12.post_attn_norm.beta", "blk.12.post_attn_norm.lower",
                           "blk.12.post_attn_norm.upper", "blk.3.omega", "blk.3.beta"}) {
    const auto* t = file.find(name);
    REQUIRE_MESSAGE(t != nullptr, name);
    CHECK(t->type == act::dtype::f32);
    CHECK(t->shape == std::vector<std::uint64_t>{3});
  }
  CHECK(file.find("blk.3.lower") == nullptr);  // unbounded: no support tensors
}

// Each case edits a valid file into a malformed one and checks the message names the culprit.
TEST_CASE("malformed map files name what is wrong") {
  const std::string omega = "blk.3.omega", site = "blk.12.post_attn_norm";
  const auto expect = [](const std::string& message, const std::string& part) {
    CAPTURE(message);
    CHECK(message.find(part) != std::string::npos);
  };
  SUBCASE("missing format version") {
    expect(load_error([](auto& f) { f.metadata.erase("act.format_version"); }), "act.format_version");
  }
  SUBCASE("unknown format version") {
    expect(load_error([](auto& f) { f.metadata["act.format_version"] = "9"; }), "'9'");
  }
  SUBCASE("missing beta") {
    expect(load_error([](auto& f) { f.tensors.erase(f.tensors.begin() + 1); }), "'blk.12.post_attn_norm.beta'");
  }
  SUBCASE("omega and beta of different lengths") {
    expect(load_error([](auto& f) {
             const float v[2] = {1, 2};
             *tensor(f, "blk.3.beta") = act::safetensors_tensor::from_floats("blk.3.beta", {2}, v);
           }),
           "'blk.3.beta' has shape [2]");
  }
  SUBCASE("NaN in omega") {
    expect(load_error([&](auto& f) {
             const float v[3] = {1, std::numeric_limits<float>::quiet_NaN(), 1};
             *tensor(f, omega) = act::safetensors_tensor::from_floats(omega, {3}, v);
           }),
           "'blk.3.omega' holds a non-finite value nan at index 1");
  }
  SUBCASE("Inf in beta") {
    expect(load_error([](auto& f) {
             const float v[3] = {0, 0, std::numeric_limits<float>::infinity()};
             *tensor(f, "blk.3.beta") = act::safetensors_tensor::from_floats("blk.3.beta", {3}, v);
           }),
           "'blk.3.beta' holds a non-finite value inf");
  }
  SUBCASE("lower above upper") {
    expect(load_error([&](auto& f) {
             const float v[3] = {-1, 5, -3};
             *tensor(f, site + ".lower") = act::safetensors_tensor::from_floats(site + ".lower", {3}, v);
           }),
           "lower > upper at neuron 1");
  }
  SUBCASE("lower without upper") {
    expect(load_error([&](auto& f) {
             f.tensors.erase(
                 std::find_if(f.tensors.begin(), f.tensors.end(), [&](auto& t) { return t.name == site + ".upper"; }));
           }),
           "without 'blk.12.post_attn_norm.upper'");
  }
  SUBCASE("2-D omega") {
    expect(load_error([&](auto& f) {
             const float v[3] = {1, 1, 1};
             *tensor(f, omega) = act::safetensors_tensor::from_floats(omega, {1, 3}, v);
           }),
           "'blk.3.omega' must be 1-D");
  }
  SUBCASE("unknown field") {
    expect(load_error([](auto& f) {
             const float v[1] = {1};
             f.tensors.push_back(act::safetensors_tensor::from_floats("blk.3.gamma", {1}, v));
           }),
           "'blk.3.gamma'");
  }
  SUBCASE("bad sample counts") {
    expect(load_error([](auto& f) { f.metadata["act.samples.blk.3"] = "ten,20"; }), "act.samples.blk.3");
  }
  SUBCASE("no maps") {
    expect(load_error([](auto& f) { f.tensors.clear(); }), "holds no maps");
  }
}

TEST_CASE("saving an empty set is refused and writes nothing") {
  const auto path = temp_path("act_test_empty.safetensors");
  std::remove(path.c_str());
  CHECK_THROWS_AS(act::save_maps(path, act::map_set{}), act::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a quantile map whose least-squares line overflows float still saves a file that reads back") {
  // Knots nearly equal in x and far apart in y: the slope (about 1e68) and intercept exceed float's range.
  Eigen::MatrixXf x(3, 2), y(3, 2);
  x << 0.0f, -1.0f, 1e-30f, 0.0f, 2e-30f, 1.0f;
  y << -3e38f, -1.0f, 0.0f, 0.5f, 3e38f, 2.0f;
  const act::quantile_map<float> q{x, y};
  const auto line = act::least_squares_line(q);
  CHECK(line.omega[0] == std::numeric_limits<float>::max());
  CHECK(std::isfinite(line.beta[0]));
  CHECK(line.omega[1] == doctest::Approx(1.5));
  act::map_set maps;
  maps.insert("blk.0", q, {"quantile", 3, 3, "mean", "knots"});
  const auto file = act::maps_to_safetensors(maps);
  const auto loaded = act::maps_from_safetensors(file, "mem");
  const auto& back = std::get<act::quantile_map<float>>(loaded.at("blk.0").map);
  CHECK(back.knots_source == x);
  CHECK(back.knots_target == y);
}

TEST_CASE("non-parametric maps round trip with their knots and an affine summary") {
  Eigen::MatrixXf a(50, 2), b(40, 2);
  for (Eigen::Index i = 0; i < 50; ++i) a.row(i) << static_cast<float>(i), static_cast<float>(i * i);
  for (Eigen::Index i = 0; i < 40; ++i)
    b.row(i) << 2.0f * static_cast<float>(i) + 1.0f, std::sqrt(static_cast<float>(i));
  act::quantile_act_options opts;
  opts.knots = 16;
  const auto fit = act::quantile_act{opts}.fit(a, b);
  act::map_set maps;
  maps.insert("blk.0.mlp_out", fit.map, {"quantile", 50, 40, "mean", "knots"});
  const auto file = act::maps_to_safetensors(maps);
  const auto* ks = file.find("blk.0.mlp_out.knots_source");
  REQUIRE(ks != nullptr);
  CHECK(ks->shape == std::vector<std::uint64_t>{16, 2});
  CHECK(ks->to_floats()[1] == fit.map.knots_source(0, 1));  // row-major [K, d] on disk
  REQUIRE(file.find("blk.0.mlp_out.omega") != nullptr);
  const auto loaded = act::maps_from_safetensors(file, "mem");
  const auto& q = std::get<act::quantile_map<float>>(loaded.at("blk.0.mlp_out").map);
  CHECK(q.knots_source == fit.map.knots_source);
  CHECK(q.knots_target == fit.map.knots_target);

  const auto bad = [&](auto edit) {
    auto f = file;
    edit(f);
    try {
      act::maps_from_safetensors(f, "mem");
    } catch (const act::format_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(bad([](auto& f) {
          f.tensors.erase(std::find_if(f.tensors.begin(), f.tensors.end(),
                                       [](auto& t) { return t.name == "blk.0.mlp_out.knots_target"; }));
        }).find("without 'blk.0.mlp_out.knots_target'") != std::string::npos);
  CHECK(bad([](auto& f) {
          auto* t = tensor(f, "blk.0.mlp_out.knots_source");
          auto v = t->to_floats();
          std::swap(v[0], v[2]);  // neuron 0's first two knots out of order
          *t = act::safetensors_tensor::from_floats(t->name, t->shape, v.data());
        }).find("site 'blk.0.mlp_out'") != std::string::npos);
  CHECK(bad([](auto& f) {
          auto* t = tensor(f, "blk.0.mlp_out.knots_target");
          auto v = t->to_floats();
          *t = act::safetensors_tensor::from_floats(t->name, {8, 4}, v.data());
        }).find("must be [K, 2]") != std::string::npos);
}

TEST_CASE("a site whose registered method fits the other kind of map is refused; other method names are not checked") {
  const auto message = [](const std::string& site, const std::string& method) {
    auto file = act::maps_to_safetensors(sample_maps());
    file.metadata["act.method." + site] = method;
    try {
      act::maps_from_safetensors(file, "kinds.safetensors");
    } catch (const act::format_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // blk.3 holds an affine map: a quantile method cannot have fitted it.
  CHECK(message("blk.3", "quantile") ==
        "kinds.safetensors: site 'blk.3': method 'quantile' fits quantile maps, but the site has no knots");
  CHECK(message("blk.3", "caa") == "no error");
  CHECK(message("blk.3", "controlvector") == "no error");  // not a registered method: provenance only

  Eigen::MatrixXf a = Eigen::MatrixXf::Random(20, 3), b = Eigen::MatrixXf::Random(20, 3);
  act::map_set maps;
  maps.insert("q", act::quantile_act{}.fit(a, b).map, {"linear", 20, 20, "mean", "knots"});
  try {
    act::maps_from_safetensors(act::maps_to_safetensors(maps), "kinds.safetensors");
    FAIL("a quantile map labelled 'linear' loaded");
  } catch (const act::format_error& e) {
    CHECK(std::string(e.what()) ==
          "kinds.safetensors: site 'q': method 'linear' fits affine maps, but the site has knots");
  }
}

TEST_CASE("map files keep the set's own metadata; act.* keys stay act's") {
  const auto path = temp_path("act_test_metadata.safetensors");
  auto maps = sample_maps();
  maps.metadata()["controlvector.model_hint"] = "gemma2";
  maps.metadata()["note"] = "fitted on 700 + 650 sentences";
  act::save_maps(path, maps);
  const auto loaded = act::load_maps(path);
  CHECK(loaded.metadata() == maps.metadata());
  const auto file = act::maps_to_safetensors(maps);
  CHECK(file.metadata.at("controlvector.model_hint") == "gemma2");
  maps.metadata()["act.method.blk.3"] = "linear";
  CHECK_THROWS_WITH_AS(act::maps_to_safetensors(maps), doctest::Contains("'act.method.blk.3' is not allowed"),
                       act::invalid_argument);
  std::remove(path.c_str());
  // A file whose own notes could not be written back (an empty key) is refused when it is loaded.
  auto with_empty_key = act::maps_to_safetensors(sample_maps());
  with_empty_key.metadata[""] = "x";
  CHECK_THROWS_WITH_AS(act::maps_from_safetensors(with_empty_key, "empty_key.safetensors"),
                       "empty_key.safetensors: a metadata key is empty", act::format_error);
}

TEST_CASE("support bounds and the low-spread count round trip; files without act.bounds load as closed") {
  auto maps = sample_maps();
  auto closed = std::get<act::affine_map<float>>(maps.at("blk.12.post_attn_norm").map);
  closed.bounds = act::support_bounds::closed;
  maps.insert("closed", closed, {"linear", 5, 5, "mean", "q0_100", 2});
  auto file = act::maps_to_safetensors(maps);
  CHECK(file.metadata.at("act.bounds.blk.12.post_attn_norm") == "open");
  CHECK(file.metadata.at("act.bounds.closed") == "closed");
  CHECK(file.metadata.count("act.bounds.blk.3") == 0);  // unbounded: no rule to record
  CHECK(file.metadata.at("act.low_spread.closed") == "2");
  auto loaded = act::maps_from_safetensors(file, "mem");
  CHECK(std::get<act::affine_map<float>>(loaded.at("blk.12.post_attn_norm").map).bounds == act::support_bounds::open);
  CHECK(std::get<act::affine_map<float>>(loaded.at("closed").map).bounds == act::support_bounds::closed);
  CHECK(loaded.at("closed").info.low_spread_neurons == 2);
  CHECK(loaded.at("blk.3").info.low_spread_neurons == 0);
  // Written before the key existed: the supports were closed.
  file.metadata.erase("act.bounds.blk.12.post_attn_norm");
  loaded = act::maps_from_safetensors(file, "mem");
  CHECK(std::get<act::affine_map<float>>(loaded.at("blk.12.post_attn_norm").map).bounds == act::support_bounds::closed);
  CHECK(load_error([](act::safetensors_file& f) {
          f.metadata["act.bounds.blk.12.post_attn_norm"] = "half-open";
        }).find("act.bounds.blk.12.post_attn_norm is 'half-open'") != std::string::npos);
  CHECK(load_error([](act::safetensors_file& f) {
          f.metadata["act.low_spread.blk.3"] = "-1";
        }).find("act.low_spread.blk.3") != std::string::npos);
}
