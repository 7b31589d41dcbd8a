#pragma once
/// A small SVG line-chart writer for the toy LM experiments: a grid of panels, each with lines
/// (one per method), axis ticks, a legend and an optional dashed reference line. Plain text output,
/// no dependencies beyond fmt, so the plots can be committed and viewed in any browser or on GitHub.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace svg_plot {

struct series {
  std::string name;
  std::string color;  ///< any SVG colour, e.g. "#1f77b4"
  std::vector<double> x, y;
};

struct panel {
  std::string title, x_label, y_label;
  /// x positions of the ticks; the axis is piecewise linear through them at equal spacing, so a grid
  /// such as {0, 0.5, 1, 2, 4, 8, 16} reads as evenly as {0, 0.25, 0.5, 0.75, 1}.
  std::vector<double> x_ticks;
  bool y_from_zero = true;          ///< include 0 in the y range (rates); false for perplexities
  std::optional<double> reference;  ///< a dashed horizontal line (e.g. the unsteered value)
  std::string reference_label;
  std::vector<series> lines;
  /// Upper end of the y axis: larger values are drawn on the top edge (perplexities that explode
  /// at high strengths would otherwise flatten every other line).
  std::optional<double> y_cap = std::nullopt;
};

/// Replaces the characters XML gives a meaning to.
inline std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace internal {

/// Maps x onto [0, 1] piecewise linearly through the sorted ticks (clamped outside them).
inline double tick_fraction(const std::vector<double>& ticks, double x) {
  if (ticks.size() < 2) return 0.5;
  if (x <= ticks.front()) return 0.0;
  for (std::size_t i = 1; i < ticks.size(); ++i)
    if (x <= ticks[i]) {
      const double span = ticks[i] - ticks[i - 1];
      const double f = span > 0 ? (x - ticks[i - 1]) / span : 0.0;
      return (double(i - 1) + f) / double(ticks.size() - 1);
    }
  return 1.0;
}

/// About five round tick values covering [lo, hi] (steps 1, 2 or 5 times a power of ten).
inline std::vector<double> nice_ticks(double& lo, double& hi) {
  if (!(hi > lo)) hi = lo + 1.0;
  const double raw = (hi - lo) / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> t;
  for (double v = lo; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

inline std::string number(double v) { return fmt::format("{:.4g}", v); }

}  // namespace internal

/// Renders panels in a grid of `columns`, with an overall title, as one SVG document.
inline std::string render(const std::string& title, const std::vector<panel>& panels, int columns = 2) {
  const int pw = 430, ph = 320;                  // panel size
  const int ml = 62, mr = 16, mt = 30, mb = 48;  // plot margins inside a panel
  const int legend_h = 22;
  const int cols = std::max(1, std::min(columns, static_cast<int>(panels.size())));
  const int rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
  const int width = cols * pw, height = 36 + rows * (ph + legend_h * 2);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
      width, height, width, height, width / 2, escape(title));
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const panel& p = panels[k];
    const int ox = static_cast<int>(k) % cols * pw;
    const int oy = 36 + static_cast<int>(k) / cols * (ph + legend_h * 2);
    const double x0 = ox + ml, x1 = ox + pw - mr, y0 = oy + mt, y1 = oy + ph - mb;
    // y range from the data (and the reference line), padded a little.
    double lo = p.y_from_zero ? 0.0 : 1e300, hi = p.y_from_zero ? 0.0 : -1e300;
    for (const auto& l : p.lines)
      for (double v : l.y)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (p.reference) lo = std::min(lo, *p.reference), hi = std::max(hi, *p.reference);
    if (lo > hi) lo = 0, hi = 1;
    if (p.y_cap && hi > *p.y_cap) hi = *p.y_cap;
    const double pad = (hi - lo) * 0.05;
    hi += pad;
    if (!p.y_from_zero) lo -= pad;
    const auto yt = internal::nice_ticks(lo, hi);
    auto px = [&](double x) { return x0 + (x1 - x0) * internal::tick_fraction(p.x_ticks, x); };
    auto py = [&](double y) { return y1 - (y1 - y0) * (y - lo) / (hi - lo); };
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n", (x0 + x1) / 2,
                     oy + 18, escape(p.title));
    for (double v : yt) {
      s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>\n", x0,
                       py(v), x1, py(v));
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 5, py(v) + 4,
                       internal::number(v));
    }
    for (double v : p.x_ticks) {
      s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>\n", px(v),
                       y0, px(v), y1);
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px(v), y1 + 16,
                       internal::number(v));
    }
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#444\"/>\n", x0, y0,
        x1 - x0, y1 - y0);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", (x0 + x1) / 2, y1 + 34,
                     escape(p.x_label));
    s += fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     x0 - 46, (y0 + y1) / 2, escape(p.y_label));
    if (p.reference) {
      s += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>\n",
          x0, py(*p.reference), x1, py(*p.reference));
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#666\" font-size=\"11\">{}</text>\n",
                       x1 - 4, py(*p.reference) - 4, escape(p.reference_label));
    }
    for (const auto& l : p.lines) {
      std::string pts;
      for (std::size_t i = 0; i < l.x.size() && i < l.y.size(); ++i)
        if (std::isfinite(l.y[i])) pts += fmt::format("{:.1f},{:.1f} ", px(l.x[i]), py(std::min(l.y[i], hi)));
      s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", pts, l.color);
      for (std::size_t i = 0; i < l.x.size() && i < l.y.size(); ++i)
        if (std::isfinite(l.y[i]))
          s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.8\" fill=\"{}\"/>\n", px(l.x[i]),
                           py(std::min(l.y[i], hi)), l.color);
    }
    // Legend below the panel, wrapped over two lines.
    double lx = x0, ly = y1 + 52;
    for (const auto& l : p.lines) {
      const double w = 26 + 7.0 * static_cast<double>(l.name.size());
      if (lx + w > ox + pw) lx = x0, ly += 16;
      s += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"3\"/>\n", lx,
          ly - 4, lx + 16, ly - 4, l.color);
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", lx + 20, ly, escape(l.name));
      lx += w;
    }
  }
  s += "</svg>\n";
  return s;
}

/// Writes render(...) to `path`; throws std::runtime_error when the file cannot be written.
inline void write(const std::string& path, const std::string& title, const std::vector<panel>& panels,
                  int columns = 2) {
  std::ofstream f(path, std::ios::binary);
  f << render(title, panels, columns);
  if (!f) throw std::runtime_error("svg_plot: cannot write " + path);
}

}  // namespace svg_plot
