// Components of the toy diffusion example: gradients, data determinism, PNG bytes, weights round trip.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "classifier.hpp"
#include "dataset.hpp"
#include "flow.hpp"
#include "held_out.hpp"
#include "model.hpp"
#include "png.hpp"
#include "weights.hpp"

using namespace toy_diffusion;

namespace {

/// Central-difference check of `grads` (analytic) against loss(params) on `count` spread-out entries.
template <class Loss>
void check_gradients(std::vector<double>& params, const std::vector<double>& grads, Loss loss, int count) {
  const std::size_t stride = std::max<std::size_t>(1, params.size() / static_cast<std::size_t>(count));
  int checked = 0;
  for (std::size_t k = 3; k < params.size(); k += stride) {
    const double keep = params[k], h = 1e-5;
    params[k] = keep + h;
    const double up = loss();
    params[k] = keep - h;
    const double down = loss();
    params[k] = keep;
    const double numeric = (up - down) / (2 * h);
    CAPTURE(k);
    CHECK(grads[k] == doctest::Approx(numeric).epsilon(1e-4).scale(1e-3));
    ++checked;
  }
  CHECK(checked >= count / 2);
}

}  // namespace

TEST_CASE("denoiser gradients match finite differences on a tiny config") {
  denoiser_config cfg;
  cfg.size = 8;
  cfg.c1 = 4;
  cfg.c2 = 6;
  cfg.groups = 2;
  cfg.embed = 5;
  cfg.freqs = 2;
  denoiser<double> model(cfg, 11);
  // Random (not initial) values everywhere so no parameter sits at a special point.
  rng r(5);
  for (auto& p : model.params()) p = 0.4 * r.normal();
  fmap<double> data(3, 1, 8, 8), noise(3, 1, 8, 8);
  for (auto& v : data.v) v = r.uniform(-1, 1);
  for (auto& v : noise.v) v = r.normal();
  const std::vector<double> t = {0.1, 0.5, 0.9};
  const std::vector<prompt> prompts = {{0, 1}, {2, style_none}, {3, 0}};
  std::vector<double> grads(model.params().size(), 0.0);
  flow_loss(model, data, noise, t, prompts, &grads);
  check_gradients(
      model.params(), grads, [&] { return flow_loss<double>(model, data, noise, t, prompts, nullptr); }, 300);
}

TEST_CASE("classifier gradients match finite differences") {
  classifier_config cfg;
  cfg.size = 8;
  cfg.c1 = 3;
  cfg.c2 = 4;
  cfg.hidden = 5;
  classifier<double> model(cfg, 3);
  rng r(8);
  for (auto& p : model.params()) p = 0.4 * r.normal();
  fmap<double> x(4, 1, 8, 8);
  for (auto& v : x.v) v = r.uniform(-1, 1);
  const std::vector<int> shapes = {0, 1, 2, 3}, styles = {3, 2, 1, 0};
  std::vector<double> grads(model.params().size(), 0.0);
  model.loss(x, shapes, styles, &grads);
  check_gradients(
      model.params(), grads, [&] { return model.loss(x, shapes, styles, nullptr); }, 200);
}

TEST_CASE("the data set is a pure function of (seed, index)") {
  const example a = dataset_example(42, 17), b = dataset_example(42, 17), c = dataset_example(42, 18);
  CHECK(a.pixels == b.pixels);
  CHECK(a.p.shape == b.p.shape);
  CHECK(a.p.style == b.p.style);
  CHECK(a.pixels != c.pixels);
  for (float v : a.pixels) CHECK((v >= -1.0f && v <= 1.0f));
  // Every shape and style shows up, and "none" prompts get mostly non-striped images.
  int striped_none = 0, none = 0;
  std::vector<int> shapes(n_shapes, 0), styles(n_styles, 0);
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const example e = dataset_example(1, i);
    ++shapes[static_cast<std::size_t>(e.p.shape)];
    ++styles[static_cast<std::size_t>(e.drawn_style)];
    if (e.p.style == style_none) {
      ++none;
      striped_none += e.drawn_style == style_striped;
    }
  }
  for (int s : shapes) CHECK(s > 300);
  for (int s : styles) CHECK(s > 200);
  CHECK(static_cast<double>(striped_none) / none < 0.2);
}

