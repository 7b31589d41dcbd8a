// act-mpi end to end: on 1-4 ranks (more ranks than shard files, a shard with no rows) its map
// file equals act-cli's on the concatenated files byte for byte, for every method; a rank that cannot read
// its shard stops every rank with status 1, a message naming the file and the rank, and nothing written.
#include <act/act.hpp>
#include <act/io/npy.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "fit_test_util.hpp"
#include "io_test_util.hpp"
#include "run_command.hpp"

namespace {

std::string act_mpi(int ranks, const std::string& arguments) {
  return fmt::format("{} {} {} {} {}", ACT_MPIRUN, ACT_MPIEXEC, ranks, ACT_MPI_PATH, arguments);
}

/// Three shards per side (one of them empty) and the concatenated files.
struct shards {
  act_test::scratch_dir dir;
  std::string sources, targets;  // the shard files, in order, space separated

  shards() {
    const Eigen::Index d = 9;
    const Eigen::MatrixXf a = act_test::random_samples(115, d, 1, 0.0f), b = act_test::random_samples(115, d, 2, 1.0f);
    act::save_npy(dir.file("a.npy"), a);
    act::save_npy(dir.file("b.npy"), b);
    const std::vector<std::pair<Eigen::Index, Eigen::Index>> a_parts{{0, 40}, {40, 0}, {40, 75}},
        b_parts{{0, 60}, {60, 35}, {95, 20}};
    for (std::size_t k = 0; k < 3; ++k) {
      const std::string sa = dir.file(fmt::format("a{}.npy", k)), sb = dir.file(fmt::format("b{}.npy", k));
      act::save_npy(sa, Eigen::MatrixXf(a.middleRows(a_parts[k].first, a_parts[k].second)));
      act::save_npy(sb, Eigen::MatrixXf(b.middleRows(b_parts[k].first, b_parts[k].second)));
      sources += " " + sa;
      targets += " " + sb;
    }
  }
};

void check_every_method(int ranks) {
  shards s;
  for (const act::method_info& m : act::methods()) {
    CAPTURE(m.name);
    const std::string expected = s.dir.file(fmt::format("{}_cli.st", m.name)),
                      got = s.dir.file(fmt::format("{}_mpi.st", m.name));
    const auto cli =
        act_test::run_command(fmt::format("{} fit --method {} --source {} --target {} --out {} --quiet", ACT_CLI_PATH,
                                          m.name, s.dir.file("a.npy"), s.dir.file("b.npy"), expected));
    REQUIRE_MESSAGE(cli.status == 0, cli.output);
    const auto mpi =
        act_test::run_command(act_mpi(ranks, fmt::format("fit --method {} --source{} --target{} --out {} --quiet",
                                                         m.name, s.sources, s.targets, got)));
    REQUIRE_MESSAGE(mpi.status == 0, mpi.output);
    CHECK(act_test::read_bytes(expected) == act_test::read_bytes(got));
  }
}

}  // namespace

TEST_CASE("act-mpi on 1 rank equals act-cli on the concatenated files, every method") { check_every_method(1); }
TEST_CASE("act-mpi on 2 ranks equals act-cli on the concatenated files, every method") { check_every_method(2); }
TEST_CASE("act-mpi on 3 ranks equals act-cli on the concatenated files, every method") { check_every_method(3); }
TEST_CASE("act-mpi on 4 ranks (one without shards) equals act-cli on the concatenated files, every method") {
  check_every_method(4);
}

TEST_CASE("a rank with an unreadable or bad shard stops every rank: status 1, file and rank named, nothing written") {
  shards s;
  act_test::write_bytes(s.dir.file("garbage.npy"), {'n', 'o', 't', ' ', 'n', 'p', 'y'});
  Eigen::MatrixXf nan = act_test::random_samples(4, 9, 3, 0.0f);
  nan(2, 5) = std::nanf("");
  act::save_npy(s.dir.file("nan.npy"), nan);
  const std::string out = s.dir.file("out.st");
  struct bad_case {
    std::string sources, phrase;
  };
  const std::vector<bad_case> cases{
      {s.dir.file("a0.npy") + " " + s.dir.file("garbage.npy") + " " + s.dir.file("a2.npy"),
       "rank 1: " + s.dir.file("garbage.npy") + ": bad magic"},
      {s.dir.file("a0.npy") + " " + s.dir.file("a1.npy") + " " + s.dir.file("missing.npy"),
       "rank 2: " + s.dir.file("missing.npy") + ": cannot open"},
      {s.dir.file("a0.npy") + " " + s.dir.file("nan.npy") + " " + s.dir.file("a2.npy"),
       "rank 1: " + s.dir.file("nan.npy") + ": non-finite value nan at row 2, neuron 5"}};
  for (const auto& c : cases) {
    CAPTURE(c.phrase);
    const auto r = act_test::run_command(
        act_mpi(3, fmt::format("fit --method linear --source {} --target{} --out {}", c.sources, s.targets, out)));
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("act-mpi: " + c.phrase) != std::string::npos, r.output);
    CHECK(!std::filesystem::exists(out));
  }
  std::vector<std::string> left = s.dir.entries();
  for (const auto& name : left) CHECK_MESSAGE(name.find(".st") == std::string::npos, "left behind: " << name);
}

TEST_CASE("a FIFO shard, a width mismatch or a FIFO output stops every rank at once, naming the rank and the file") {
  shards s;
  const std::string fifo = s.dir.file("pipe.npy"), narrow = s.dir.file("narrow.npy"), out = s.dir.file("out.st");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  act::save_npy(narrow, act_test::random_samples(5, 7, 4, 0.0f));
  const auto fifo_shard =
      act_test::run_command(act_mpi(3, fmt::format("fit --method linear --source {} {} {} --target{} --out {}",
                                                   s.dir.file("a0.npy"), fifo, s.dir.file("a2.npy"), s.targets, out)));
  CHECK(fifo_shard.status == 1);
  CHECK_MESSAGE(fifo_shard.output.find("rank 1: " + fifo + ": is a FIFO") != std::string::npos, fifo_shard.output);
  const auto mismatch = act_test::run_command(
      act_mpi(3, fmt::format("fit --method linear --source {} {} {} --target{} --out {}", s.dir.file("a0.npy"), narrow,
                             s.dir.file("a2.npy"), s.targets, out)));
  CHECK(mismatch.status == 1);
  CHECK_MESSAGE(mismatch.output.find("rank 1's --source " + narrow + " holds 7 neurons, but rank 0's --source " +
                                     s.dir.file("a0.npy") + " holds 9") != std::string::npos,
                mismatch.output);
  CHECK(!std::filesystem::exists(out));
  // The output is checked before any shard is read: a FIFO there is refused even with a bad shard.
  const auto fifo_out =
      act_test::run_command(act_mpi(2, fmt::format("fit --method linear --source {} --target{} --out {}",
                                                   s.dir.file("garbage-missing.npy"), s.targets, fifo)));
  CHECK(fifo_out.status == 1);
  CHECK_MESSAGE(fifo_out.output.find(fifo + ": is a FIFO (named pipe), not a regular file; refusing to replace it") !=
                    std::string::npos,
                fifo_out.output);
}
