#pragma once
/// \file mpi/fit.hpp
/// An exact distributed fit on MPI. Only code that includes this header needs MPI; nothing else in act
/// does. Every rank holds some rows of each side (a column source, columns/source.hpp); the ranks'
/// rows in rank order are the samples. Methods whose neurons are independent (method_info::per_neuron)
/// exchange samples all-to-all so that each rank holds every sample of its block of neurons, fit that
/// block with the estimator's own fit, and gather the maps: each rank keeps about (input / ranks) plus
/// one exchange buffer. pca and itic need whole rows: the root gathers both sides whole and fits.
/// Either way the result equals the single-process fit on the concatenated rows bit for bit.
///
///     MPI_Init(&argc, &argv);
///     act::npy_columns source(my_source_shard), target(my_target_shard);
///     auto fit = act::mpi::fit(act::linear_act{}, source, target, MPI_COMM_WORLD);  // every rank gets the map
///
/// Any rank's failure (an unreadable shard, a NaN, a width mismatch) throws act::mpi::error on every
/// rank, with each failed rank's message prefixed by "rank N: ".

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <act/columns/fit.hpp>
#include <act/core/error.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/estimators/registry.hpp>
#include <act/maps/fit_result.hpp>

namespace act::mpi {

/// Thrown on every rank when any rank failed; the message names each failed rank.
class error : public act::error {
 public:
  using act::error::error;
};

/// Which ranks receive the fitted map.
enum class gather_to {
  all,  ///< every rank
  root  ///< only fit_options::root; the others get sample counts and an empty map
};

/// How act::mpi::fit runs.
struct fit_options {
  gather_to destination = gather_to::all;
  int root = 0;
  /// Bytes of one all-to-all round's send buffer on a rank (its rows x the neurons of the round): the
  /// exchange runs in as many rounds as needed to stay within it.
  std::size_t exchange_bytes = std::size_t(64) << 20;
};

/// Collective: every rank passes its error message ("" when it did fine). When any message is not
/// empty, every rank throws act::mpi::error with "rank N: message" of each failed rank, joined by "; ".
inline void agree(MPI_Comm comm, const std::string& message) {
  int failed = message.empty() ? 0 : 1, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
  if (any == 0) return;
  int ranks = 0;
  MPI_Comm_size(comm, &ranks);
  const int length = static_cast<int>(std::min<std::size_t>(message.size(), 4096));
  std::vector<int> lengths(static_cast<std::size_t>(ranks)), offsets(static_cast<std::size_t>(ranks));
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm);
  int total = 0;
  for (int r = 0; r < ranks; ++r) {
    offsets[static_cast<std::size_t>(r)] = total;
    total += lengths[static_cast<std::size_t>(r)];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(message.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, comm);
  std::string joined;
  for (int r = 0; r < ranks; ++r) {
    const auto n = static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)]);
    if (n == 0) continue;
    if (!joined.empty()) joined += "; ";
    joined += "rank " + std::to_string(r) + ": " +
              all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]), n);
  }
  throw error(joined);
}

/// Collective: runs f() on every rank, then act::mpi::agree on what it threw (if anything).
template <class F>
void collectively(MPI_Comm comm, F&& f) {
  std::string message;
  try {
    f();
  } catch (const std::exception& e) {
    message = e.what();
    if (message.empty()) message = "failed";
  } catch (...) {
    message = "failed with an unknown exception";
  }
  agree(comm, message);
}

namespace detail {

template <class Scalar>
MPI_Datatype datatype() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "samples are float or double");
  return std::is_same_v<Scalar, float> ? MPI_FLOAT : MPI_DOUBLE;
}

/// Throws act::non_finite_error naming the first NaN / Inf of a block read from this rank's rows.
template <class Matrix>
void check_local_finite(const Matrix& block, Eigen::Index first_neuron) {
  if (act::detail::all_finite(block)) return;
  for (Eigen::Index j = 0; j < block.cols(); ++j)
    for (Eigen::Index i = 0; i < block.rows(); ++i)
      if (!std::isfinite(block(i, j)))
        raise<non_finite_error>("non-finite value {} at local row {}, neuron {} (samples must be finite)",
                                static_cast<double>(block(i, j)), i, first_neuron + j);
}

inline int checked_int(std::size_t v, std::string_view what) {
  if (v > static_cast<std::size_t>(INT_MAX))
    raise<invalid_argument>("act::mpi::fit: {} ({}) exceeds MPI's int counts", what, v);
  return static_cast<int>(v);
}

