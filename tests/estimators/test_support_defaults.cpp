// One default support per method: the registry's is the estimator's, bounded ones are open.
#include <act/estimators/registry.hpp>

#include <doctest/doctest.h>

TEST_CASE("every method's default support is its options' default, bounded ones open") {
  for (const act::method_info& m : act::methods()) {
    CAPTURE(m.name);
    const act::support expected = m.name == "linear" || m.name == "gaussian" || m.name == "quantile"
                                      ? act::support::min_max()
                                      : act::support::unbounded();
    CHECK(m.default_support.to_string() == expected.to_string());
    CHECK(m.default_support.bounds == act::support_bounds::open);
  }
}

TEST_CASE("a post-ReLU neuron: exact zeros at the source minimum stay put under open bounds, move under closed") {
  // Half the source activations are exact zeros (the minimum); the target is shifted up.
  Eigen::MatrixXf a(8, 1), b(8, 1);
  a << 0, 0, 0, 0, 1, 2, 3, 4;
  b << 1, 1, 1, 1, 2, 3, 4, 5;
  for (const char* method : {"linear", "gaussian"}) {
    CAPTURE(method);
    act::fit_settings settings;
    const auto open = std::get<act::affine_map<float>>(act::fit(method, a, b, settings).map);
    CHECK(open.bounds == act::support_bounds::open);
    CHECK(open.transport(0, 0.0f) == 0.0f);  // the reference's lo < a < hi
    CHECK(open.transport(0, 2.0f) != 2.0f);
    settings.bounds = act::support_bounds::closed;
    const auto closed = std::get<act::affine_map<float>>(act::fit(method, a, b, settings).map);
    CHECK(closed.bounds == act::support_bounds::closed);
    CHECK(closed.transport(0, 0.0f) != 0.0f);
  }
}

TEST_CASE("the registry marks the methods that pair source and target rows, and they refuse unequal counts") {
  const Eigen::MatrixXd a = Eigen::MatrixXd::Random(6, 2), b = Eigen::MatrixXd::Random(5, 2);
  for (const act::method_info& m : act::methods()) {
    CAPTURE(m.name);
    CHECK(m.paired == (m.name == "pca" || m.name == "pca_uncentred"));
    if (m.paired) CHECK_THROWS_AS(act::fit(m.name, a, b), act::shape_error);
  }
}
