#pragma once
// Command-line parsing for act-cli: `--flag value` options after a subcommand, positional words.

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace act_cli {

/// A mistake in how the tool was called: reported with the usage text and exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The options and positional words given to one subcommand.
class arguments {
 public:
  /// Parses argv[first..]; `flags` take no value, `options` take one, `repeatable` options may be given
  /// several times (see values()).
  arguments(int argc, char** argv, int first, const std::vector<std::string>& options, const std::vector<std::string>& flags,
            const std::vector<std::string>& repeatable = {}) {
    for (int i = first; i < argc; ++i) {
      const std::string word = argv[i];
      if (word.rfind("--", 0) != 0 || word.size() == 2) {
        positional_.push_back(word);
        continue;
      }
      const std::string name = word.substr(2);
      if (contains(flags, name)) {
        values_[name] = "";
      } else if (contains(options, name) || contains(repeatable, name)) {
        if (i + 1 >= argc) throw usage_error(fmt::format("option --{} needs a value", name));
        if (values_.count(name) && !contains(repeatable, name)) throw usage_error(fmt::format("option --{} given twice", name));
        all_[name].push_back(argv[++i]);
        values_.emplace(name, all_[name].front());
      } else {
        throw usage_error(fmt::format("unknown option --{}", name));
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }

  /// The value of a required option.
  const std::string& required(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) throw usage_error(fmt::format("missing --{}", name));
    return it->second;
  }

  std::string value_or(const std::string& name, const std::string& fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

  /// A number-valued option: a finite decimal (or hexadecimal) floating-point number. "1e309" is out of
  /// range, "inf" and "nan" are not finite, anything else unparsed is not a number; all usage errors.
  /// (Values too small for a double, like 1e-400, round to 0 or a subnormal and are accepted.)
  double number(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    const std::string& text = values_.at(name);
    char* end = nullptr;
    errno = 0;
    const double v = text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ? 0.0 : std::strtod(text.c_str(), &end);
    if (end == nullptr || end != text.c_str() + text.size()) throw usage_error(fmt::format("--{} '{}' is not a number", name, text));
    if (errno == ERANGE && std::isinf(v))
      throw usage_error(fmt::format("--{} '{}' is out of range (the largest number is about 1.8e308)", name, text));
    if (!std::isfinite(v)) throw usage_error(fmt::format("--{} '{}' is not a finite number", name, text));
    return v;
  }

  /// Every value of an option, in command-line order (empty when not given).
  std::vector<std::string> values(const std::string& name) const {
    const auto it = all_.find(name);
    return it == all_.end() ? std::vector<std::string>{} : it->second;
  }

  const std::vector<std::string>& positional() const { return positional_; }

 private:
  static bool contains(const std::vector<std::string>& list, const std::string& name) {
    for (const auto& s : list)
      if (s == name) return true;
    return false;
  }

  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_;
  std::vector<std::string> positional_;
};

}  // namespace act_cli
