#include <act/estimators/linear_act.hpp>
#include <act/estimators/registry.hpp>
#include <act/sites/causal.hpp>

#include <random>

#include <doctest/doctest.h>

namespace {

// A two-layer network, one neuron wide: h1 = u (site "l1"), h2 = h1^2 (site "l2").
// Hooks at each site may change the activations, as in a real forward pass.
struct tiny_net {
  Eigen::VectorXf source_inputs, target_inputs;

  Eigen::MatrixXf run(const Eigen::VectorXf& u, const act::map_set& maps, const std::string& site) const {
    Eigen::MatrixXf h1 = u;
    maps("l1", act::view(h1));
    if (site == "l1") return h1;
    Eigen::MatrixXf h2 = h1.array().square().matrix();
    maps("l2", act::view(h2));
    return h2;
  }

  // Only the source inputs are steered: the target's activations are what the source should become.
  act::site_samples collect(const std::string& site, const act::map_set& maps, act::pooling) const {
    return {run(source_inputs, maps, site), run(target_inputs, act::map_set{}, site)};
  }
};

tiny_net make_net() {
  std::mt19937 rng(5);
  std::normal_distribution<float> z;
  tiny_net net{Eigen::VectorXf(4000), Eigen::VectorXf(4000)};
  for (Eigen::Index i = 0; i < 4000; ++i) {
    net.source_inputs[i] = 1.0f + 0.2f * z(rng);  // source: around 1
    net.target_inputs[i] = 3.0f + 0.5f * z(rng);  // target: around 3
  }
  return net;
}

}  // namespace

TEST_CASE("causal estimation sees earlier maps; simultaneous does not") {
  const auto net = make_net();
  act::linear_act est({act::support::unbounded()});
  const auto collect = [&](const std::string& site, const act::map_set& maps, act::pooling p) {
    return net.collect(site, maps, p);
  };
  const auto causal = act::fit_causal({"l1", "l2"}, est, collect);
  const auto simultaneous = act::fit_simultaneous({"l1", "l2"}, est, collect);

  // Layer 1 is fitted from the same unsteered activations either way.
  const auto& c1 = std::get<act::affine_map<float>>(causal.at("l1").map);
  const auto& s1 = std::get<act::affine_map<float>>(simultaneous.at("l1").map);
  CHECK(c1.omega[0] == s1.omega[0]);
  CHECK(c1.beta[0] == s1.beta[0]);

  // After transporting layer 1, layer 2's source already matches its target: the causal map there is
  // close to the identity, while the simultaneous one (fitted on u^2 around 1) is far from it.
  const auto& c2 = std::get<act::affine_map<float>>(causal.at("l2").map);
  const auto& s2 = std::get<act::affine_map<float>>(simultaneous.at("l2").map);
  CHECK(c2.omega[0] == doctest::Approx(1.0).epsilon(0.05));
  CHECK(std::abs(c2.beta[0]) < 0.5);
  CHECK(s2.omega[0] > 3.0);
  CHECK(causal.at("l2").info.method == "linear");
  CHECK(causal.at("l2").info.source_samples == 4000);

  // End to end, the causal maps put the source's output where the target's is; the simultaneous
  // ones overshoot, because layer 2's map was fitted for inputs that layer 1 no longer produces.
  const auto target_out = net.run(net.target_inputs, act::map_set{}, "l2");
  const float target_mean = target_out.mean();
  const float causal_mean = net.run(net.source_inputs, causal, "l2").mean();
  const float simultaneous_mean = net.run(net.source_inputs, simultaneous, "l2").mean();
  CHECK(std::abs(causal_mean - target_mean) < 0.05f * target_mean);
  CHECK(std::abs(simultaneous_mean - target_mean) > 0.5f * target_mean);
}

TEST_CASE("the driver passes pooling through and rejects repeated sites") {
  const auto net = make_net();
  act::pooling seen = act::pooling::mean;
  const auto collect = [&](const std::string& site, const act::map_set& maps, act::pooling p) {
    seen = p;
    return net.collect(site, maps, p);
  };
  act::causal_options opts;
  opts.pooling = act::pooling::max;
  opts.strength = 0.5;
  const auto maps = act::fit_causal({"l1"}, act::linear_act{}, collect, opts);
  CHECK(seen == act::pooling::max);
  CHECK(maps.at("l1").info.pooling == "max");
  CHECK(maps.strength() == 0.5);
  CHECK_THROWS_WITH_AS(act::fit_causal({"l1", "l1"}, act::linear_act{}, collect), doctest::Contains("listed twice"),
                       act::invalid_argument);
}

TEST_CASE("the driver records what act::fit records: support label and low-spread neurons") {
  const auto net = make_net();
  // Two neurons: the first constant in the source (low spread), the second varying.
  const auto collect = [&](const std::string&, const act::map_set&, act::pooling) {
    act::site_samples s{Eigen::MatrixXf(4000, 2), Eigen::MatrixXf(4000, 2)};
    s.source.col(0).setConstant(1.0f);
    s.source.col(1) = net.source_inputs;
    s.target.col(0) = net.target_inputs;
    s.target.col(1) = net.target_inputs;
    return s;
  };
  act::fit_settings settings;
  settings.support = act::support::parse("q5_95");
  const auto by_name = act::fit_causal({"l1"}, act::method_estimator("linear", settings), collect);
  const auto fit = act::fit("linear", collect("l1", {}, act::pooling::mean).source,
                            collect("l1", {}, act::pooling::mean).target, settings);
  CHECK(by_name.at("l1").info.support == "q5_95");
  CHECK(by_name.at("l1").info.low_spread_neurons == act::low_spread_count(fit.diagnostics));
  CHECK(by_name.at("l1").info.low_spread_neurons == 1);
  const auto direct = act::fit_causal({"l1"}, act::linear_act({act::support::parse("q0_100")}), collect);
  CHECK(direct.at("l1").info.support == "q0_100");
  CHECK(direct.at("l1").info.low_spread_neurons == 1);
}