/// What every rank knows of the ranks' rows: counts, first rows, and the common width.
struct row_layout {
  std::vector<Eigen::Index> source_rows, target_rows;
  Eigen::Index source_total = 0, target_total = 0, d = 0;
};

template <class SourceA, class SourceB>
row_layout layout_of(const SourceA& source, const SourceB& target, MPI_Comm comm, int ranks) {
  const long long mine[4] = {static_cast<long long>(source.rows()), static_cast<long long>(source.cols()),
                             static_cast<long long>(target.rows()), static_cast<long long>(target.cols())};
  std::vector<long long> all(4 * static_cast<std::size_t>(ranks));
  MPI_Allgather(mine, 4, MPI_LONG_LONG, all.data(), 4, MPI_LONG_LONG, comm);
  row_layout out;
  long long width = -1;
  int width_rank = 0;
  const char* width_side = "source";
  for (int r = 0; r < ranks; ++r) {
    for (int side = 0; side < 2; ++side) {
      const long long rows = all[4 * static_cast<std::size_t>(r) + 2 * static_cast<std::size_t>(side)];
      const long long cols = all[4 * static_cast<std::size_t>(r) + 2 * static_cast<std::size_t>(side) + 1];
      (side == 0 ? out.source_rows : out.target_rows).push_back(static_cast<Eigen::Index>(rows));
      if (rows == 0 && cols == 0) continue;  // a rank with nothing on this side has no say in the width
      const char* name = side == 0 ? "source" : "target";
      if (width < 0) {
        width = cols;
        width_rank = r;
        width_side = name;
      } else if (cols != width) {
        raise<shape_error>("act::mpi::fit: rank {} holds {} rows of {} neurons, but rank {} holds {} rows of {}", r,
                           name, cols, width_rank, width_side, width);
      }
    }
  }
  for (const Eigen::Index n : out.source_rows) out.source_total += n;
  for (const Eigen::Index n : out.target_rows) out.target_total += n;
  out.d = static_cast<Eigen::Index>(std::max(0LL, width));
  return out;
}

/// First neuron of rank r's block: d neurons in `ranks` contiguous blocks (empty when d < ranks).
inline Eigen::Index block_start(Eigen::Index d, int ranks, int r) {
  return static_cast<Eigen::Index>(static_cast<long long>(d) * r / ranks);
}

/// All samples of this rank's neurons [first, first + count) of one side, exchanged all-to-all in rounds.
template <class Scalar, class Source>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> exchange(const Source& local,
                                                               const std::vector<Eigen::Index>& rows, Eigen::Index d,
                                                               MPI_Comm comm, int ranks, int rank,
                                                               std::size_t exchange_bytes) {
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const auto R = static_cast<std::size_t>(ranks);
  Eigen::Index total = 0;
  std::vector<Eigen::Index> row_start(R);
  for (std::size_t q = 0; q < R; ++q) {
    row_start[q] = total;
    total += rows[q];
  }
  const Eigen::Index mine_first = block_start(d, ranks, rank),
                     mine_count = block_start(d, ranks, rank + 1) - mine_first;
  Eigen::Index widest = 0;
  for (int p = 0; p < ranks; ++p) widest = std::max(widest, block_start(d, ranks, p + 1) - block_start(d, ranks, p));
  // Neurons per block and round: the send buffer (local rows x neurons x ranks) within the budget, every
  // count within int; the same on every rank.
  const Eigen::Index local_rows = rows[static_cast<std::size_t>(rank)];
  const std::size_t per_neuron = sizeof(Scalar) * static_cast<std::size_t>(std::max<Eigen::Index>(1, local_rows)) * R;
  long long step = static_cast<long long>(std::max<std::size_t>(1, exchange_bytes / per_neuron));
  step = std::min<long long>(
      step, INT_MAX / std::max<long long>(1, std::max<long long>(total, local_rows * static_cast<long long>(R))));
  step = std::max(1LL, step);
  MPI_Allreduce(MPI_IN_PLACE, &step, 1, MPI_LONG_LONG, MPI_MIN, comm);
  const auto c = static_cast<Eigen::Index>(step);
  const Eigen::Index rounds = widest == 0 ? 0 : (widest + c - 1) / c;

  matrix out(total, mine_count);
  std::vector<Scalar> send, receive;
  std::vector<int> send_counts(R), send_offsets(R), receive_counts(R), receive_offsets(R);
  for (Eigen::Index round = 0; round < rounds; ++round) {
    // This round's slice of every rank's block, read from the local rows.
    std::size_t at = 0;
    for (int p = 0; p < ranks; ++p) {
      const Eigen::Index first = block_start(d, ranks, p), count = block_start(d, ranks, p + 1) - first;
      const Eigen::Index width = std::clamp<Eigen::Index>(count - round * c, 0, c);
      send_counts[static_cast<std::size_t>(p)] = static_cast<int>(local_rows * width);
      send_offsets[static_cast<std::size_t>(p)] = static_cast<int>(at);
      at += static_cast<std::size_t>(local_rows * width);
    }
    send.resize(at);
    act::mpi::collectively(comm, [&] {
      for (int p = 0; p < ranks; ++p) {
        const Eigen::Index width = local_rows == 0 ? 0 : send_counts[static_cast<std::size_t>(p)] / local_rows;
        if (width == 0) continue;
        Eigen::Map<matrix> block(send.data() + send_offsets[static_cast<std::size_t>(p)], local_rows, width);
        local.template read<Scalar>(block_start(d, ranks, p) + round * c, width, block);
        check_local_finite(block, block_start(d, ranks, p) + round * c);
      }
    });
    const Eigen::Index my_width = std::clamp<Eigen::Index>(mine_count - round * c, 0, c);
    std::size_t in = 0;
    for (std::size_t q = 0; q < R; ++q) {
      receive_counts[q] = static_cast<int>(rows[q] * my_width);
      receive_offsets[q] = static_cast<int>(in);
      in += static_cast<std::size_t>(rows[q] * my_width);
    }
    receive.resize(in);
    MPI_Alltoallv(send.data(), send_counts.data(), send_offsets.data(), datatype<Scalar>(), receive.data(),
                  receive_counts.data(), receive_offsets.data(), datatype<Scalar>(), comm);
    for (std::size_t q = 0; q < R && my_width > 0; ++q)
      out.block(row_start[q], round * c, rows[q], my_width) =
          Eigen::Map<const matrix>(receive.data() + receive_offsets[q], rows[q], my_width);
  }
  return out;
}

