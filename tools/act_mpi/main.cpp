// act-mpi: the distributed fit (act/mpi/fit.hpp) of act-cli's fit, for activation shards spread over ranks.
//
//   mpirun -np P act-mpi fit --method M --source shard_*.npy ... --target t_*.npy ... --out MAP.safetensors
//
// The files of each side are split among the ranks in order (rank r reads a contiguous share), so the
// samples are the files' rows concatenated in order, as act-cli fit on the same files would see them,
// and the map equals act-cli's. Rank 0 writes the map file (atomically, under its lock). Exit status: 0 on
// success, 2 for usage errors, 1 when any rank failed (every rank exits 1, rank 0 prints one line naming the
// failed ranks and files; nothing is written).

#include <mpi.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <act/act.hpp>
#include <act/columns/fit.hpp>
#include <act/mpi/fit.hpp>
#include <fmt/format.h>

#include "../common/fit_inputs.hpp"

namespace {

using act_tools::arguments;
using act_tools::usage_error;

constexpr const char* usage_text = R"(usage:
  mpirun -np P act-mpi fit --method M --source S.npy [S2.npy ...] --target T.npy [T2.npy ...] --out MAP.safetensors
                           [--site NAME] [--support all|q0_100|qLO_HI] [--support-bounds open|closed]
                           [--min-std S] [--knots K] [--pooling mean|last|max|min] [--threads N] [--quiet]

  Each side's files are split among the ranks in order; their rows, concatenated in order, are the samples
  (3-D files are pooled over all their tokens). Rank 0 writes MAP. methods: {}
)";

/// argv with the words after --source / --target up to the next option each made a --source / --target of
/// their own, so that `--source shard_*.npy` (expanded by the shell) gives every shard.
std::vector<std::string> spread_lists(int argc, char** argv) {
  std::vector<std::string> out;
  std::string list;
  for (int i = 0; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.rfind("--", 0) == 0) {
      list = word == "--source" || word == "--target" ? word : "";
      out.push_back(word);
      if (list.empty() && i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0 && word != "--quiet")
        out.push_back(argv[++i]);
      continue;
    }
    if (!list.empty() && out.back() != list) out.push_back(list);
    out.push_back(word);
  }
  return out;
}

/// The share of `files` rank `rank` of `ranks` reads: a contiguous run, in order.
std::vector<std::string> share(const std::vector<std::string>& files, int rank, int ranks) {
  const std::size_t n = files.size(), r = static_cast<std::size_t>(rank), p = static_cast<std::size_t>(ranks);
  return {files.begin() + static_cast<std::ptrdiff_t>(n * r / p),
          files.begin() + static_cast<std::ptrdiff_t>(n * (r + 1) / p)};
}

/// One side of the fit for check_widths: its option name, all its files and this rank's columns.
struct side_share {
  const char* option;
  const std::vector<std::string>* files;
  const act::stacked_columns<float>* columns;
};

/// Every rank's width of each side, compared before the fit so that a mismatch names the files: "rank 1's
/// --source b.npy holds 7 neurons, rank 0's a.npy holds 8". Collective; throws on every rank.
void check_widths(MPI_Comm comm, int ranks, std::initializer_list<side_share> sides) {
  std::vector<long long> mine, all(static_cast<std::size_t>(ranks) * sides.size());
  for (const side_share& s : sides)
    mine.push_back(s.columns->rows() == 0 ? -1 : static_cast<long long>(s.columns->cols()));
  MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_LONG_LONG, all.data(), static_cast<int>(mine.size()),
                MPI_LONG_LONG, comm);
  long long width = -1;
  std::string first;  // "rank R's --side FILE"
  for (std::size_t k = 0; k < sides.size(); ++k) {
    const side_share& s = sides.begin()[k];
    for (int r = 0; r < ranks; ++r) {
      const long long w = all[static_cast<std::size_t>(r) * sides.size() + k];
      if (w < 0) continue;  // a rank with no rows on this side has no say
      const std::string who = fmt::format("rank {}'s --{} {}", r, s.option, share(*s.files, r, ranks).front());
      if (width < 0) {
        width = w;
        first = who;
      } else if (w != width) {
        act::raise<act::shape_error>("{} holds {} neurons, but {} holds {}", who, w, first, width);
      }
    }
  }
}

