/// toy_diffusion_experiments: style control and concept negation on the toy diffusion model with
/// channel-spatial transport maps at every block's GroupNorm output, at every denoising step.
///   toy_diffusion_experiments [--json FILE] [--quick] [--png-dir DIR] [--weights-dir DIR]
///   diagnostics: [--concept SHAPE] [--negation-target others|SHAPE] [--negation-support q0_100|all]
///                [--methods m1,m2,...] [--negation-only] (the JSON then holds only those)
/// Methods are act's registry names (act::method_names()); the default is linear,mean,itic,quantile.
///
/// Estimation (documented choices):
/// - Pooling: per image, the spatial mean of each channel (paper, diffusion). One map per
///   (site, denoising step), fitted on the n pooled vectors of that step: the activation statistics
///   change a lot between t = 1 and t = 0, and a per-step map follows them.
/// - Causal (paper Def. 3.2): source and target trajectories advance in lockstep; at step k the
///   source's site s is fitted on activations produced with every earlier map (earlier sites of
///   step k, all sites of earlier steps) already applied at lambda = 1.
/// - Support: induction (style) uses Q_inf for Linear-AcT, mitigation (negation) Q_o = [min, max],
///   as the paper recommends; Mean-AcT and ITI-c are unbounded; non-parametric AcT is defined
///   everywhere (slope-1 extension beyond its knots).
/// - At inference the spatial mean of each channel is transported and the shift added to every
///   position (affine_hook / quantile_hook channel_spatial).
#include <act/estimators/registry.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../common/report.hpp"
#include "classifier.hpp"
#include "flow.hpp"
#include "model.hpp"
#include "png.hpp"
#include "weights.hpp"

namespace {

using namespace toy_diffusion;
using examples_common::json_string;

/// A method the experiments run, by its name in act's registry.
struct compared_method {
  std::string name;
  /// Fitted with the experiment's support (style: unbounded, negation: --negation-support), as the
  /// paper does for Linear-AcT; the others keep the registry's default.
  bool follows_support = false;
};

/// The methods run by default. Quantile maps use 32 knots (from about 256 samples per fit).
const std::vector<compared_method> default_methods = {{"linear", true}, {"mean", false}, {"itic", false}, {"quantile", false}};
constexpr int quantile_knots = 32;

/// A method named on the command line: one of the defaults, or any other registered method with its
/// default support; nullopt for a name act does not know.
std::optional<compared_method> named_method(const std::string& name) {
  for (const auto& m : default_methods)
    if (m.name == name) return m;
  if (act::find_method(name) == nullptr) return std::nullopt;
  return compared_method{name, false};
}

const std::array<double, 5> strengths = {0.0, 0.25, 0.5, 0.75, 1.0};
constexpr int target_style = style_striped;

struct settings {
  int n_fit = 256;   ///< images per source / target set
  int n_eval = 160;  ///< images per strength
  int steps = 20;    ///< Euler steps
  int grid_columns = 8;
  int concept_shape = 0;       ///< circle
  int negation_target = -1;    ///< -1: the other shapes; else that one shape (diagnostic)
  bool negation_bounded = true;
  bool negation_only = false;  ///< skip the style experiment (diagnostics)
  std::vector<compared_method> methods = default_methods;
};

int shape_index(const std::string& name) {
  for (int i = 0; i < n_shapes; ++i)
    if (name == shape_names()[static_cast<std::size_t>(i)]) return i;
  return -1;
}

/// The fitted maps of one method: one per (site, step), affine or quantile.
struct map_bank {
  bool quantile = false;
  std::vector<act::affine_hook<float>> affine;      ///< [site * steps + step]
  std::vector<act::quantile_hook<float>> nonparam;  ///< [site * steps + step]
  int steps = 0;

