#pragma once
// The samples of `fit` (act-cli and act-mpi): several .npy files per side, rows concatenated in order;
// 3-D [B x T x d] files pooled over their valid tokens (--lengths / --mask, one per 3-D file in the order
// the 3-D files come: source files first, then target files). Nothing is read here: the files are mapped
// and act::fit_columns reads them a block of neurons at a time.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include <act/columns/pooled.hpp>
#include <act/columns/source.hpp>
#include <act/core/error.hpp>
#include <act/estimators/registry.hpp>
#include <act/columns/npy_columns.hpp>
#include <act/io/npy_mapped.hpp>
#include <fmt/format.h>

#include "arguments.hpp"

namespace act_cli {

using act_tools::arguments;
using act_tools::usage_error;

/// --method: a registered method; a usage error listing them otherwise.
inline const act::method_info& method_option(const arguments& args) {
  const std::string name = args.required("method");
  const act::method_info* info = act::find_method(name);
  if (info == nullptr) {
    std::vector<std::string> names;
    for (const act::method_info& m : act::methods()) names.emplace_back(m.name);
    const std::string guess = act_tools::nearest(name, names);
    throw usage_error(fmt::format("unknown --method '{}'{} (one of: {})", name,
                                  guess.empty() ? "" : fmt::format(" (did you mean {}?)", guess), act::method_names()));
  }
  return *info;
}

/// The registered methods `keep` selects, as "a/b/c" (for messages and hints).
template <class Keep>
std::string method_names_where(Keep&& keep) {
  std::string out;
  for (const act::method_info& m : act::methods())
    if (keep(m)) out += fmt::format("{}{}", out.empty() ? "" : "/", m.name);
  return out;
}

/// --knots (quantile maps only): 0 (a knot at every sample, as in the library) or an integer from 2 to 1e9.
inline int knots_option(const arguments& args, const act::method_info& method, int fallback) {
  if (!args.has("knots")) return fallback;
  if (method.kind != act::map_kind::quantile)
    throw usage_error(
        fmt::format("--knots applies to --method {} only",
                    method_names_where([](const act::method_info& m) { return m.kind == act::map_kind::quantile; })));
  const double k = args.number("knots", fallback);
  if (!((k == 0 || k >= 2) && k <= 1e9 && k == static_cast<double>(static_cast<long>(k))))
    throw usage_error(
        fmt::format("--knots must be 0 (every sample) or an integer from 2 to 1e9, got '{}'", args.required("knots")));
  return static_cast<int>(k);
}

/// --support, --support-bounds, --min-std and --knots into `settings`, refusing options `method` does not
/// take; returns the support in force (the method's default without --support).
inline act::support support_options(const arguments& args, const act::method_info& method,
                                    act::fit_settings& settings) {
  act::support support;
  try {
    if (args.has("support")) settings.support = act::support::parse(args.required("support"));
    if (args.has("support-bounds"))
      settings.bounds = act::parse_bounds(args.required("support-bounds"), "--support-bounds");
    support = act::support_for(method, settings);
  } catch (const act::invalid_argument& e) {
    throw usage_error(fmt::format("{}{}", args.has("support") ? "--support: " : "", e.what()));
  }
  if (args.has("support-bounds") && !(method.has_support && support.bounded))
    throw usage_error(
        fmt::format("--support-bounds applies to bounded supports of affine methods; {} has {}", method.name,
                    method.has_support ? "an unbounded support (--support all)" : "knots, not a support"));
  if (args.has("min-std")) {
    if (!method.has_min_std)
      throw usage_error(fmt::format("--min-std applies to --method {} only",
                                    method_names_where([](const act::method_info& m) { return m.has_min_std; })));
    settings.min_std = args.number("min-std", settings.min_std);
    if (!(settings.min_std >= 0))
      throw usage_error(fmt::format("--min-std must be >= 0, got '{}'", args.required("min-std")));
  }
  settings.knots = knots_option(args, method, settings.knots);
  return support;
}

/// --pooling: how 3-D inputs become samples (and the label the map file records); mean by default.
inline act::pooling pooling_option(const arguments& args) {
  try {
    return act::parse_pooling(args.value_or("pooling", "mean"));
  } catch (const act::invalid_argument& e) {
    throw usage_error(e.what());
  }
}

/// Which tokens of the 3-D files are valid: files of lengths (one int per sequence) or of masks ([B x T],
/// nonzero = valid), consumed in order by the 3-D files.
struct token_validity {
  std::deque<std::string> files;
  bool masks = false;
};

/// One 3-D file's valid-token flags from its lengths or mask file.
inline std::vector<std::uint8_t> valid_tokens(const act::npy_columns& tokens, const std::string& file, bool mask) {
  const act::npy_integers v = act::read_npy_integers(file);
  const auto sequences = static_cast<std::uint64_t>(tokens.rows() / tokens.sequence_length());
  const auto seq_len = static_cast<std::uint64_t>(tokens.sequence_length());
  if (!mask) {
    if (v.shape.size() != 1 || v.shape[0] != sequences)
      act::raise<act::shape_error>("{}: lengths of {} must be a 1-D array of {} sequence lengths, got shape ({})", file,
                                   tokens.path(), sequences, fmt::join(v.shape, ", "));
    return act::valid_from_lengths(v.values, tokens.sequence_length(), file);
  }
  if (v.shape.size() != 2 || v.shape[0] != sequences || v.shape[1] != seq_len)
    act::raise<act::shape_error>("{}: mask of {} must be a [{} x {}] array (sequences x tokens), got shape ({})", file,
                                 tokens.path(), sequences, seq_len, fmt::join(v.shape, ", "));
  std::vector<std::uint8_t> valid(v.values.size());
  for (std::size_t i = 0; i < valid.size(); ++i) valid[i] = v.values[i] != 0;
  for (std::uint64_t k = 0; k < sequences; ++k) {
    bool any = false;
    for (std::uint64_t t = 0; t < seq_len; ++t) any = any || valid[k * seq_len + t];
    if (!any) act::raise<act::invalid_argument>("{}: sequence {} of {} has no valid token", file, k, tokens.path());
  }
  return valid;
}

/// The samples of one side: its files one after the other, 3-D ones pooled with `how`.
inline act::stacked_columns<float> side_columns(const std::vector<std::string>& files, token_validity& validity,
                                                act::pooling how) {
  act::stacked_columns<float> side;
  for (const std::string& file : files) {
    act::npy_columns x(file);
    if (x.dimensions() == 2) {
      side.push_back(std::move(x), file);
      continue;
    }
    std::vector<std::uint8_t> valid;  // no --lengths / --mask: every token counts
    if (!validity.files.empty()) {
      valid = valid_tokens(x, validity.files.front(), validity.masks);
      validity.files.pop_front();
    }
    const Eigen::Index seq_len = x.sequence_length();
    side.push_back(act::pooled_columns<act::npy_columns>(std::move(x), seq_len, std::move(valid), how), file);
  }
  return side;
}

/// How many of `files` are 3-D (headers only).
inline std::size_t count_3d(const std::vector<std::string>& files) {
  std::size_t n = 0;
  for (const std::string& file : files) n += act::npy_mapped(file).shape().size() == 3;
  return n;
}

}  // namespace act_cli