/// A fitted block's map and diagnostics as doubles, one column of `fields` values per neuron (floats and
/// doubles pass through double exactly). `shape` is what the receiver needs to rebuild the map:
/// bounded (affine) or the knot count (quantile).
template <class Scalar>
int map_shape(const affine_map<Scalar>& m) {
  return m.bounded() ? 1 : 0;
}
template <class Scalar>
int map_shape(const quantile_map<Scalar>& m) {
  return static_cast<int>(m.knots_source.rows());
}
/// Diagnostics per neuron: r2, w2_before, w2_after, low_spread.
inline constexpr std::size_t diagnostic_fields = 4;
template <class Scalar>
std::size_t fields_of(const affine_map<Scalar>*, int shape) {
  return 2 + (shape ? 3 : 0) + diagnostic_fields;  // bounded: lower, upper and whether they are open
}
template <class Scalar>
std::size_t fields_of(const quantile_map<Scalar>*, int shape) {
  return 2 * static_cast<std::size_t>(shape) + diagnostic_fields;
}

template <class Scalar>
void pack_map(const affine_map<Scalar>& m, Eigen::Index j, double* to) {
  *to++ = m.omega[j];
  *to++ = m.beta[j];
  if (m.bounded()) {
    *to++ = m.lower[j];
    *to++ = m.upper[j];
    *to++ = m.bounds == support_bounds::open ? 1.0 : 0.0;
  }
}
template <class Scalar>
void pack_map(const quantile_map<Scalar>& m, Eigen::Index j, double* to) {
  for (Eigen::Index k = 0; k < m.knots_source.rows(); ++k) *to++ = m.knots_source(k, j);
  for (Eigen::Index k = 0; k < m.knots_target.rows(); ++k) *to++ = m.knots_target(k, j);
}
template <class Scalar>
void unpack_map(affine_map<Scalar>& m, Eigen::Index d, int shape, Eigen::Index j, const double* from) {
  if (m.omega.size() != d) {
    m.omega.resize(d);
    m.beta.resize(d);
    m.lower.resize(shape ? d : 0);
    m.upper.resize(shape ? d : 0);
  }
  m.omega[j] = static_cast<Scalar>(*from++);
  m.beta[j] = static_cast<Scalar>(*from++);
  if (shape) {
    m.lower[j] = static_cast<Scalar>(*from++);
    m.upper[j] = static_cast<Scalar>(*from++);
    m.bounds = *from++ != 0.0 ? support_bounds::open : support_bounds::closed;
  }
}
template <class Scalar>
void unpack_map(quantile_map<Scalar>& m, Eigen::Index d, int shape, Eigen::Index j, const double* from) {
  if (m.knots_source.cols() != d) {
    m.knots_source.resize(shape, d);
    m.knots_target.resize(shape, d);
  }
  for (Eigen::Index k = 0; k < shape; ++k) m.knots_source(k, j) = static_cast<Scalar>(*from++);
  for (Eigen::Index k = 0; k < shape; ++k) m.knots_target(k, j) = static_cast<Scalar>(*from++);
}

