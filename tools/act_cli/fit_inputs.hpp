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
#include <act/io/npy_columns.hpp>
#include <act/io/npy_mapped.hpp>
#include <fmt/format.h>

#include "arguments.hpp"

namespace act_cli {

/// --method: a registered method; a usage error listing them otherwise.
inline const act::method_info& method_option(const arguments& args) {
  const std::string name = args.required("method");
  const act::method_info* info = act::find_method(name);
  if (info == nullptr) throw usage_error(fmt::format("unknown --method '{}' (one of: {})", name, act::method_names()));
  return *info;
}

/// --knots (quantile maps only): 0 (a knot at every sample, as in the library) or an integer >= 2.
inline int knots_option(const arguments& args, const act::method_info& method, int fallback) {
  if (!args.has("knots")) return fallback;
  if (method.kind != act::map_kind::quantile) {
    std::string quantile;
    for (const act::method_info& m : act::methods())
      if (m.kind == act::map_kind::quantile) quantile += fmt::format("{}{}", quantile.empty() ? "" : "/", m.name);
    throw usage_error(fmt::format("--knots applies to --method {} only", quantile));
  }
  const double k = args.number("knots", fallback);
  if (!((k == 0 || k >= 2) && k <= 1e9 && k == static_cast<double>(static_cast<long>(k))))
    throw usage_error(fmt::format("--knots must be 0 (every sample) or an integer >= 2, got '{}'", args.required("knots")));
  return static_cast<int>(k);
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
      act::raise<act::shape_error>("{}: lengths of {} must be a 1-D array of {} sequence lengths, got shape ({})", file, tokens.path(),
                                   sequences, fmt::join(v.shape, ", "));
    return act::valid_from_lengths(v.values, tokens.sequence_length(), file);
  }
  if (v.shape.size() != 2 || v.shape[0] != sequences || v.shape[1] != seq_len)
    act::raise<act::shape_error>("{}: mask of {} must be a [{} x {}] array (sequences x tokens), got shape ({})", file, tokens.path(),
                                 sequences, seq_len, fmt::join(v.shape, ", "));
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
inline act::stacked_columns<float> side_columns(const std::vector<std::string>& files, token_validity& validity, act::pooling how) {
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
