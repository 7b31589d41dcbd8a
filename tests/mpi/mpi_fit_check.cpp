// act::mpi::fit on every rank count it is started with (tests/CMakeLists.txt runs it on 1-4 ranks): each
// rank holds an uneven share of the rows (some none), the map is gathered on every rank and on the root,
// and it must equal act::fit on all the rows bit for bit, for every method, including more ranks than
// neurons. A NaN on one rank must stop every rank with act::mpi::error naming that rank.
// Exit status 0 when every check holds on every rank.
#include <act/act.hpp>
#include <act/columns/source.hpp>
#include <act/mpi/fit.hpp>

#include <mpi.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fit_test_util.hpp"

namespace {

/// Rows [first, end) of n that rank r of p holds: uneven shares (later ranks hold more), rank 1 none when p > 2.
std::pair<Eigen::Index, Eigen::Index> share(Eigen::Index n, int r, int p) {
  std::vector<Eigen::Index> bound(static_cast<std::size_t>(p) + 1);
  for (int k = 0; k <= p; ++k) bound[static_cast<std::size_t>(k)] = n * k * k / (p * p);
  if (p > 2) bound[2] = bound[1];
  return {bound[static_cast<std::size_t>(r)], bound[static_cast<std::size_t>(r) + 1]};
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int failures = 0;
  const auto fail = [&](const std::string& what) {
    fmt::print(stderr, "rank {}: {}\n", rank, what);
    ++failures;
  };
  for (const Eigen::Index d : {Eigen::Index(3), Eigen::Index(29)}) {  // 3 < 4 ranks: some ranks fit no neuron
    const Eigen::MatrixXf a = act_test::random_samples(157, d, 1, 0.0f), b = act_test::random_samples(157, d, 2, 1.0f);
    const auto [a0, a1] = share(a.rows(), rank, ranks);
    const auto [b0, b1] = share(b.rows(), ranks - 1 - rank, ranks);  // the other side split differently
    // Rank r holds its rows; the target's shares run backwards, so reorder the full target to match.
    Eigen::MatrixXf b_in_rank_order(b.rows(), d);
    Eigen::Index at = 0;
    for (int r = 0; r < ranks; ++r) {
      const auto [f, e] = share(b.rows(), ranks - 1 - r, ranks);
      b_in_rank_order.middleRows(at, e - f) = b.middleRows(f, e - f);
      at += e - f;
    }
    const Eigen::MatrixXf local_a = a.middleRows(a0, a1 - a0), local_b = b.middleRows(b0, b1 - b0);
    for (const act::method_info& m : act::methods())
      for (const auto destination : {act::mpi::gather_to::all, act::mpi::gather_to::root}) {
        act::fit_settings settings;
        settings.knots = 0;
        act::mpi::fit_options options;
        options.destination = destination;
        options.root = ranks - 1;
        options.exchange_bytes = 2000;  // several rounds
        try {
          const auto got = act::mpi::fit<float>(m.name, act::columns_of(local_a), act::columns_of(local_b),
                                                MPI_COMM_WORLD, settings, options);
          if (destination == act::mpi::gather_to::all || rank == options.root) {
            if (!act_test::same_fit(got, act::fit(m.name, a, b_in_rank_order, settings)))
              fail(fmt::format("{} d={}: differs from act::fit", m.name, d));
          } else if (got.source_samples != a.rows()) {
            fail(fmt::format("{}: sample count {} off the root", m.name, got.source_samples));
          }
        } catch (const std::exception& e) {
          fail(fmt::format("{} d={}: {}", m.name, d, e.what()));
        }
      }
  }
  // A NaN in the last rank's rows stops every rank, naming that rank.
  Eigen::MatrixXf local = act_test::random_samples(5, 4, 3 + static_cast<unsigned>(rank), 0.0f);
  if (rank == ranks - 1) local(2, 1) = std::nanf("");
  try {
    (void)act::mpi::fit<float>("linear", act::columns_of(local), act::columns_of(local), MPI_COMM_WORLD);
    fail("a NaN did not stop the fit");
  } catch (const act::mpi::error& e) {
    if (std::string(e.what()).find(fmt::format("rank {}: non-finite value nan at local row 2, neuron 1", ranks - 1)) ==
        std::string::npos)
      fail(fmt::format("unexpected message: {}", e.what()));
  }
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    fmt::print("{} ranks: {}\n", ranks, total == 0 ? "every check passed" : fmt::format("{} failures", total));
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