/// Packs neurons [0, count) of a fit as doubles, `fields` per neuron.
template <class Result>
std::vector<double> pack(const Result& fit, Eigen::Index count, std::size_t fields) {
  std::vector<double> out(fields * static_cast<std::size_t>(count));
  for (Eigen::Index j = 0; j < count; ++j) {
    double* to = out.data() + fields * static_cast<std::size_t>(j);
    pack_map(fit.map, j, to);
    double* diag = to + fields - diagnostic_fields;
    diag[0] = fit.diagnostics.r2[j];
    diag[1] = fit.diagnostics.w2_before[j];
    diag[2] = fit.diagnostics.w2_after[j];
    diag[3] = j < fit.diagnostics.low_spread.size() && fit.diagnostics.low_spread[j] ? 1.0 : 0.0;
  }
  return out;
}

template <class Result>
void unpack(Result& fit, const std::vector<double>& packed, Eigen::Index d, int shape, std::size_t fields) {
  fit.diagnostics = {Eigen::ArrayXd(d), Eigen::ArrayXd(d), Eigen::ArrayXd(d), Eigen::Array<bool, Eigen::Dynamic, 1>(d)};
  for (Eigen::Index j = 0; j < d; ++j) {
    const double* from = packed.data() + fields * static_cast<std::size_t>(j);
    unpack_map(fit.map, d, shape, j, from);
    const double* diag = from + fields - diagnostic_fields;
    fit.diagnostics.r2[j] = diag[0];
    fit.diagnostics.w2_before[j] = diag[1];
    fit.diagnostics.w2_after[j] = diag[2];
    fit.diagnostics.low_spread[j] = diag[3] != 0.0;
  }
}

}  // namespace detail

/// Fits `estimator` on the rows every rank of `comm` holds (collective: every rank calls it with its
/// `source` and `target` column sources, either may have 0 rows). Returns the fit of all ranks' rows in
/// rank order on the ranks `options.destination` names (elsewhere: sample counts, empty map). Throws
/// act::mpi::error on every rank when any rank failed, act::shape_error on every rank when the ranks'
/// widths differ, and the estimator's own error (on every rank) for too few samples.
template <class Scalar = float, class Estimator, class SourceA, class SourceB,
          class = std::enable_if_t<!std::is_convertible_v<const Estimator&, std::string_view>>>
