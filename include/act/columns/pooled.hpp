#pragma once
/// \file pooled.hpp
/// A column source of token rows pooled into one sample per sequence (act::pool_padded on each block of
/// neurons, so the samples equal pooling the whole matrix at once).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/columns/source.hpp>
#include <act/core/error.hpp>
#include <act/sites/pooling.hpp>

namespace act {

/// Valid-token flags of B sequences of T tokens from their lengths (token t of sequence k is valid when
/// t < lengths[k]). Throws act::invalid_argument naming `origin` for a length outside [1, T].
inline std::vector<std::uint8_t> valid_from_lengths(const std::vector<std::int64_t>& lengths, Eigen::Index seq_len,
                                                    const std::string& origin) {
  std::vector<std::uint8_t> valid(lengths.size() * static_cast<std::size_t>(seq_len), 0);
  for (std::size_t k = 0; k < lengths.size(); ++k) {
    if (lengths[k] < 1 || lengths[k] > seq_len)
      raise<invalid_argument>("{}: length of sequence {} is {}; need 1 .. {} (tokens per sequence)", origin, k,
                              lengths[k], seq_len);
    for (std::int64_t t = 0; t < lengths[k]; ++t)
      valid[k * static_cast<std::size_t>(seq_len) + static_cast<std::size_t>(t)] = 1;
  }
  return valid;
}

/// Sequences of `seq_len` token rows of `tokens` (a column source of B T rows), pooled over their valid
/// tokens (`valid`: one flag per row, empty = all valid) into B samples.
///
///     act::pooled_columns<act::npy_columns> x(act::npy_columns("acts_BxTxd.npy"), T, valid, act::pooling::mean);
template <class Source>
class pooled_columns {
 public:
  /// Throws act::shape_error when the rows are not whole sequences or `valid` has the wrong size.
  pooled_columns(Source tokens, Eigen::Index seq_len, std::vector<std::uint8_t> valid, pooling how)
      : tokens_(std::move(tokens)), seq_len_(seq_len), valid_(std::move(valid)), how_(how) {
    if (seq_len_ <= 0 || tokens_.rows() % seq_len_ != 0)
      raise<shape_error>("pooled_columns: {} token rows are not whole sequences of {} tokens", tokens_.rows(),
                         seq_len_);
    if (!valid_.empty() && static_cast<Eigen::Index>(valid_.size()) != tokens_.rows())
      raise<shape_error>("pooled_columns: {} validity flags for {} token rows", valid_.size(), tokens_.rows());
  }

  Eigen::Index rows() const { return tokens_.rows() / seq_len_; }
  Eigen::Index cols() const { return tokens_.cols(); }

  template <class Scalar>
  void read(Eigen::Index first, Eigen::Index count,
            Eigen::Ref<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> out) const {
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> block(tokens_.rows(), count);
    tokens_.template read<Scalar>(first, count, block);
    out = pool_padded(block, seq_len_, valid_, how_);
  }
  /// The token block and the pooled copy.
  std::size_t read_scratch_bytes(Eigen::Index count, std::size_t scalar_bytes) const {
    return static_cast<std::size_t>(tokens_.rows() + rows()) * static_cast<std::size_t>(count) * scalar_bytes +
           act::read_scratch_bytes(tokens_, count, scalar_bytes);
  }

 private:
  Source tokens_;
  Eigen::Index seq_len_;
  std::vector<std::uint8_t> valid_;
  pooling how_;
};

}  // namespace act