  void set_strength(double lambda) {
    for (auto& h : affine) h.set_strength(lambda);
    for (auto& h : nonparam) h.set_strength(lambda);
  }
  void apply(int site, int step, fmap<float>& acts) const {
    const std::size_t k = static_cast<std::size_t>(site * steps + step);
    if (quantile)
      nonparam[k].channel_spatial(acts.v.data(), acts.n, acts.c, acts.positions());
    else
      affine[k].channel_spatial(acts.v.data(), acts.n, acts.c, acts.positions());
  }
};

int site_index(std::string_view site) {
  const auto sites = denoiser_sites();
  for (std::size_t i = 0; i < sites.size(); ++i)
    if (sites[i] == site) return static_cast<int>(i);
  throw std::runtime_error("unknown site " + std::string(site));
}

/// Per-image spatial means [n x C] of a feature map.
Eigen::MatrixXf pooled_means(const fmap<float>& acts) {
  Eigen::MatrixXf m(acts.n, acts.c);
  const int p = acts.positions();
  for (int i = 0; i < acts.n; ++i)
    for (int c = 0; c < acts.c; ++c) {
      const float* q = acts.image(i) + static_cast<std::size_t>(c) * p;
      double s = 0;
      for (int k = 0; k < p; ++k) s += q[k];
      m(i, c) = static_cast<float>(s / p);
    }
  return m;
}

/// Pooled target activations at every (site, step) along the target prompts' trajectories.
std::vector<Eigen::MatrixXf> target_means(const denoiser<float>& model, const std::vector<prompt>& prompts, std::uint64_t seed,
                                          int steps) {
  const int n_sites = static_cast<int>(denoiser_sites().size());
  std::vector<Eigen::MatrixXf> out(static_cast<std::size_t>(n_sites * steps));
  fmap<float> x = initial_noise<float>(static_cast<int>(prompts.size()), image_size, seed);
  const step_hook<float> record = [&](std::string_view site, int step, fmap<float>& acts) {
    out[static_cast<std::size_t>(site_index(site) * steps + step)] = pooled_means(acts);
  };
  for (int k = 0; k < steps; ++k) euler_step(model, x, prompts, k, steps, record);
  return out;
}

/// Fits one method's maps causally along the source trajectories (see the file comment).
map_bank fit_maps(const denoiser<float>& model, const compared_method& method, bool bounded, const std::vector<prompt>& source,
                  std::uint64_t seed, const std::vector<Eigen::MatrixXf>& targets, int steps) {
  const int n_sites = static_cast<int>(denoiser_sites().size());
  act::fit_settings settings;
  settings.knots = quantile_knots;
  if (method.follows_support) settings.support = bounded ? act::support::min_max() : act::support::unbounded();
  map_bank bank;
  bank.steps = steps;
  bank.quantile = act::method(method.name).kind == act::map_kind::quantile;
  if (bank.quantile)
    bank.nonparam.resize(static_cast<std::size_t>(n_sites * steps));
  else
    bank.affine.resize(static_cast<std::size_t>(n_sites * steps));
  fmap<float> x = initial_noise<float>(static_cast<int>(source.size()), image_size, seed);
  const step_hook<float> fit_and_apply = [&](std::string_view site, int step, fmap<float>& acts) {
    const std::size_t k = static_cast<std::size_t>(site_index(site) * steps + step);
    const Eigen::MatrixXf a = pooled_means(acts);
    const auto fit = act::fit(method.name, a, targets[k], settings);
    if (bank.quantile)
      bank.nonparam[k] = act::quantile_hook<float>(std::get<act::quantile_map<float>>(fit.map), 1.0);
    else
      bank.affine[k] = act::affine_hook<float>(std::get<act::affine_map<float>>(fit.map), 1.0);
    bank.apply(site_index(site), step, acts);
  };
  for (int k = 0; k < steps; ++k) euler_step(model, x, source, k, steps, fit_and_apply);
  return bank;
}

/// Samples the evaluation prompts with the bank at strength lambda (no maps at lambda = 0).
fmap<float> steered_samples(const denoiser<float>& model, map_bank* bank, double lambda, const std::vector<prompt>& prompts,
                            std::uint64_t seed, int steps) {
  step_hook<float> hook;
  if (bank && lambda != 0.0) {
    bank->set_strength(lambda);
    hook = [bank](std::string_view site, int step, fmap<float>& acts) { bank->apply(site_index(site), step, acts); };
  }
  return sample(model, initial_noise<float>(static_cast<int>(prompts.size()), image_size, seed), prompts, steps, hook);
}

/// Grid: one row per strength, the first `columns` samples, each pixel 3x3, 2-pixel gaps.
void write_grid(const std::string& path, const std::vector<fmap<float>>& rows, int columns) {
  constexpr int scale = 3, gap = 2;
  const int cell = image_size * scale + gap;
  const int width = columns * cell + gap, height = static_cast<int>(rows.size()) * cell + gap;
  std::vector<unsigned char> px(static_cast<std::size_t>(width * height), 128);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (int c = 0; c < columns && c < rows[r].n; ++c) {
      const float* img = rows[r].image(c);
      for (int y = 0; y < image_size * scale; ++y)
        for (int x = 0; x < image_size * scale; ++x) {
          const float v = img[(y / scale) * image_size + x / scale];
          const int gx = gap + c * cell + x, gy = gap + static_cast<int>(r) * cell + y;
          px[static_cast<std::size_t>(gy * width + gx)] = static_cast<unsigned char>(std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f)));
        }
    }
  write_png_gray(path, px, width, height);
}

