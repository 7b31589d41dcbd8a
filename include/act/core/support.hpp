#pragma once
/// \file support.hpp
/// Where a fitted map is trusted: everywhere, or a band of the source's quantiles per neuron.

#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include <act/core/error.hpp>

namespace act {

/// Whether a bounded support contains its bounds. `open` is the reference implementation's strict test
/// lo < a < hi: point masses at the source's extremes (the exact zeros of a post-ReLU site, ties of 16-bit
/// activations at the minimum) stay where they are. `closed` is lo <= a <= hi (act's maps before open
/// bounds existed, and map files without an `act.bounds.<site>` key).
enum class support_bounds { open, closed };

/// "open" or "closed".
inline const char* bounds_name(support_bounds b) { return b == support_bounds::open ? "open" : "closed"; }

/// Parses "open" or "closed"; `what` names the setting in the error.
inline support_bounds parse_bounds(std::string_view text, std::string_view what = "support bounds") {
  if (text == "open") return support_bounds::open;
  if (text == "closed") return support_bounds::closed;
  raise<invalid_argument>("{}: '{}' is not 'open' or 'closed'", what, text);
}

/// The transport support to estimate: unbounded, or the [lo %, hi %] quantile band of the source.
///
/// The paper's Q_o is `support::min_max()` (the band 0-100: [min, max] of the source), its Q_inf is
/// `support::unbounded()`. Bands use linear interpolation between order statistics (numpy's default).
/// A bounded support is open by default (see support_bounds); `with_bounds` picks the other rule.
struct support {
  bool bounded = true;
  double lower_percent = 0.0;
  double upper_percent = 100.0;
  support_bounds bounds = support_bounds::open;

  static constexpr support unbounded() { return {false, 0.0, 100.0, support_bounds::open}; }
  static constexpr support min_max() { return {true, 0.0, 100.0, support_bounds::open}; }
  /// The band between the `lo`-th and `hi`-th percentiles of the source, 0 <= lo < hi <= 100.
  static support quantile_band(double lo, double hi) {
    if (!(lo >= 0.0 && lo < hi && hi <= 100.0))
      raise<invalid_argument>("support: quantile band [{}, {}] must satisfy 0 <= lo < hi <= 100", lo, hi);
    return {true, lo, hi};
  }
  /// This support with boundary rule `b` (meaningless, and kept, for an unbounded support).
  support with_bounds(support_bounds b) const {
    support s = *this;
    s.bounds = b;
    return s;
  }

  friend constexpr bool operator==(const support& a, const support& b) {
    return a.bounded == b.bounded && a.lower_percent == b.lower_percent && a.upper_percent == b.upper_percent &&
           a.bounds == b.bounds;
  }

  /// The command-line spelling: "all", "q0_100", "q1_99", "q0.5_99.5" (the boundary rule is separate).
  std::string to_string() const {
    if (!bounded) return "all";
    return fmt::format("q{}_{}", lower_percent, upper_percent);
  }

  /// Parses the command-line spelling (see to_string).
  static support parse(std::string_view text) {
    if (text == "all") return unbounded();
    const auto bar = text.find('_');
    if (text.size() < 4 || text[0] != 'q' || bar == std::string_view::npos)
      raise<invalid_argument>("support: '{}' is not 'all' or 'qLO_HI' (e.g. q0_100, q1_99)", text);
    const auto number = [&](std::string_view part) {
      const std::string s(part);
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
        raise<invalid_argument>("support: '{}' in '{}' is not a number", part, text);
      return v;
    };
    return quantile_band(number(text.substr(1, bar - 1)), number(text.substr(bar + 1)));
  }
};

}  // namespace act
