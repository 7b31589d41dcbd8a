/// toy_diffusion_train: trains the toy denoiser and the judge classifier from scratch.
///   toy_diffusion_train [--out-dir DIR] [--steps N] [--classifier-steps N] [--seed S]
/// Deterministic for a seed (one thread). Writes DIR/denoiser.safetensors and DIR/classifier.safetensors.
#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "trainer.hpp"
#include "weights.hpp"

int main(int argc, char** argv) {
  using namespace toy_diffusion;
  std::string out_dir = "examples/toy_diffusion/weights";
  train_options den, cls;
  den.steps = 3000;
  cls.steps = 1500;
  cls.batch = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr,
                   "usage: toy_diffusion_train [--out-dir DIR] [--steps N] [--classifier-steps N] [--seed S]\n");
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--out-dir")
      out_dir = v;
    else if (a == "--steps")
      den.steps = std::stoi(v);
    else if (a == "--classifier-steps")
      cls.steps = std::stoi(v);
    else if (a == "--seed")
      den.seed = cls.seed = std::stoull(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    classifier<float> judge;
    cls.progress = [](int s, double l) {
      fmt::print("classifier step {:5d}  loss {:.4f}\n", s, l);
      std::fflush(stdout);
    };
    const double cls_seconds = train_classifier(judge, cls);
    const auto [shape_acc, style_acc] = classifier_accuracy(judge, 2000);
    fmt::print("classifier: {:.1f} s, held-out accuracy shape {:.3f}, style {:.3f}\n", cls_seconds, shape_acc,
               style_acc);
    save_classifier(out_dir + "/classifier.safetensors", judge);

    denoiser<float> model;
    fmt::print("denoiser: {} parameters\n", model.params().size());
    den.progress = [](int s, double l) {
      fmt::print("denoiser step {:5d}  loss {:.4f}\n", s, l);
      std::fflush(stdout);
    };
    const double den_seconds = train_denoiser(model, den);
    fmt::print("denoiser: {:.1f} s\n", den_seconds);
    save_denoiser(out_dir + "/denoiser.safetensors", model);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_diffusion_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