std::string default_weights_dir() {
#ifdef TOY_DIFFUSION_SOURCE_DIR
  return std::string(TOY_DIFFUSION_SOURCE_DIR) + "/weights";
#else
  return "examples/toy_diffusion/weights";
#endif
}

struct style_row {
  std::string method;
  double strength, style_rate, fidelity;
};
struct negation_row {
  std::string method;
  double strength, concept_rate;
};

int usage() {
  fmt::print(stderr,
             "usage: toy_diffusion_experiments [--json FILE] [--quick] [--png-dir DIR] [--weights-dir DIR]\n"
             "       diagnostics: [--concept SHAPE] [--negation-target others|SHAPE] [--negation-support q0_100|all]\n"
             "                    [--methods linear,mean,itic,quantile] [--negation-only]\n"
             "       methods: {}\n",
             act::method_names());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, png_dir = ".", weights_dir = default_weights_dir();
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--negation-only") {
      s.negation_only = true;
      continue;
    }
    if (a == "--quick") {
      s.n_fit = 12;
      s.n_eval = 8;
      s.steps = 4;
      continue;
    }
    if (i + 1 >= argc) return usage();
    if (a == "--json") json_path = argv[++i];
    else if (a == "--concept") {
      s.concept_shape = shape_index(argv[++i]);
      if (s.concept_shape < 0) return usage();
    } else if (a == "--negation-target") {
      const std::string t = argv[++i];
      s.negation_target = t == "others" ? -1 : shape_index(t);
      if (t != "others" && s.negation_target < 0) return usage();
    } else if (a == "--negation-support") {
      const std::string t = argv[++i];
      if (t != "all" && t != "q0_100") return usage();
      s.negation_bounded = t == "q0_100";
    } else if (a == "--methods") {
      s.methods.clear();
      std::string list = argv[++i];
      for (std::size_t b = 0; b <= list.size();) {
        std::size_t e = list.find(',', b);
        if (e == std::string::npos) e = list.size();
        const auto m = named_method(list.substr(b, e - b));
        if (!m) return usage();
        s.methods.push_back(*m);
        b = e + 1;
      }
    }
    else if (a == "--png-dir") png_dir = argv[++i];
    else if (a == "--weights-dir") weights_dir = argv[++i];
    else return usage();
  }
  try {
    const int concept_shape = s.concept_shape;
    const auto start = std::chrono::steady_clock::now();
    const denoiser<float> model = load_denoiser(weights_dir + "/denoiser.safetensors");
    const classifier<float> judge = load_classifier(weights_dir + "/classifier.safetensors");
    const std::uint64_t fit_source_seed = 1001, fit_target_seed = 1002, eval_seed = 1003;

    // Style control: source = style "none", target = striped, same shapes; evaluate on "none" prompts.
    std::vector<prompt> style_source, style_target, style_eval;
    for (int i = 0; i < s.n_fit; ++i) {
      style_source.push_back({i % n_shapes, style_none});
      style_target.push_back({i % n_shapes, target_style});
    }
    for (int i = 0; i < s.n_eval; ++i) style_eval.push_back({i % n_shapes, style_none});

    // Concept negation: source = circle, target = the other shapes, with the same style mix.
    std::vector<prompt> neg_source, neg_target, neg_eval;
    for (int i = 0; i < s.n_fit; ++i) {
      neg_source.push_back({concept_shape, i % (n_styles + 1)});
      const int other = (concept_shape + 1 + (i / (n_styles + 1)) % (n_shapes - 1)) % n_shapes;
      neg_target.push_back({s.negation_target < 0 ? other : s.negation_target, i % (n_styles + 1)});
    }
    for (int i = 0; i < s.n_eval; ++i) neg_eval.push_back({concept_shape, i % (n_styles + 1)});

    const bool style_on = !s.negation_only;
    std::vector<Eigen::MatrixXf> style_targets;
    fmap<float> style_plain;
    if (style_on) {
      style_targets = target_means(model, style_target, fit_target_seed, s.steps);
      style_plain = steered_samples(model, nullptr, 0.0, style_eval, eval_seed, s.steps);
    }
    const auto neg_targets = target_means(model, neg_target, fit_target_seed, s.steps);
    const fmap<float> neg_plain = steered_samples(model, nullptr, 0.0, neg_eval, eval_seed, s.steps);

    std::vector<style_row> style_rows;
    std::vector<negation_row> neg_rows;
    for (const compared_method& m : s.methods) {
      const std::string& method = m.name;
      map_bank style_bank;
      if (style_on) style_bank = fit_maps(model, m, false, style_source, fit_source_seed, style_targets, s.steps);
      map_bank neg_bank = fit_maps(model, m, s.negation_bounded, neg_source, fit_source_seed, neg_targets, s.steps);
      std::vector<fmap<float>> style_grid, neg_grid;
      for (double lambda : strengths) {
        if (style_on) {
          fmap<float> imgs = lambda == 0.0 ? style_plain : steered_samples(model, &style_bank, lambda, style_eval, eval_seed, s.steps);
          const auto j = judge.classify(imgs);
          int styled = 0, kept = 0;
          for (int i = 0; i < s.n_eval; ++i) {
            styled += j[static_cast<std::size_t>(i)].style == target_style;
            kept += j[static_cast<std::size_t>(i)].shape == style_eval[static_cast<std::size_t>(i)].shape;
          }
          style_rows.push_back({method, lambda, static_cast<double>(styled) / s.n_eval, static_cast<double>(kept) / s.n_eval});
          style_grid.push_back(std::move(imgs));
          fmt::print("{:<13} lambda {:.2f}  style rate {:.3f}  fidelity {:.3f}\n", method, lambda, style_rows.back().style_rate,
                     style_rows.back().fidelity);
        }
        fmap<float> nimgs = lambda == 0.0 ? neg_plain : steered_samples(model, &neg_bank, lambda, neg_eval, eval_seed, s.steps);
        const auto jn = judge.classify(nimgs);
        int still = 0;
        for (int i = 0; i < s.n_eval; ++i) still += jn[static_cast<std::size_t>(i)].shape == concept_shape;
        neg_rows.push_back({method, lambda, static_cast<double>(still) / s.n_eval});
        neg_grid.push_back(std::move(nimgs));
        fmt::print("{:<13} lambda {:.2f}  concept rate {:.3f} ({})\n", method, lambda, neg_rows.back().concept_rate,
                   shape_names()[static_cast<std::size_t>(concept_shape)]);
        std::fflush(stdout);
      }
      if (style_on) write_grid(png_dir + "/toy_diffusion_style_" + method + ".png", style_grid, s.grid_columns);
      write_grid(png_dir + "/toy_diffusion_negation_" + method + ".png", neg_grid, s.grid_columns);
    }

    if (!json_path.empty()) {
      std::string j = "{\"style\": [";
      for (std::size_t i = 0; i < style_rows.size(); ++i)
        j += fmt::format("{}\n  {{\"method\": {}, \"strength\": {}, \"style_rate\": {}, \"fidelity\": {}}}", i ? "," : "",
                         json_string(style_rows[i].method), style_rows[i].strength, style_rows[i].style_rate, style_rows[i].fidelity);
      j += "],\n \"negation\": [";
      for (std::size_t i = 0; i < neg_rows.size(); ++i)
        j += fmt::format("{}\n  {{\"method\": {}, \"strength\": {}, \"concept_rate\": {}}}", i ? "," : "",
                         json_string(neg_rows[i].method), neg_rows[i].strength, neg_rows[i].concept_rate);
      j += "]}\n";
      examples_common::write_file(json_path, j);
    }
    fmt::print("done in {:.1f} s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_diffusion_experiments: %s\n", e.what());
    return 1;
  }
  return 0;
}
