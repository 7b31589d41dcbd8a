// The spread floor: Gaussian- and Mean-AcT leave a neuron unchanged unless both its source and its target
// sample sd exceed min_std (the reference's rule); Linear-AcT gives a near-constant source the mean shift.
// Below the floor a neuron is flagged in the diagnostics, and map files mark it.
#include <act/estimators/gaussian_act.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/estimators/registry.hpp>
#include <act/io/map_file.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

namespace {

// Neuron 0: source sd 3e-5 around 1.5 (the audit's case); neuron 1: an ordinary neuron; target sd 1 on both.
struct samples {
  Eigen::MatrixXd a{200, 2}, b{200, 2};
  samples() {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> z;
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      a(i, 0) = 1.5 + 3e-5 * z(rng);
      a(i, 1) = z(rng);
      b(i, 0) = 2.0 + z(rng);
      b(i, 1) = 2.0 + z(rng);
    }
  }
};

// Neuron 0: near-constant target (sd 3e-5); neuron 1: near-constant source; neuron 2: constant target;
// neuron 3: ordinary; neuron 4: both sides just above the floor (sd 2e-4).
struct four_cases {
  Eigen::MatrixXd a{150, 5}, b{150, 5};
  four_cases() {
    std::mt19937_64 rng(9);
    std::normal_distribution<double> z;
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      a(i, 0) = 0.5 + z(rng);
      b(i, 0) = 4.0 + 3e-5 * z(rng);
      a(i, 1) = -2.0 + 3e-5 * z(rng);
      b(i, 1) = 1.0 + 2.0 * z(rng);
      a(i, 2) = z(rng);
      b(i, 2) = 7.0;
      a(i, 3) = 1.0 + 0.5 * z(rng);
      b(i, 3) = -1.0 + 2.0 * z(rng);
      a(i, 4) = 2e-4 * z(rng);
      b(i, 4) = 3.0 + 2e-4 * z(rng);
    }
  }
};

// The reference's rule stated on its own: sample sd (divisor n - 1) of each side; transport only when both
// exceed min_std, else the identity (omega 1, beta 0). `gaussian` picks sd_B / sd_A, else omega 1.
std::pair<double, double> reference_map(const Eigen::VectorXd& a, const Eigen::VectorXd& b, bool gaussian,
                                        double min_std) {
  const auto sd = [](const Eigen::VectorXd& x) {
    return std::sqrt((x.array() - x.mean()).square().sum() / static_cast<double>(x.size() - 1));
  };
  if (!(sd(a) > min_std && sd(b) > min_std)) return {1.0, 0.0};
  const double omega = gaussian ? sd(b) / sd(a) : 1.0;
  return {omega, b.mean() - omega * a.mean()};
}

std::vector<int> flags_of(const Eigen::Array<bool, Eigen::Dynamic, 1>& flags) {
  return std::vector<int>(flags.data(), flags.data() + flags.size());
}

}  // namespace

TEST_CASE_TEMPLATE("gaussian_act and mean_act follow the reference's rule: both spreads above min_std, else unchanged",
                   Estimator, act::gaussian_act, act::mean_act) {
  const four_cases s;
  const bool gaussian = std::is_same_v<Estimator, act::gaussian_act>;
  const auto fit = Estimator{}.fit(s.a, s.b);
  for (Eigen::Index j = 0; j < s.a.cols(); ++j) {
    CAPTURE(j);
    const auto [omega, beta] = reference_map(s.a.col(j), s.b.col(j), gaussian, 1e-4);
    CHECK(fit.map.omega[j] == doctest::Approx(omega).epsilon(1e-10));
    CHECK(fit.map.beta[j] == doctest::Approx(beta).epsilon(1e-10));
  }
  // Near-constant target and near-constant source: unchanged, flagged; the others transported.
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == 0.0);
  CHECK(fit.map.omega[1] == 1.0);
  CHECK(fit.map.beta[1] == 0.0);
  CHECK(fit.map.beta[2] == 0.0);
  CHECK(flags_of(fit.diagnostics.low_spread) == std::vector<int>{1, 1, 1, 0, 0});
  CHECK(fit.map.beta[3] != 0.0);
  CHECK(fit.map.beta[4] != 0.0);
  // A higher floor catches neuron 4 too, as the reference's would.
  Estimator high;
  high.options.min_std = 1e-3;
  const auto strict = high.fit(s.a, s.b);
  CHECK(strict.diagnostics.low_spread[4]);
  CHECK(strict.map.beta[4] == 0.0);
  CHECK(reference_map(s.a.col(4), s.b.col(4), gaussian, 1e-3) == std::pair{1.0, 0.0});
}

