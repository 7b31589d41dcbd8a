#pragma once
// Command-line parsing for act-cli: `--flag value` options after a subcommand, positional words.

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
  /// Parses argv[first..]; `flags` take no value, `options` take one.
  arguments(int argc, char** argv, int first, const std::vector<std::string>& options, const std::vector<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
      const std::string word = argv[i];
      if (word.rfind("--", 0) != 0 || word.size() == 2) {
        positional_.push_back(word);
        continue;
      }
      const std::string name = word.substr(2);
      if (contains(flags, name)) {
        values_[name] = "";
      } else if (contains(options, name)) {
        if (i + 1 >= argc) throw usage_error(fmt::format("option --{} needs a value", name));
        if (values_.count(name)) throw usage_error(fmt::format("option --{} given twice", name));
        values_[name] = argv[++i];
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

  /// A number-valued option; `what` describes the accepted values in the error.
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
    if (used != text.size() || text.empty()) throw usage_error(fmt::format("--{} '{}' is not a number", name, text));
    return v;
  }

  const std::vector<std::string>& positional() const { return positional_; }

 private:
  static bool contains(const std::vector<std::string>& list, const std::string& name) {
    for (const auto& s : list)
      if (s == name) return true;
    return false;
  }

  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace act_cli
