#pragma once
/// \file rows.hpp
/// Row selection shared by hooks: runs of selected rows, threaded row ranges, and the checks of
/// masks, packed sequence lengths and per-row strengths.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/detail/kernels/parallel.hpp>

namespace act::detail {

/// Calls apply(begin, end) on each maximal run of consecutive rows r in [0, rows) with selected(r),
/// so kernels see contiguous row ranges.
template <class Selected, class Apply>
void for_selected_runs(Eigen::Index rows, Selected&& selected, Apply&& apply) {
  Eigen::Index r = 0;
  while (r < rows) {
    while (r < rows && !selected(r)) ++r;
    const Eigen::Index begin = r;
    while (r < rows && selected(r)) ++r;
    if (begin < r) apply(begin, r);
  }
}

/// Calls apply(begin, end) over [0, rows) split into contiguous ranges, at most `chunks` of them, run as tasks
/// of `ex`; buffers under `min_elements_per_thread` elements per chunk stay on the caller (a one-token decode
/// step never reaches the executor).
template <class Apply>
void for_rows_threaded(executor& ex, Eigen::Index rows, Eigen::Index cols, int chunks,
                       Eigen::Index min_elements_per_thread, Apply&& apply) {
  const Eigen::Index elements = rows * cols;
  if (chunks > 1 && elements >= 2 * min_elements_per_thread) {
    const Eigen::Index most = std::max<Eigen::Index>(1, elements / min_elements_per_thread);
    parallel_for(ex, rows, static_cast<int>(std::min<Eigen::Index>(chunks, most)), apply);
    return;
  }
  apply(Eigen::Index{0}, rows);
}

/// A mask needs one entry per row.
inline void check_mask_size(std::string_view who, std::string_view mode, std::size_t mask_size, Eigen::Index rows) {
  if (mask_size != static_cast<std::size_t>(rows))
    raise<shape_error>("{}{}: mask has {} entries but the buffer has {} rows", who, mode, mask_size, rows);
}

/// Packed sequence lengths are >= 1 each and add up to the buffer's rows.
inline void check_sequence_lengths(std::string_view who, std::string_view mode, const Eigen::Index* lengths,
                                   std::size_t sequences, Eigen::Index rows) {
  Eigen::Index total = 0;
  for (std::size_t k = 0; k < sequences; ++k) {
    if (lengths[k] <= 0) raise<invalid_argument>("{}{}: lengths[{}] = {}; need >= 1", who, mode, k, lengths[k]);
    total += lengths[k];
  }
  if (total != rows)
    raise<shape_error>("{}{}: {} lengths add up to {} rows but the buffer has {} rows", who, mode, sequences, total,
                       rows);
}

/// One finite strength per row.
inline void check_row_strengths(std::string_view who, std::string_view mode, const float* lambdas, std::size_t count,
                                Eigen::Index rows) {
  if (count != static_cast<std::size_t>(rows))
    raise<shape_error>("{}{}: {} strengths for a buffer of {} rows", who, mode, count, rows);
  for (std::size_t r = 0; r < count; ++r)
    if (!std::isfinite(lambdas[r]))
      raise<invalid_argument>("{}{}: lambdas[{}] = {}; strengths must be finite", who, mode, r, lambdas[r]);
}

}  // namespace act::detail
