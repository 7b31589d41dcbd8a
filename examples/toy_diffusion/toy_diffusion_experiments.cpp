/// toy_diffusion_experiments: style control and concept negation on the toy diffusion model with
/// channel-spatial transport maps at every block's GroupNorm output, at every denoising step.
///   toy_diffusion_experiments [--json FILE] [--report FILE] [--quick] [--png-dir DIR] [--weights-dir DIR]
///   diagnostics: [--concept SHAPE] [--negation-target others|SHAPE] [--negation-support q0_100|all]
///                [--methods m1,m2,...] [--negation-only | --style-only] (the JSON then holds only those)
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
///
/// Choice and report (the rule of every example experiment, examples/common/held_out.hpp): images are
/// generated from three disjoint noise seeds (held_out.hpp): fitting, selection and test. Per method and
/// experiment the grid has `grid_steps + 2` strengths equally spaced from 0 to one step past the method's
/// budget edge (the largest strength whose quality on the selection images stays at least 90% of the
/// unsteered: the prompted shape kept for style control, the prompted style kept for negation); the chosen
/// strength has the largest effect on the selection images within the budget, and only it is measured on
/// the test images, with percentile-bootstrap 95% intervals over those images.
#include <act/estimators/registry.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../common/held_out.hpp"
#include "../common/report.hpp"
#include "classifier.hpp"
#include "flow.hpp"
#include "held_out.hpp"
#include "model.hpp"
#include "png.hpp"
#include "weights.hpp"