int fit(int argc, char** argv, MPI_Comm comm, int rank, int ranks) {
  std::vector<std::string> words = spread_lists(argc, argv);
  std::vector<char*> pointers;
  for (std::string& w : words) pointers.push_back(w.data());
  const arguments args(
      static_cast<int>(pointers.size()), pointers.data(), 2,
      {{"method", "out", "site", "support", "support-bounds", "min-std", "knots", "pooling", "threads"},
       {"quiet"},
       {"source", "target"}});
  if (args.help()) {
    if (rank == 0) fmt::print(usage_text, act::method_names());
    return 0;
  }
  args.no_positional();
  const act::method_info* info = &act_cli::method_option(args);
  const std::string method(info->name);
  (void)args.required("source"), (void)args.required("target");
  const std::vector<std::string> source_files = args.values("source"), target_files = args.values("target");
  const std::string out = args.required("out"), site = args.value_or("site", "site");
  act::fit_settings settings;
  settings.threads = static_cast<int>(args.number("threads", 1));
  if (settings.threads < 0) throw usage_error("--threads must be >= 0 (0 = all cores)");
  (void)act_cli::support_options(args, *info, settings);
  const act::pooling how = act_cli::pooling_option(args);
  const std::string pooling(act::to_string(how));
  if (site.empty() || !act::name_problem(site).empty())
    throw usage_error(fmt::format("--site '{}' is not a valid site name", site));
  for (const auto* files : {&source_files, &target_files})
    for (const std::string& file : *files)
      if (act::same_file(out, file))
        throw usage_error(fmt::format(
            "--out '{}' is the same file as the input '{}'; writing it would replace that input", out, file));

  // The output first (every rank sees the verdict): it must be writable, and an existing one a map file
  // (its other sites are kept). Then each rank maps its share of the files (FIFOs and devices are refused
  // without blocking); a failure anywhere stops every rank, the message naming the rank and the file.
  act::mpi::collectively(comm, [&] {
    if (rank != 0) return;
    act::check_output(out);
    if (struct stat st{}; ::lstat(out.c_str(), &st) == 0 || errno != ENOENT) act::check_map_file(out);
  });
  std::optional<act::stacked_columns<float>> source, target;
  act::mpi::collectively(comm, [&] {
    act_cli::token_validity every_token;
    source = act_cli::side_columns(share(source_files, rank, ranks), every_token, how);
    target = act_cli::side_columns(share(target_files, rank, ranks), every_token, how);
  });
  check_widths(comm, ranks, {{"source", &source_files, &*source}, {"target", &target_files, &*target}});
  act::mpi::fit_options options;
  options.destination = act::mpi::gather_to::root;
  const auto fit = act::mpi::fit<float>(method, *source, *target, comm, settings, options);
  act::mpi::collectively(comm, [&] {
    if (rank != 0) return;
    act::map_set fitted;
    fitted.insert(site, fit.map,
                  {method, fit.source_samples, fit.target_samples, pooling, act::support_label(*info, settings),
                   act::low_spread_count(fit.diagnostics), fit.diagnostics.low_spread});
    act::update_map_file(out, fitted, act::map_file_lock_timeout);
  });
  if (rank == 0 && !args.has("quiet"))
    fmt::print("{}: site '{}' fitted with {} on {} ranks, {} source and {} target samples of {} neurons\n",
               act::printable(out), site, method, ranks, fit.source_samples, fit.target_samples,
               fit.diagnostics.r2.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A write beyond `ulimit -f` is then an error (EFBIG) that removes its temporary, not a kill.
  (void)::signal(SIGXFSZ, SIG_IGN);
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int status = 0;
  // Every rank parses the same words and takes part in every collective step, so all of them reach the
  // same verdict; rank 0 reports it.
  try {
    if (argc < 2) throw usage_error("missing command");
    const std::string command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") {
      if (rank == 0) fmt::print(usage_text, act::method_names());
    } else if (command == "fit") {
      status = fit(argc, argv, MPI_COMM_WORLD, rank, ranks);
    } else {
      throw usage_error(fmt::format("unknown command '{}'", command));
    }
  } catch (const usage_error& e) {
    if (rank == 0)
      fmt::print(stderr, "act-mpi: {}\n{}", act::printable(e.what()), fmt::format(usage_text, act::method_names()));
    status = 2;
  } catch (const std::exception& e) {
    if (rank == 0) fmt::print(stderr, "act-mpi: {}\n", act::printable(e.what()));
    status = 1;
  }
  MPI_Finalize();
  return status;
}
