// <act/host.hpp> alone, as a host linking act::act_compiled sees it: declarations only, every definition from
// the library. A call the library does not hold fails to link this test.
#include <act/host.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

// omega = 2, beta = 0.5 on [0, 4] for both neurons: at strength 0.5, x -> 1.5 x + 0.25 inside, exact in every
// type for the values below.
act::affine_map<float> doubling_map() {
  auto m = act::affine_map<float>::identity(2);
  m.omega.setConstant(2.0f);
  m.beta.setConstant(0.5f);
  m.lower.setConstant(2, 0.0f);
  m.upper.setConstant(2, 4.0f);
  return m;
}

// Knots 0 -> 0 and 1 -> 2: T(x) = 2 x between them, x + 1 above, x below.
act::quantile_map<float> stretching_map() {
  act::quantile_map<float> q;
  q.knots_source.resize(2, 2);
  q.knots_target.resize(2, 2);
  q.knots_source << 0.0f, 0.0f, 1.0f, 1.0f;
  q.knots_target << 0.0f, 0.0f, 2.0f, 2.0f;
  return q;
}

template <class T>
std::vector<T> values(std::initializer_list<float> list) {
  std::vector<T> out;
  for (float v : list) out.push_back(static_cast<T>(v));
  return out;
}

template <class T>
void check_steered(const act::map_set& maps) {
  std::vector<T> x = values<T>({1.0f, 8.0f, 2.0f, -1.0f});  // [2 x 2]: 8 and -1 lie outside the support
  CHECK(maps("affine", act::view(x.data(), 2, 2)));
  CHECK(x == values<T>({1.75f, 8.0f, 3.25f, -1.0f}));
  std::vector<T> y = values<T>({0.5f, 3.0f});
  CHECK(maps("quantile", act::view(y.data(), 1, 2)));
  CHECK(y == values<T>({0.75f, 3.5f}));  // at strength 0.5: x + 0.5 (T(x) - x)
  std::vector<T> z = values<T>({1.0f, 1.0f, 1.0f, 1.0f});
  CHECK(maps.masked("affine", act::view(z.data(), 2, 2), std::vector<std::uint8_t>{0, 1}));
  CHECK(z == values<T>({1.0f, 1.0f, 1.75f, 1.75f}));
  CHECK(maps.last_rows("affine", act::view(z.data(), 2, 2), std::vector<Eigen::Index>{1, 1}));
  CHECK(maps.per_row("affine", act::view(z.data(), 2, 2), std::vector<float>{0.0f, 1.0f}));
  CHECK_FALSE(maps("elsewhere", act::view(z.data(), 2, 2)));
}

}  // namespace

TEST_CASE("<act/host.hpp> in compiled mode: load a map file and apply it to every buffer type") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("act-host-" + std::to_string(::getpid()) + ".safetensors")).string();
  {
    act::map_set fitted;
    fitted.insert("affine", doubling_map(), {"linear", 10, 10, "mean", "all"});
    fitted.insert("quantile", stretching_map(), {"quantile", 10, 10, "mean", "all"});
    act::save_maps(path, fitted);
  }
  act::map_set maps = act::load_maps(path);
  std::remove(path.c_str());
  REQUIRE(maps.size() == 2);
  maps.set_strength(0.5);
  check_steered<float>(maps);
  check_steered<double>(maps);
  check_steered<Eigen::half>(maps);
  check_steered<Eigen::bfloat16>(maps);
}