namespace {

using namespace toy_diffusion;
using examples_common::interval;
using examples_common::json_string;

/// A method the experiments run, by its name in act's registry.
struct compared_method {
  std::string name;
  /// Fitted with the experiment's support (style: unbounded, negation: --negation-support), as the
  /// paper does for Linear-AcT; the others keep the registry's default.
  bool follows_support = false;
};

/// The methods run by default. Quantile maps use 32 knots (from about 256 samples per fit).
const std::vector<compared_method> default_methods = {
    {"linear", true}, {"mean", false}, {"itic", false}, {"quantile", false}};
constexpr int quantile_knots = 32;

/// A method named on the command line: one of the defaults, or any other registered method with its
/// default support; nullopt for a name act does not know.
std::optional<compared_method> named_method(const std::string& name) {
  for (const auto& m : default_methods)
    if (m.name == name) return m;
  if (act::find_method(name) == nullptr) return std::nullopt;
  return compared_method{name, false};
}

constexpr int target_style = style_striped;
constexpr double quality_budget = 0.90;  ///< quality may fall to 90% of the unsteered model's
constexpr double search_start = 0.5, strength_cap = 16;

struct settings {
  int n_fit = 256;     ///< images per source / target set
  int n_eval = 96;     ///< images per strength, per part (selection and test)
  int n_search = 48;   ///< selection images the budget edge search samples
  int steps = 20;      ///< Euler steps
  int grid_steps = 3;  ///< grid: 0, edge / steps, ..., edge, edge + edge / steps
  int bisections = 2;
  examples_common::bootstrap_options bootstrap;
  bool quick = false;
  int grid_columns = 8;
  int concept_shape = 0;     ///< circle
  int negation_target = -1;  ///< -1: the other shapes; else that one shape (diagnostic)
  bool negation_bounded = true;
  bool negation_only = false;  ///< skip the style experiment (diagnostics, or one experiment per process)
  bool style_only = false;     ///< skip the negation experiment
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
std::vector<Eigen::MatrixXf> target_means(const denoiser<float>& model, const std::vector<prompt>& prompts,
                                          std::uint64_t seed, int steps) {
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
map_bank fit_maps(const denoiser<float>& model, const compared_method& method, bool bounded,
                  const std::vector<prompt>& source, std::uint64_t seed, const std::vector<Eigen::MatrixXf>& targets,
                  int steps) {
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
fmap<float> steered_samples(const denoiser<float>& model, map_bank* bank, double lambda,
                            const std::vector<prompt>& prompts, std::uint64_t seed, int steps) {
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
          px[static_cast<std::size_t>(gy * width + gx)] =
              static_cast<unsigned char>(std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f)));
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

/// One experiment: its evaluation prompts (the same in both parts; the noise differs), what counts as the
/// effect and as the quality per image, and which direction of the effect is wanted.
struct experiment {
  std::string name;  ///< "style" or "negation"
  std::vector<prompt> prompts;
  std::size_t prompt_cycle = 1;  ///< prompts repeat with this period: the bootstrap's strata
  bool lower_is_better = false;  ///< negation: the concept rate should fall
  std::string effect_name, quality_name;
  /// Per image i judged j: the effect (1 = styled / still the concept) and, where it applies, the quality.
  std::function<bool(std::size_t, const judgement&)> effect, quality;
  std::function<bool(std::size_t)> has_quality;
};

/// What one strength gives on one set of images.
struct image_point {
  double strength = 0, effect = 0, quality = 0;
  std::vector<std::uint8_t> effect_items, quality_items;  ///< per image; quality over the images it applies to
};

image_point judge_images(const experiment& x, const classifier<float>& judge, const fmap<float>& imgs, double lambda) {
  const auto j = judge.classify(imgs);
  image_point p;
  p.strength = lambda;
  for (std::size_t i = 0; i < j.size(); ++i) {
    p.effect_items.push_back(x.effect(i, j[i]));
    if (x.has_quality(i)) p.quality_items.push_back(x.quality(i, j[i]));
  }
  p.effect = examples_common::mean_over(p.effect_items);
  p.quality = examples_common::mean_over(p.quality_items);
  return p;
}

/// One method in one experiment: budget edge, selection sweep, choice and test point.
struct sweep {
  std::string method;
  double edge = 0;
  bool edge_capped = false;
  std::vector<image_point> points;  ///< selection images, one per grid strength
  std::size_t chosen = 0;
  image_point test;  ///< test images at the chosen strength
  std::vector<fmap<float>> grid_images;
};

/// The sign that makes a larger value better.
double better(const experiment& x, double effect) { return x.lower_is_better ? -effect : effect; }

/// The rule: among the grid points whose quality stays within the budget, the largest effect (ties: the
/// smaller strength). Strength 0 always qualifies.
std::size_t choose(const experiment& x, const std::vector<image_point>& pts, double base_quality) {
  std::size_t best = 0;
  for (std::size_t i = 0; i < pts.size(); ++i)
    if (pts[i].quality >= quality_budget * base_quality && better(x, pts[i].effect) > better(x, pts[best].effect))
      best = i;
  return best;
}

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }
std::string with_ci(double v, const interval& ci, int digits) {
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", v, digits, ci.lo, digits, ci.hi, digits);
}
std::string json_ci(const interval& ci) { return fmt::format("[{}, {}]", ci.lo, ci.hi); }

int usage() {
  fmt::print(
      stderr,
      "usage: toy_diffusion_experiments [--json FILE] [--report FILE] [--quick] [--png-dir DIR] [--weights-dir DIR]\n"
      "       diagnostics: [--concept SHAPE] [--negation-target others|SHAPE] [--negation-support q0_100|all]\n"
      "                    [--methods linear,mean,itic,quantile] [--negation-only | --style-only]\n"
      "       methods: {}\n",
      act::method_names());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, report_path, png_dir = ".", weights_dir = default_weights_dir();
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--negation-only" || a == "--style-only") {
      (a == "--negation-only" ? s.negation_only : s.style_only) = true;
      continue;
    }
    if (a == "--quick") {
      s.quick = true;
      s.n_fit = 12;
      s.n_eval = 8;
      s.n_search = 8;
      s.steps = 4;
      s.grid_steps = 2;
      s.bisections = 1;
      s.bootstrap.resamples = 200;
      continue;
    }
    if (i + 1 >= argc) return usage();
    if (a == "--json")
      json_path = argv[++i];
    else if (a == "--report")
      report_path = argv[++i];
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
    } else if (a == "--png-dir")
      png_dir = argv[++i];
    else if (a == "--weights-dir")
      weights_dir = argv[++i];
    else
      return usage();
  }
  try {
    const int concept_shape = s.concept_shape;
    const auto start = std::chrono::steady_clock::now();
    const denoiser<float> model = load_denoiser(weights_dir + "/denoiser.safetensors");
    const classifier<float> judge = load_classifier(weights_dir + "/classifier.safetensors");
    const experiment_seeds seeds;

    // Style control: source = style "none", target = striped, same shapes; evaluated on "none" prompts.
    std::vector<prompt> style_source, style_target;
    experiment style{"style", {}, n_shapes, false, "style rate", "fidelity", {}, {}, {}};
    for (int i = 0; i < s.n_fit; ++i) {
      style_source.push_back({i % n_shapes, style_none});
      style_target.push_back({i % n_shapes, target_style});
    }
    for (int i = 0; i < s.n_eval; ++i) style.prompts.push_back({i % n_shapes, style_none});
    style.effect = [](std::size_t, const judgement& j) { return j.style == target_style; };
    style.quality = [&style](std::size_t i, const judgement& j) { return j.shape == style.prompts[i].shape; };
    style.has_quality = [](std::size_t) { return true; };

    // Concept negation: source = the concept, target = the other shapes, with the same style mix; quality:
    // the prompted style kept (prompts that name one).
    std::vector<prompt> neg_source, neg_target;
    experiment negation{"negation", {}, n_styles + 1, true, "concept rate", "style kept", {}, {}, {}};
    for (int i = 0; i < s.n_fit; ++i) {
      neg_source.push_back({concept_shape, i % (n_styles + 1)});
      const int other = (concept_shape + 1 + (i / (n_styles + 1)) % (n_shapes - 1)) % n_shapes;
      neg_target.push_back({s.negation_target < 0 ? other : s.negation_target, i % (n_styles + 1)});
    }
    for (int i = 0; i < s.n_eval; ++i) negation.prompts.push_back({concept_shape, i % (n_styles + 1)});
    negation.effect = [concept_shape](std::size_t, const judgement& j) { return j.shape == concept_shape; };
    negation.quality = [&negation](std::size_t i, const judgement& j) { return j.style == negation.prompts[i].style; };
    negation.has_quality = [&negation](std::size_t i) { return negation.prompts[i].style != style_none; };

    const bool style_on = !s.negation_only;
    std::vector<experiment*> experiments;
    if (style_on) experiments.push_back(&style);
    if (!s.style_only) experiments.push_back(&negation);
    if (experiments.empty()) return usage();

    // Per experiment: the target means, and the unsteered images of both parts.
    std::map<std::string, std::vector<Eigen::MatrixXf>> targets;
    std::map<std::string, image_point> base_selection, base_test, base_search;
    std::map<std::string, fmap<float>> plain_selection;
    for (experiment* x : experiments) {
      targets[x->name] = target_means(model, x == &style ? style_target : neg_target, seeds.fit_target, s.steps);
      plain_selection[x->name] = steered_samples(model, nullptr, 0.0, x->prompts, seeds.selection, s.steps);
      base_selection[x->name] = judge_images(*x, judge, plain_selection[x->name], 0.0);
      base_test[x->name] =
          judge_images(*x, judge, steered_samples(model, nullptr, 0.0, x->prompts, seeds.test, s.steps), 0.0);
      const std::vector<prompt> search(x->prompts.begin(),
                                       x->prompts.begin() + std::min<std::ptrdiff_t>(s.n_search, s.n_eval));
      base_search[x->name] =
          judge_images(*x, judge, steered_samples(model, nullptr, 0.0, search, seeds.selection, s.steps), 0.0);
    }

    std::map<std::string, std::vector<sweep>> sweeps;
    for (const compared_method& m : s.methods) {
      for (experiment* x : experiments) {
        const experiment& ex = *x;
        map_bank bank =
            fit_maps(model, m, ex.name == "style" ? false : s.negation_bounded,
                     ex.name == "style" ? style_source : neg_source, seeds.fit_source, targets[ex.name], s.steps);
        sweep sw;
        sw.method = m.name;
        // The budget edge, on the first n_search selection images.
        const std::vector<prompt> search(ex.prompts.begin(),
                                         ex.prompts.begin() + std::min<std::ptrdiff_t>(s.n_search, s.n_eval));
        const double search_base = base_search[ex.name].quality;
        const auto within = [&](double l) {
          const auto imgs = steered_samples(model, &bank, l, search, seeds.selection, s.steps);
          return judge_images(ex, judge, imgs, l).quality >= quality_budget * search_base;
        };
        sw.edge = examples_common::budget_edge(within, search_start, strength_cap, s.bisections);
        sw.edge_capped = sw.edge >= strength_cap;
        // The selection sweep over the grid, then the choice.
        for (double l : examples_common::budget_grid(sw.edge, s.grid_steps)) {
          fmap<float> imgs = l == 0.0 ? plain_selection[ex.name]
                                      : steered_samples(model, &bank, l, ex.prompts, seeds.selection, s.steps);
          sw.points.push_back(l == 0.0 ? base_selection[ex.name] : judge_images(ex, judge, imgs, l));
          sw.grid_images.push_back(std::move(imgs));
          fmt::print("{:<9} {:<13} lambda {:.3g}  {} {:.3f}  {} {:.3f}  (selection)\n", ex.name, m.name, l,
                     ex.effect_name, sw.points.back().effect, ex.quality_name, sw.points.back().quality);
          std::fflush(stdout);
        }
        sw.chosen = choose(ex, sw.points, base_selection[ex.name].quality);
        const double chosen = sw.points[sw.chosen].strength;
        sw.test = chosen == 0.0
                      ? base_test[ex.name]
                      : judge_images(ex, judge, steered_samples(model, &bank, chosen, ex.prompts, seeds.test, s.steps),
                                     chosen);
        fmt::print("{:<9} {:<13} edge {:.3g}, chosen {:.3g}: {} {:.3f}  {} {:.3f}  (test)\n", ex.name, m.name, sw.edge,
                   chosen, ex.effect_name, sw.test.effect, ex.quality_name, sw.test.quality);
        write_grid(png_dir + "/toy_diffusion_" + ex.name + "_" + m.name + ".png", sw.grid_images, s.grid_columns);
        sw.grid_images.clear();
        sweeps[ex.name].push_back(std::move(sw));
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // Intervals over the test images: the same resamples for every method (paired), within each prompt.
    std::map<std::string, std::vector<std::vector<std::size_t>>> effect_resamples, quality_resamples;
    for (experiment* x : experiments) {
      std::vector<std::size_t> strata, quality_strata;
      for (std::size_t i = 0; i < x->prompts.size(); ++i) {
        strata.push_back(i % x->prompt_cycle);
        if (x->has_quality(i)) quality_strata.push_back(i % x->prompt_cycle);
      }
      effect_resamples[x->name] = examples_common::bootstrap_resamples(strata, s.bootstrap);
      quality_resamples[x->name] = examples_common::bootstrap_resamples(quality_strata, s.bootstrap);
    }
    const auto effect_ci = [&](const experiment& x, const image_point& p) {
      return examples_common::bootstrap_interval(
          effect_resamples[x.name], [&](const auto& idx) { return examples_common::mean_over(p.effect_items, &idx); });
    };
    const auto quality_ci = [&](const experiment& x, const image_point& p) {
      return examples_common::bootstrap_interval(quality_resamples[x.name], [&](const auto& idx) {
        return examples_common::mean_over(p.quality_items, &idx);
      });
    };
    // The factor the effect changes by (unsteered / steered for negation, steered / unsteered for style), paired.
    const auto factor_ci = [&](const experiment& x, const image_point& p) {
      const auto& base = base_test[x.name];
      return examples_common::bootstrap_interval(effect_resamples[x.name], [&](const auto& idx) {
        const double b = examples_common::mean_over(base.effect_items, &idx),
                     v = examples_common::mean_over(p.effect_items, &idx);
        const double num = x.lower_is_better ? b : v, den = x.lower_is_better ? v : b;
        return den > 0 ? num / den : std::numeric_limits<double>::infinity();
      });
    };

    if (!json_path.empty()) {
      std::string j = "{";
      bool first_section = true;
      for (experiment* x : experiments) {
        j += fmt::format("{}\"{}\": [", first_section ? "" : ",\n ", x->name);
        bool first = true;
        for (const auto& sw : sweeps[x->name])
          for (const auto& p : sw.points) {
            j += fmt::format("{}\n  {{\"method\": {}, \"strength\": {}, \"{}\": {}, \"{}\": {}}}", first ? "" : ",",
                             json_string(sw.method), p.strength, x->name == "style" ? "style_rate" : "concept_rate",
                             p.effect, x->name == "style" ? "fidelity" : "style_kept", p.quality);
            first = false;
          }
        j += fmt::format("],\n \"{}_test\": [", x->name);
        const auto& b = base_test[x->name];
        j += fmt::format(
            "\n  {{\"method\": \"unsteered\", \"strength\": 0, \"rate\": {}, \"rate_ci\": {}, \"quality\": {}}}",
            b.effect, json_ci(effect_ci(*x, b)), b.quality);
        for (const auto& sw : sweeps[x->name])
          j += fmt::format(",\n  {{\"method\": {}, \"strength\": {}, \"rate\": {}, \"rate_ci\": {}, \"quality\": {}}}",
                           json_string(sw.method), sw.test.strength, sw.test.effect, json_ci(effect_ci(*x, sw.test)),
                           sw.test.quality);
        j += "]";
        first_section = false;
      }
      j += "}\n";
      examples_common::write_file(json_path, j);
    }

    if (!report_path.empty()) {
      std::string r = fmt::format(
          "# Toy diffusion: style control and concept negation\n\nGenerated by `toy_diffusion_experiments{}` in {:.0f} "
          "s. "
          "Maps fitted on {} + {} images (fitting noise seeds {}, {}); strengths chosen on {} selection images (seed "
          "{}; "
          "budget edges searched on the first {} of them), results on {} test images (seed {}). Per method the grid "
          "has {} "
          "strengths from 0 to one step past its budget edge (the largest strength, doubling from {} up to {} and {} "
          "bisections, whose quality stays at least {:.0f}% of the unsteered: fidelity = prompted shape kept for "
          "style, "
          "the prompted style kept for negation); the chosen strength has the largest effect on the selection images "
          "within the budget. [lo, hi]: 95% percentile-bootstrap intervals over the test images ({} resamples, fixed "
          "seed, resampled within each prompt, paired across methods).\n\n",
          std::string(s.quick ? " --quick" : "") + (s.style_only ? " --style-only" : "") +
              (s.negation_only ? " --negation-only" : ""),
          seconds, s.n_fit, s.n_fit, seeds.fit_source, seeds.fit_target, s.n_eval, seeds.selection,
          std::min(s.n_search, s.n_eval), s.n_eval, seeds.test, s.grid_steps + 2, search_start, strength_cap,
          s.bisections, 100 * quality_budget, s.bootstrap.resamples);
      for (experiment* x : experiments) {
        const bool st = x->name == "style";
        r += st ? "## Style control (source: style \"none\", target: striped; evaluated on \"none\" prompts)\n\n"
                : fmt::format("## Concept negation (source: {} prompts, target: {}; evaluated on {} prompts)\n\n",
                              shape_names()[static_cast<std::size_t>(concept_shape)],
                              s.negation_target < 0
                                  ? std::string("the other shapes")
                                  : std::string(shape_names()[static_cast<std::size_t>(s.negation_target)]),
                              shape_names()[static_cast<std::size_t>(concept_shape)]);
        r += fmt::format(
            "| method | budget edge | chosen lambda | selection {} | {} | {} | {} |\n|---|---|---|---|---|---|---|\n",
            x->effect_name, x->effect_name, st ? "increase" : "cut", x->quality_name);
        const auto& b = base_test[x->name];
        r += fmt::format("| unsteered | - | - | {} | {} | 1.0x | {} |\n", fixed(base_selection[x->name].effect, 3),
                         with_ci(b.effect, effect_ci(*x, b), 3), with_ci(b.quality, quality_ci(*x, b), 3));
        for (const auto& sw : sweeps[x->name]) {
          const interval f = factor_ci(*x, sw.test);
          const double point = x->lower_is_better ? b.effect / sw.test.effect : sw.test.effect / b.effect;
          const auto fx = [](double v) { return std::isfinite(v) ? fmt::format("{:.1f}", v) : std::string("inf"); };
          r += fmt::format(
              "| {} | {} | {:.3g} | {} | {} | {}x [{}, {}] | {} |\n", act::method(sw.method).title,
              sw.edge_capped ? fmt::format("{} (budget not reached)", sw.edge) : fmt::format("{:.3g}", sw.edge),
              sw.points[sw.chosen].strength, fixed(sw.points[sw.chosen].effect, 3),
              with_ci(sw.test.effect, effect_ci(*x, sw.test), 3), fx(point), fx(f.lo), fx(f.hi),
              with_ci(sw.test.quality, quality_ci(*x, sw.test), 3));
        }
        r += fmt::format("\n**Selection sweeps** ({} / {}; chosen point in bold)\n\n| method |", x->effect_name,
                         x->quality_name);
        for (int k = 0; k <= s.grid_steps + 1; ++k) r += fmt::format(" {}/{} edge |", k, s.grid_steps);
        r += "\n|---|";
        for (int k = 0; k <= s.grid_steps + 1; ++k) r += "---|";
        r += "\n";
        for (const auto& sw : sweeps[x->name]) {
          r += fmt::format("| {} |", act::method(sw.method).title);
          for (std::size_t k = 0; k < sw.points.size(); ++k) {
            const auto& p = sw.points[k];
            const std::string c = fmt::format("{:.3g}: {} / {}", p.strength, fixed(p.effect, 3), fixed(p.quality, 3));
            r += k == sw.chosen ? fmt::format(" **{}** |", c) : fmt::format(" {} |", c);
          }
          r += "\n";
        }
        r += "\n";
      }
      examples_common::write_file(report_path, r);
    }
    fmt::print("done in {:.1f} s\n", seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_diffusion_experiments: %s\n", e.what());
    return 1;
  }
  return 0;
}
