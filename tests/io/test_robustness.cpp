// documented behaviour on degenerate numbers: every estimator refuses NaN, +Inf and -Inf samples
// and empty inputs with an error naming the argument; applying maps loaded from a file leaves NaN
// activations bit-identical (payload included) in every buffer type.
#include <act/estimators/actadd.hpp>
#include <act/estimators/caa.hpp>
#include <act/estimators/gaussian_act.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.hpp"

namespace {

using Eigen::MatrixXf;

MatrixXf samples(Eigen::Index n, Eigen::Index d, float shift) {
  MatrixXf m(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j) m(i, j) = shift + 0.1f * static_cast<float>((i * 7 + j * 3) % 11);
  return m;
}

/// The checks every estimator must pass, whatever its method.
template <class Estimator>
void refuses_degenerate_input(const Estimator& est) {
  const MatrixXf a = samples(20, 4, 0.0f), b = samples(15, 4, 2.0f);
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    INFO("value " << bad);
    MatrixXf a_bad = a, b_bad = b;
    a_bad(7, 2) = bad;
    b_bad(3, 1) = bad;
    CHECK_THROWS_WITH_AS(est.fit(a_bad, b), doctest::Contains("source: non-finite value"), act::non_finite_error);
    CHECK_THROWS_WITH_AS(est.fit(a, b_bad), doctest::Contains("target: non-finite value"), act::non_finite_error);
    CHECK_THROWS_WITH_AS(est.fit(a_bad, b), doctest::Contains("row 7, neuron 2"), act::non_finite_error);
  }
  CHECK_THROWS_WITH_AS(est.fit(MatrixXf(0, 4), b), doctest::Contains("source"), act::invalid_argument);
  CHECK_THROWS_WITH_AS(est.fit(a, MatrixXf(0, 4)), doctest::Contains("target"), act::invalid_argument);
  CHECK_THROWS_AS(est.fit(MatrixXf(0, 0), MatrixXf(0, 0)), act::invalid_argument);
}

template <class T>
bool same_bits(const T& x, const T& y) {
  return std::memcmp(&x, &y, sizeof(T)) == 0;
}

/// A bounded and an unbounded map, saved and loaded back as a user would receive them.
act::map_set loaded_maps() {
  act::map_set maps;
  auto bounded = act::affine_map<float>::identity(3);
  bounded.omega << 2.0f, 0.5f, -1.0f;
  bounded.beta << 1.0f, 0.0f, 3.0f;
  bounded.lower = Eigen::ArrayXf::Constant(3, -10.0f);
  bounded.upper = Eigen::ArrayXf::Constant(3, 10.0f);
  auto unbounded = bounded;
  unbounded.lower.resize(0);
  unbounded.upper.resize(0);
  maps.insert("bounded", bounded, {});
  maps.insert("unbounded", unbounded, {});
  const auto bytes = act::serialize_safetensors(act::maps_to_safetensors(maps));
  return act::maps_from_safetensors(act::parse_safetensors(bytes.data(), bytes.size(), "maps"), "maps");
}

template <class T>
void nan_passes_through() {
  const act::map_set maps = loaded_maps();
  for (const char* site : {"bounded", "unbounded"}) {
    INFO(site);
    // NaN with a payload and its negative, next to ordinary values the map must move.
    float quiet;
    const std::uint32_t payload = 0x7fc01234u;
    std::memcpy(&quiet, &payload, 4);
    std::vector<T> buf = {T(1.0f), T(quiet), T(-quiet), T(std::numeric_limits<float>::quiet_NaN()), T(2.0f), T(0.5f)};
    const std::vector<T> before = buf;
    CHECK(maps(site, act::view(buf.data(), 2, 3)));
    for (std::size_t i : {1u, 2u, 3u}) CHECK(same_bits(buf[i], before[i]));
    CHECK(static_cast<float>(buf[0]) != 1.0f);  // moved: proves the map ran on this buffer
  }
}

}  // namespace

TEST_CASE("estimators refuse NaN, +Inf, -Inf and empty samples, naming the argument") {
  SUBCASE("linear") { refuses_degenerate_input(act::linear_act{}); }
  SUBCASE("mean") { refuses_degenerate_input(act::mean_act{}); }
  SUBCASE("gaussian") { refuses_degenerate_input(act::gaussian_act{}); }
  SUBCASE("actadd") { refuses_degenerate_input(act::actadd{}); }
  SUBCASE("caa") { refuses_degenerate_input(act::caa{}); }
}

TEST_CASE("Linear-AcT needs two samples per side; a single sample is an error, not a NaN map") {
  const MatrixXf a = samples(20, 4, 0.0f);
  CHECK_THROWS_WITH_AS(act::linear_act{}.fit(samples(1, 4, 0.0f), a), doctest::Contains("source: needs at least 2"),
                       act::invalid_argument);
  CHECK_THROWS_WITH_AS(act::linear_act{}.fit(a, samples(1, 4, 0.0f)), doctest::Contains("target: needs at least 2"),
                       act::invalid_argument);
}

TEST_CASE("maps loaded from a file leave NaN activations bit-identical") {
  SUBCASE("float") { nan_passes_through<float>(); }
  SUBCASE("double") { nan_passes_through<double>(); }
  SUBCASE("half") { nan_passes_through<Eigen::half>(); }
  SUBCASE("bfloat16") { nan_passes_through<Eigen::bfloat16>(); }
}

TEST_CASE("save_maps into an unwritable folder throws and leaves nothing, also when run as root") {
  act_test::scratch_dir dir;
  const std::string locked = dir.file("locked");
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  REQUIRE(::mkdir(locked.c_str(), 0555) == 0);
  const act::map_set maps = loaded_maps();
  // Root ignores folder permissions, so the write runs in a child that gives root up first.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && ::setuid(65534) != 0) ::_exit(3);
    try {
      act::save_maps(locked + "/m.safetensors", maps);
    } catch (const act::io_error& e) {
      ::_exit(std::strstr(e.what(), "m.safetensors") != nullptr ? 0 : 2);
    } catch (...) {
      ::_exit(4);
    }
    ::_exit(1);  // the write succeeded: the folder was not unwritable
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ::chmod(locked.c_str(), 0755);
  CHECK(std::filesystem::is_empty(locked));
}

TEST_CASE("save_maps that fails midway keeps the previous map file and leaves no temporary file") {
  act_test::scratch_dir dir;
  const std::string path = dir.file("m.safetensors");
  act::save_maps(path, loaded_maps());
  act::map_set big;
  big.insert("wide", act::affine_map<float>::identity(100000), {});
  // A file-size limit makes write() fail partway, like a full disk; SIGXFSZ ignored to get EFBIG instead.
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limit = old_limit;
  limit.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  bool threw = false;
  try {
    act::save_maps(path, big);
  } catch (const act::io_error&) {
    threw = true;
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK(threw);
  CHECK(dir.entries() == std::vector<std::string>{"m.safetensors"});
  CHECK(act::load_maps(path).sites() == std::vector<std::string>{"bounded", "unbounded"});
}
