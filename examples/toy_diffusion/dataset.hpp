#pragma once
/// The procedural data set: 16x16 grayscale images of a shape (circle, square, triangle, cross) drawn
/// in a style (plain, striped, dotted, outlined), each with its "prompt" (shape, style). A prompt may
/// leave the style out ("none"); its images then follow a skewed "natural" style distribution in
/// which stripes are rare (10%), like a painting style that a text-to-image model rarely picks unasked.
///
/// Pixels are in [-1, 1]: background -1, foreground a random brightness in [0.6, 1]. Shape edges are
/// anti-aliased by 4x4 supersampling; the style pattern is decided per pixel.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rng.hpp"

namespace toy_diffusion {

inline constexpr int image_size = 16;
inline constexpr int image_pixels = image_size * image_size;
inline constexpr int n_shapes = 4;
inline constexpr int n_styles = 4;  ///< real styles; index n_styles is "none"
inline constexpr int style_none = n_styles;

inline const std::array<const char*, n_shapes>& shape_names() {
  static const std::array<const char*, n_shapes> n = {"circle", "square", "triangle", "cross"};
  return n;
}
inline const std::array<const char*, n_styles + 1>& style_names() {
  static const std::array<const char*, n_styles + 1> n = {"plain", "striped", "dotted", "outlined", "none"};
  return n;
}
inline constexpr int style_plain = 0, style_striped = 1, style_dotted = 2, style_outlined = 3;

struct prompt {
  int shape = 0;
  int style = style_none;  ///< 0 .. n_styles - 1, or style_none
};

/// One image with its prompt and the style actually drawn (= prompt.style unless that is "none").
struct example {
  prompt p;
  int drawn_style = 0;
  std::array<float, image_pixels> pixels{};
};

/// The style an unspecified prompt gets: plain 55%, outlined 25%, dotted 10%, striped 10%.
inline int natural_style(rng& r) {
  const double u = r.uniform();
  if (u < 0.55) return style_plain;
  if (u < 0.80) return style_outlined;
  if (u < 0.90) return style_dotted;
  return style_striped;
}

/// Signed distance-like function of the shape at point (x, y): negative inside.
/// Exact for circle and square; the triangle and cross use max/min of edge distances, which is exact
/// near edges (all the renderer needs).
inline double shape_distance(int shape, double x, double y, double cx, double cy, double r) {
  const double dx = x - cx, dy = y - cy;
  switch (shape) {
    case 0:
      return std::sqrt(dx * dx + dy * dy) - r;
    case 1:
      return std::max(std::abs(dx), std::abs(dy)) - 0.85 * r;
    case 2: {
      // Upward triangle: apex (0, -r), base at y = 0.75 r from -0.95 r to 0.95 r.
      const double base = dy - 0.75 * r;
      // Side lines through the apex and a base corner; outward normals (+-h, -w) normalised.
      const double w = 0.95 * r, h = 1.75 * r, len = std::sqrt(w * w + h * h);
      const double right = (h * dx - w * (dy + r)) / len;
      const double left = (-h * dx - w * (dy + r)) / len;
      return std::max({base, right, left});
    }
    default: {
      const double arm = 0.38 * r;
      const double horizontal = std::max(std::abs(dx) - r, std::abs(dy) - arm);
      const double vertical = std::max(std::abs(dx) - arm, std::abs(dy) - r);
      return std::min(horizontal, vertical);
    }
  }
}

/// Draws one image of `shape` in `style` (a real style) with random placement from `r`.
inline std::array<float, image_pixels> render(int shape, int style, rng& r) {
  const double cx = r.uniform(6.5, 9.5), cy = r.uniform(6.5, 9.5);
  const double radius = r.uniform(4.8, 6.2);
  const double fg = r.uniform(0.6, 1.0);
  const int phase_x = r.below(4), phase_y = r.below(4);
  std::array<float, image_pixels> img{};
  for (int y = 0; y < image_size; ++y)
    for (int x = 0; x < image_size; ++x) {
      // Pattern: striped keeps 2 of every 4 rows; dotted punches a hole every 3rd pixel both ways.
      bool on = true;
      if (style == style_striped) on = (y + phase_y) % 4 < 2;
      if (style == style_dotted) on = !((x + phase_x) % 3 == 0 && (y + phase_y) % 3 == 0);
      double coverage = 0;
      if (on)
        for (int sy = 0; sy < 4; ++sy)
          for (int sx = 0; sx < 4; ++sx) {
            const double d = shape_distance(shape, x + (sx + 0.5) / 4.0, y + (sy + 0.5) / 4.0, cx, cy, radius);
            const bool inside = style == style_outlined ? (d <= 0.0 && d > -1.6) : d <= 0.0;
            coverage += inside ? 1.0 / 16.0 : 0.0;
          }
      img[static_cast<std::size_t>(y * image_size + x)] = static_cast<float>(-1.0 + coverage * (fg + 1.0));
    }
  return img;
}

/// The image for prompt `p` drawn with generator `r`.
inline example make_example(prompt p, rng& r) {
  example e;
  e.p = p;
  e.drawn_style = p.style == style_none ? natural_style(r) : p.style;
  e.pixels = render(p.shape, e.drawn_style, r);
  return e;
}

/// Training prompts: shape uniform; style "none" 30% of the time, else uniform.
inline prompt random_prompt(rng& r) {
  prompt p;
  p.shape = r.below(n_shapes);
  p.style = r.uniform() < 0.3 ? style_none : r.below(n_styles);
  return p;
}

/// Example `index` of the data set with seed `seed`: a pure function of (seed, index).
inline example dataset_example(std::uint64_t seed, std::uint64_t index) {
  rng r(derive_seed(seed, index));
  const prompt p = random_prompt(r);
  return make_example(p, r);
}

}  // namespace toy_diffusion
