#pragma once
// Command-line words of one subcommand of act's tools (act-cli, act-llama): `--option value`,
// `--option=value`, `-n value` for one-letter options, `--flag`, `--help`/`-h`, positional words, and
// `--` ending the options. Mistakes are usage errors naming the word, with a suggestion for near misses.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace act_tools {

/// A mistake in how the tool was called: reported with the usage text and exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Levenshtein distance between two short words (for "did you mean").
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The candidate nearest to `word` when it is a plausible misspelling (at most a third of its letters
/// off, and at least one), or "".
inline std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

/// What a subcommand accepts: options take a value (one-letter names are written -n), flags do not,
/// repeatable options may be given more than once (values() returns them all).
struct option_table {
  std::vector<std::string> options;
  std::vector<std::string> flags;
  std::vector<std::string> repeatable;
};

/// The options and positional words given to one subcommand.
class arguments {
 public:
  /// Parses argv[first..]. `--help` or `-h` anywhere only sets help() (the rest is not checked).
  arguments(int argc, char** argv, int first, option_table table) : table_(std::move(table)) {
    for (int i = first; i < argc; ++i) {
      const std::string_view word = argv[i];
      if (word == "--") break;
      if (word == "--help" || word == "-h") {
        help_ = true;
        return;
      }
    }
    bool options_ended = false;
    for (int i = first; i < argc; ++i) {
      const std::string word = argv[i];
      if (options_ended || !looks_like_option(word)) {
        positional_.push_back(word);
        continue;
      }
      if (word == "--") {
        options_ended = true;
        continue;
      }
      const bool is_long = word.rfind("--", 0) == 0;
      std::string name = word.substr(is_long ? 2 : 1);
      std::string inline_value;
      bool has_inline_value = false;
      if (const auto eq = name.find('='); is_long && eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline_value = true;
      }
      const std::string spelled_word = spelled(name);
      // One-letter names are short options (-n), longer ones long options (--name).
      if (is_long == (name.size() == 1) ||
          !(contains(table_.options, name) || contains(table_.repeatable, name) || contains(table_.flags, name)))
        throw usage_error(unknown(is_long ? "--" + name : word));
      if (contains(table_.flags, name)) {
        if (has_inline_value) throw usage_error(fmt::format("option {} takes no value", spelled_word));
        if (has(name)) throw usage_error(fmt::format("option {} given twice", spelled_word));
        values_[name].push_back("");
        continue;
      }
      if (has(name) && !contains(table_.repeatable, name))
        throw usage_error(fmt::format("option {} given twice", spelled_word));
      if (!has_inline_value) {
        if (i + 1 >= argc) throw usage_error(fmt::format("option {} needs a value", spelled_word));
        inline_value = argv[++i];
      }
      values_[name].push_back(inline_value);
    }
  }

  /// True when --help or -h was given: the subcommand should print its usage and exit 0.
  bool help() const { return help_; }

  bool has(const std::string& name) const { return values_.count(name) != 0; }

  /// The value of a required option (the first, for a repeatable one).
  const std::string& required(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) throw usage_error(fmt::format("missing {}", spelled(name)));
    return it->second.front();
  }

  std::string value_or(const std::string& name, const std::string& fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.front();
  }

  /// Every value given for `name`, in command-line order (empty when absent; one entry unless repeatable).
  std::vector<std::string> values(const std::string& name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }

  /// A number-valued option: a finite decimal (or hexadecimal) floating-point number. "1e309" is out of
  /// range, "inf" and "nan" are not finite, anything else unparsed is not a number; all usage errors.
  /// (Values too small for a double, like 1e-400, round to 0 or a subnormal and are accepted.)
  double number(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    const std::string& text = required(name);
    char* end = nullptr;
    errno = 0;
    const double v =
        text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ? 0.0 : std::strtod(text.c_str(), &end);
    if (end == nullptr || end != text.c_str() + text.size())
      throw usage_error(fmt::format("{} '{}' is not a number", spelled(name), text));
    if (errno == ERANGE && std::isinf(v))
      throw usage_error(
          fmt::format("{} '{}' is out of range (the largest number is about 1.8e308)", spelled(name), text));
    if (!std::isfinite(v)) throw usage_error(fmt::format("{} '{}' is not a finite number", spelled(name), text));
    return v;
  }

  /// An integer in [lo, hi].
  long integer(const std::string& name, long fallback, long lo, long hi) const {
    if (!has(name)) return fallback;
    const double v = number(name, 0);
    if (v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi))
      throw usage_error(
          fmt::format("{} must be an integer from {} to {}, got '{}'", spelled(name), lo, hi, required(name)));
    return static_cast<long>(v);
  }

  const std::vector<std::string>& positional() const { return positional_; }

  /// Throws "unexpected argument" for the first positional word, for subcommands that take none.
  void no_positional() const {
    if (!positional_.empty()) throw usage_error(fmt::format("unexpected argument '{}'", positional_.front()));
  }

  /// "--name", or "-n" for a one-letter name.
  static std::string spelled(const std::string& name) { return (name.size() == 1 ? "-" : "--") + name; }

 private:
  /// Words that start with '-' and are not numbers ("-1.5") or a lone "-" are options.
  static bool looks_like_option(const std::string& word) {
    if (word.size() < 2 || word[0] != '-') return false;
    return !(std::isdigit(static_cast<unsigned char>(word[1])) || word[1] == '.');
  }

  static bool contains(const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  }

  /// "unknown option --metod (did you mean --method?)".
  std::string unknown(const std::string& word) const {
    std::vector<std::string> known;
    for (const auto* list : {&table_.options, &table_.repeatable, &table_.flags})
      for (const auto& n : *list) known.push_back(spelled(n));
    const std::string guess = nearest(word, known);
    return guess.empty() ? fmt::format("unknown option {}", word)
                         : fmt::format("unknown option {} (did you mean {}?)", word, guess);
  }

  option_table table_;
  bool help_ = false;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace act_tools