TEST_CASE("PNG writer produces a valid file with correct CRCs and Adler-32") {
  // Known values: CRC-32 of "123456789" is 0xCBF43926; Adler-32 of "Wikipedia" is 0x11E60398.
  const std::string check = "123456789", wiki = "Wikipedia";
  CHECK(crc32(reinterpret_cast<const unsigned char*>(check.data()), check.size()) == 0xCBF43926U);
  CHECK(adler32(reinterpret_cast<const unsigned char*>(wiki.data()), wiki.size()) == 0x11E60398U);

  const int w = 300, h = 250;  // > 65535 raw bytes: several stored blocks
  std::vector<unsigned char> px(static_cast<std::size_t>(w * h));
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>(i * 7);
  const auto bytes = encode_png_gray(px, w, h);
  const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(bytes.size() > 8);
  CHECK(std::equal(sig, sig + 8, bytes.begin()));
  auto u32 = [&](std::size_t at) {
    return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
           (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
  };
  // Walk the chunks: each CRC covers type + data; IDAT's zlib stream inflates (stored) to the scanlines.
  std::size_t at = 8;
  std::vector<std::string> types;
  std::vector<unsigned char> zlib;
  while (at < bytes.size()) {
    REQUIRE(at + 12 <= bytes.size());
    const std::uint32_t len = u32(at);
    REQUIRE(at + 12 + len <= bytes.size());
    const std::string type(bytes.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           bytes.begin() + static_cast<std::ptrdiff_t>(at + 8));
    types.push_back(type);
    CHECK(crc32(bytes.data() + at + 4, len + 4) == u32(at + 8 + len));
    if (type == "IHDR") {
      CHECK(u32(at + 8) == static_cast<std::uint32_t>(w));
      CHECK(u32(at + 12) == static_cast<std::uint32_t>(h));
    }
    if (type == "IDAT")
      zlib.insert(zlib.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at + 8),
                  bytes.begin() + static_cast<std::ptrdiff_t>(at + 8 + len));
    at += 12 + len;
  }
  CHECK(at == bytes.size());
  CHECK(types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  REQUIRE(zlib.size() > 6);
  CHECK((zlib[0] * 256 + zlib[1]) % 31 == 0);
  std::vector<unsigned char> raw;
  std::size_t z = 2;
  for (bool last = false; !last;) {
    REQUIRE(z + 5 <= zlib.size());
    last = (zlib[z] & 1) != 0;
    CHECK((zlib[z] >> 1) == 0);  // stored block
    const unsigned len = zlib[z + 1] | (unsigned{zlib[z + 2]} << 8), nlen = zlib[z + 3] | (unsigned{zlib[z + 4]} << 8);
    CHECK((len ^ nlen) == 0xFFFFU);
    raw.insert(raw.end(), zlib.begin() + static_cast<std::ptrdiff_t>(z + 5),
               zlib.begin() + static_cast<std::ptrdiff_t>(z + 5 + len));
    z += 5 + len;
  }
  REQUIRE(z + 4 == zlib.size());
  const std::uint32_t adler = (std::uint32_t{zlib[z]} << 24) | (std::uint32_t{zlib[z + 1]} << 16) |
                              (std::uint32_t{zlib[z + 2]} << 8) | std::uint32_t{zlib[z + 3]};
  CHECK(adler == adler32(raw.data(), raw.size()));
  REQUIRE(raw.size() == static_cast<std::size_t>((w + 1) * h));
  for (int y = 0; y < h; ++y) {
    CHECK(raw[static_cast<std::size_t>(y * (w + 1))] == 0);
    CHECK(std::equal(px.begin() + y * w, px.begin() + (y + 1) * w, raw.begin() + y * (w + 1) + 1));
  }
}

TEST_CASE("weights round-trip through safetensors") {
  denoiser_config cfg;
  cfg.c1 = 4;
  cfg.c2 = 8;
  cfg.groups = 2;
  cfg.embed = 6;
  const denoiser<float> a(cfg, 3);
  const std::string path = "toy_diffusion_roundtrip.safetensors";
  save_denoiser(path, a);
  const denoiser<float> b = load_denoiser(path);
  CHECK(b.config().c2 == 8);
  CHECK(a.params() == b.params());
  const classifier<float> c;
  save_classifier(path, c);
  CHECK(load_classifier(path).params() == c.params());
  std::remove(path.c_str());
}

TEST_CASE("sampling is deterministic and hooks fire at every site of every step") {
  denoiser_config cfg;
  cfg.c1 = 4;
  cfg.c2 = 8;
  cfg.groups = 2;
  cfg.embed = 6;
  const denoiser<float> model(cfg, 3);
  const std::vector<prompt> prompts = {{0, 1}, {1, style_none}};
  int calls = 0;
  const step_hook<float> count = [&](std::string_view, int, fmap<float>& acts) {
    ++calls;
    CHECK(acts.n == 2);
  };
  const auto a = sample(model, initial_noise<float>(2, 16, 9), prompts, 3, count);
  const auto b = sample(model, initial_noise<float>(2, 16, 9), prompts, 3);
  CHECK(calls == 3 * n_blocks);
  CHECK(a.v == b.v);
}

TEST_CASE("the experiments' fitting, selection and test images start from different noise") {
  const experiment_seeds seeds;
  const std::vector<std::uint64_t> all = {seeds.fit_source, seeds.fit_target, seeds.selection, seeds.test};
  const int n = 64;
  std::vector<fmap<float>> sets;
  for (const auto seed : all) sets.push_back(initial_noise<float>(n, image_size, seed));
  const std::size_t pixels = static_cast<std::size_t>(image_size) * image_size;
  for (std::size_t a = 0; a < sets.size(); ++a)
    for (std::size_t b = a + 1; b < sets.size(); ++b)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          const float* x = sets[a].image(i);
          const float* y = sets[b].image(j);
          CHECK_FALSE(std::equal(x, x + pixels, y));
        }
}