auto fit(const Estimator& estimator, const SourceA& source, const SourceB& target, MPI_Comm comm,
         const fit_options& options = {}) {
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using result = decltype(estimator.fit(std::declval<const matrix&>(), std::declval<const matrix&>()));
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  if (options.root < 0 || options.root >= ranks)
    raise<invalid_argument>("act::mpi::fit: root {} is not a rank of the communicator (0 .. {})", options.root,
                            ranks - 1);
  const detail::row_layout rows = detail::layout_of(source, target, comm, ranks);
  const Eigen::Index d = rows.d, na = rows.source_total, nb = rows.target_total;
  if (d == 0 || na < 2 || nb < 2) {  // every rank knows: the estimator's own message, everywhere
    const matrix a(na, d), b(nb, d);
    return estimator.fit(a, b);
  }
  const bool here = options.destination == gather_to::all || rank == options.root;
  result out;
  out.source_samples = na;
  out.target_samples = nb;
  std::vector<double> packed;
  int shape = 0;
  std::size_t fields = 0;

  if constexpr (Estimator::per_neuron) {
    const matrix a = detail::exchange<Scalar>(source, rows.source_rows, d, comm, ranks, rank, options.exchange_bytes);
    const matrix b = detail::exchange<Scalar>(target, rows.target_rows, d, comm, ranks, rank, options.exchange_bytes);
    const Eigen::Index count = a.cols();
    result part;
    collectively(comm, [&] {
      if (count > 0) part = estimator.fit(a, b);
    });
    shape = count > 0 ? detail::map_shape(part.map) : 0;
    MPI_Allreduce(MPI_IN_PLACE, &shape, 1, MPI_INT, MPI_MAX, comm);
    fields = detail::fields_of(&part.map, shape);
    const std::vector<double> mine = detail::pack(part, count, fields);
    std::vector<int> counts(static_cast<std::size_t>(ranks)), offsets(static_cast<std::size_t>(ranks));
    for (int p = 0; p < ranks; ++p) {
      const Eigen::Index first = detail::block_start(d, ranks, p);
      counts[static_cast<std::size_t>(p)] = detail::checked_int(
          fields * static_cast<std::size_t>(detail::block_start(d, ranks, p + 1) - first), "a block's map");
      offsets[static_cast<std::size_t>(p)] = detail::checked_int(fields * static_cast<std::size_t>(first), "the map");
    }
    packed.resize(here ? fields * static_cast<std::size_t>(d) : 0);
    if (options.destination == gather_to::all)
      MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, packed.data(), counts.data(),
                     offsets.data(), MPI_DOUBLE, comm);
    else
      MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, packed.data(), counts.data(), offsets.data(),
                  MPI_DOUBLE, options.root, comm);
  } else {
    // Whole rows: the root gathers both sides (row-major, so each rank's rows land contiguously) and fits.
    using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    struct row_datatype {  // freed however the gathering ends
      MPI_Datatype type = MPI_DATATYPE_NULL;
      ~row_datatype() {
        if (type != MPI_DATATYPE_NULL) MPI_Type_free(&type);
      }
    } row;
    MPI_Type_contiguous(detail::checked_int(static_cast<std::size_t>(d), "the width"), detail::datatype<Scalar>(),
                        &row.type);
    MPI_Type_commit(&row.type);
    const MPI_Datatype row_type = row.type;
    const auto gather_rows = [&](const auto& local, const std::vector<Eigen::Index>& counts_of, Eigen::Index total) {
      row_matrix mine;
      collectively(comm, [&] {
        const Eigen::Index n = counts_of[static_cast<std::size_t>(rank)];
        if (n == 0) return;
        matrix block(n, d);
        local.template read<Scalar>(0, d, block);
        detail::check_local_finite(block, 0);
        mine = block;
      });
      std::vector<int> counts(static_cast<std::size_t>(ranks)), offsets(static_cast<std::size_t>(ranks));
      Eigen::Index at = 0;
      for (int p = 0; p < ranks; ++p) {
        counts[static_cast<std::size_t>(p)] =
            detail::checked_int(static_cast<std::size_t>(counts_of[static_cast<std::size_t>(p)]), "rows");
        offsets[static_cast<std::size_t>(p)] = detail::checked_int(static_cast<std::size_t>(at), "rows");
        at += counts_of[static_cast<std::size_t>(p)];
      }
      row_matrix all(rank == options.root ? total : 0, d);
      MPI_Gatherv(mine.data(), static_cast<int>(mine.rows()), row_type, all.data(), counts.data(), offsets.data(),
                  row_type, options.root, comm);
      return all;
    };
    const row_matrix a = gather_rows(source, rows.source_rows, na);
    const row_matrix b = gather_rows(target, rows.target_rows, nb);
    result whole;
    collectively(comm, [&] {
      if (rank == options.root) whole = estimator.fit(a, b);
    });
    shape = rank == options.root ? detail::map_shape(whole.map) : 0;
    MPI_Bcast(&shape, 1, MPI_INT, options.root, comm);
    fields = detail::fields_of(&whole.map, shape);
    if (rank == options.root) packed = detail::pack(whole, d, fields);
    if (options.destination == gather_to::all) {
      packed.resize(fields * static_cast<std::size_t>(d));
      MPI_Bcast(packed.data(), detail::checked_int(packed.size(), "the map"), MPI_DOUBLE, options.root, comm);
    }
  }
  if (here) detail::unpack(out, packed, d, shape, fields);
  return out;
}

/// Fits method `name` (any registered method, configured by `settings` as act::fit does) across `comm`.
template <class Scalar = float, class SourceA, class SourceB>
fit_result<any_map<Scalar>> fit(std::string_view name, const SourceA& source, const SourceB& target, MPI_Comm comm,
                                const fit_settings& settings = {}, const fit_options& options = {}) {
  return with_estimator(name, settings, [&](const auto& estimator) {
    auto f = act::mpi::fit<Scalar>(estimator, source, target, comm, options);
    return fit_result<any_map<Scalar>>{std::move(f.map), std::move(f.diagnostics), f.source_samples, f.target_samples};
  });
}

}  // namespace act::mpi
