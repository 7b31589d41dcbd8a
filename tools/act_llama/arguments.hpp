#pragma once
// Command-line words of one act-llama subcommand: `--option value`, `-n value`, `--flag`.

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace act_llama {

/// A mistake in how the tool was called: reported with the usage text and exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class arguments {
 public:
  /// Parses argv[first..]. `options` take a value ("n" is written -n), `flags` do not.
  arguments(int argc, char** argv, int first, const std::vector<std::string>& options, const std::vector<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
      const std::string word = argv[i];
      std::string name;
      if (word.size() > 2 && word.rfind("--", 0) == 0) name = word.substr(2);
      else if (word.size() == 2 && word[0] == '-' && word[1] != '-') name = word.substr(1);
      else throw usage_error(fmt::format("unexpected argument '{}'", word));
      const bool is_short = word[1] != '-';
      if (is_short != (name.size() == 1)) throw usage_error(fmt::format("unknown option {}", word));
      if (contains(flags, name)) {
        if (values_.count(name)) throw usage_error(fmt::format("option {} given twice", word));
        values_[name] = "";
      } else if (contains(options, name)) {
        if (i + 1 >= argc) throw usage_error(fmt::format("option {} needs a value", word));
        if (values_.count(name)) throw usage_error(fmt::format("option {} given twice", word));
        values_[name] = argv[++i];
      } else {
        throw usage_error(fmt::format("unknown option {}", word));
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }

  const std::string& required(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) throw usage_error(fmt::format("missing {}", spelled(name)));
    return it->second;
  }

  std::string value_or(const std::string& name, const std::string& fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

  /// A finite number.
  double number(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    const std::string& text = values_.at(name);
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size() || !std::isfinite(v))
      throw usage_error(fmt::format("{} '{}' is not a number", spelled(name), text));
    return v;
  }

  /// An integer in [lo, hi].
  long integer(const std::string& name, long fallback, long lo, long hi) const {
    if (!has(name)) return fallback;
    const double v = number(name, 0);
    if (v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi))
      throw usage_error(fmt::format("{} must be an integer from {} to {}, got '{}'", spelled(name), lo, hi, values_.at(name)));
    return static_cast<long>(v);
  }

  static std::string spelled(const std::string& name) { return (name.size() == 1 ? "-" : "--") + name; }

 private:
  static bool contains(const std::vector<std::string>& list, const std::string& name) {
    for (const auto& s : list)
      if (s == name) return true;
    return false;
  }

  std::map<std::string, std::string> values_;
};

}  // namespace act_llama