TEST_CASE("linear_act keeps its source-only floor: a near-constant target is transported (omega ~ 0), not flagged") {
  const four_cases s;
  const auto fit = act::linear_act{}.fit(s.a, s.b);
  CHECK_FALSE(fit.diagnostics.low_spread[0]);
  CHECK(std::abs(fit.map.omega[0]) < 1e-3);
  CHECK(fit.map.beta[0] == doctest::Approx(4.0).epsilon(1e-3));
  CHECK(fit.diagnostics.low_spread[1]);  // near-constant source: the mean shift
  CHECK(fit.map.omega[1] == 1.0);
  CHECK(fit.map.beta[1] == doctest::Approx(s.b.col(1).mean() - s.a.col(1).mean()));
}

TEST_CASE("map files mark the neurons below the floor, and files without the marks still load") {
  const four_cases s;
  const auto fit = act::gaussian_act{}.fit(s.a, s.b);
  act::map_set maps;
  maps.insert("blk.0", fit.map,
              {"gaussian", fit.source_samples, fit.target_samples, "mean", "q0_100",
               act::low_spread_count(fit.diagnostics), fit.diagnostics.low_spread});
  const auto plain = act::linear_act{}.fit(s.a.rightCols(2), s.b.rightCols(2));
  maps.insert("blk.1", plain.map, {"linear", 150, 150, "mean", "q0_100", 0, {}});
  auto file = act::maps_to_safetensors(maps);
  const auto* tensor = [&]() -> const act::safetensors_tensor* {
    for (const auto& t : file.tensors)
      if (t.name == "blk.0.low_spread") return &t;
    return nullptr;
  }();
  REQUIRE(tensor != nullptr);
  CHECK(tensor->to_floats() == std::vector<float>{1, 1, 1, 0, 0});
  CHECK(file.metadata.at("act.low_spread.blk.0") == "3");
  for (const auto& t : file.tensors) CHECK(t.name != "blk.1.low_spread");  // nothing flagged, nothing written

  const auto loaded = act::maps_from_safetensors(file, "mem");
  CHECK(flags_of(loaded.at("blk.0").info.low_spread) == std::vector<int>{1, 1, 1, 0, 0});
  CHECK(loaded.at("blk.0").info.low_spread_neurons == 3);
  CHECK(loaded.at("blk.1").info.low_spread.size() == 0);

  // Written before the marks existed: the count alone.
  auto old = file;
  old.tensors.erase(std::remove_if(old.tensors.begin(), old.tensors.end(),
                                   [](const auto& t) { return t.name == "blk.0.low_spread"; }),
                    old.tensors.end());
  const auto from_old = act::maps_from_safetensors(old, "old");
  CHECK(from_old.at("blk.0").info.low_spread_neurons == 3);
  CHECK(from_old.at("blk.0").info.low_spread.size() == 0);

  // Malformed marks are refused with the tensor's name.
  const auto refused = [&](auto edit) {
    auto bad = file;
    for (auto& t : bad.tensors)
      if (t.name == "blk.0.low_spread") edit(bad, t);
    try {
      (void)act::maps_from_safetensors(bad, "bad.safetensors");
    } catch (const act::format_error& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  CHECK(refused([](auto&, act::safetensors_tensor& t) {
          const float v[5] = {1, 0.5f, 1, 0, 0};
          t = act::safetensors_tensor::from_floats(t.name, {5}, v);
        }) == "bad.safetensors: tensor 'blk.0.low_spread' holds 0.5 at neuron 1, expected 0 or 1");
  CHECK(refused([](auto&, act::safetensors_tensor& t) {
          const float v[4] = {1, 1, 1, 0};
          t = act::safetensors_tensor::from_floats(t.name, {4}, v);
        }).find("'blk.0.low_spread' has shape [4] but the site has d = 5") != std::string::npos);
  CHECK(refused([](act::safetensors_file& f, auto&) { f.metadata["act.low_spread.blk.0"] = "2"; }) ==
        "bad.safetensors: tensor 'blk.0.low_spread' marks 3 neuron(s) but act.low_spread.blk.0 counts 2");

  // A map_info whose flags do not fit its map is refused when saving.
  act::map_set wrong;
  wrong.insert("w", fit.map,
               {"gaussian", 150, 150, "mean", "q0_100", 1, Eigen::Array<bool, Eigen::Dynamic, 1>::Ones(5)});
  CHECK_THROWS_AS(act::maps_to_safetensors(wrong), act::invalid_argument);
}

TEST_CASE("gaussian_act: source sd 3e-5 gets the identity, not omega ~ 3e4, and is flagged") {
  const samples s;
  const auto fit = act::gaussian_act{}.fit(s.a, s.b);
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == 0.0);
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK_FALSE(fit.diagnostics.low_spread[1]);
  CHECK(act::low_spread_count(fit.diagnostics) == 1);
  CHECK(fit.map.omega[1] != 1.0);
  // Without the floor (min_std = 0) the ratio is what the audit saw.
  act::gaussian_act raw;
  raw.options.min_std = 0;
  CHECK(raw.fit(s.a, s.b).map.omega[0] > 1e4);
}

TEST_CASE("mean_act: source sd at or below min_std gets the identity (the reference's rule)") {
  const samples s;
  const auto fit = act::mean_act{}.fit(s.a, s.b);
  CHECK(fit.map.beta[0] == 0.0);
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK(fit.map.beta[1] == doctest::Approx(s.b.col(1).mean() - s.a.col(1).mean()));
  act::mean_act loose;
  loose.options.min_std = 0;
  CHECK(loose.fit(s.a, s.b).map.beta[0] == doctest::Approx(s.b.col(0).mean() - s.a.col(0).mean()));
}

TEST_CASE("linear_act: below the floor no slope is estimated: the mean shift, flagged") {
  const samples s;
  const auto fit = act::linear_act{}.fit(s.a, s.b);
  CHECK(fit.map.omega[0] == 1.0);
  CHECK(fit.map.beta[0] == doctest::Approx(s.b.col(0).mean() - s.a.col(0).mean()));
  CHECK(fit.diagnostics.low_spread[0]);
  CHECK_FALSE(fit.diagnostics.low_spread[1]);
  act::linear_act raw;
  raw.options.min_std = 0;
  CHECK(raw.fit(s.a, s.b).map.omega[0] > 100.0);
}

TEST_CASE("min_std through the registry, and bad values refused") {
  const samples s;
  act::fit_settings settings;
  settings.min_std = 0;
  CHECK(std::get<act::affine_map<double>>(act::fit("gaussian", s.a, s.b, settings).map).omega[0] > 1e4);
  settings.min_std = 1e-4;
  const auto fit = act::fit("gaussian", s.a, s.b, settings);
  CHECK(act::low_spread_count(fit.diagnostics) == 1);
  // Methods without a floor flag nothing.
  CHECK(act::low_spread_count(act::fit("caa", s.a, s.b).diagnostics) == 0);
  CHECK(act::method("linear").has_min_std);
  CHECK_FALSE(act::method("caa").has_min_std);
  act::gaussian_act bad;
  bad.options.min_std = -1;
  CHECK_THROWS_WITH_AS(bad.fit(s.a, s.b), doctest::Contains("min_std"), act::invalid_argument);
}
