// act-cli fit on inputs that are not one in-memory matrix: several files per side, 3-D inputs
// pooled over their lengths or mask, and out-of-core reading within --memory, whose map files equal the
// in-memory fit's byte for byte and whose peak memory stays within the budget.
#include <act/act.hpp>
#include <act/io/npy.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "fit_test_util.hpp"
#include "io_test_util.hpp"
#include "run_command.hpp"

namespace {

act_test::command_result run(const std::string& arguments) {
  return act_test::run_command(std::string(ACT_CLI_PATH) + " " + arguments);
}

Eigen::MatrixXf random_matrix(Eigen::Index rows, Eigen::Index cols, unsigned seed, float shift = 0.0f,
                              float scale = 1.0f) {
  return act_test::random_samples(rows, cols, seed, shift, scale);
}

/// A .npy file with `descr` and `shape` whose data `put` appends to the bytes.
template <class Put>
void save_npy_raw(const std::string& path, const std::string& descr, const std::string& shape, Put&& put) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<unsigned char> bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  act_test::put_u16(bytes, static_cast<std::uint16_t>(header.size()));
  act_test::put_str(bytes, header);
  put(bytes);
  act_test::write_bytes(path, bytes);
}

/// A [B x T x d] float32 .npy file of token rows (row k T + t is token t of sequence k).
void save_3d(const std::string& path, const Eigen::MatrixXf& tokens, Eigen::Index T) {
  save_npy_raw(path, "<f4", fmt::format("({}, {}, {})", tokens.rows() / T, T, tokens.cols()),
               [&](std::vector<unsigned char>& bytes) {
                 for (Eigen::Index i = 0; i < tokens.rows(); ++i)
                   for (Eigen::Index j = 0; j < tokens.cols(); ++j) act_test::put_f32(bytes, tokens(i, j));
               });
}

/// An int64 or bool .npy array.
void save_integers(const std::string& path, const std::vector<std::int64_t>& values, const std::string& shape,
                   bool as_bool) {
  save_npy_raw(path, as_bool ? "|b1" : "<i8", shape, [&](std::vector<unsigned char>& bytes) {
    for (const std::int64_t v : values) {
      if (as_bool)
        act_test::put_u8(bytes, v != 0);
      else
        act_test::put_u64(bytes, static_cast<std::uint64_t>(v));
    }
  });
}

// Under AddressSanitizer the programs run several times slower and its shadow memory counts in the
// resident set: the out-of-core cases use a quarter of the rows and budget there, and the RSS bound is
// reported but not checked.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
constexpr Eigen::Index big_rows = sanitized ? 1500 : 6000;  // x 1024 neurons x 2 sides x 4 bytes: 12 or 48 MB
const std::string budget_mb = sanitized ? "4" : "16";

std::vector<unsigned char> bytes_of(const std::string& path) { return act_test::read_bytes(path); }

}  // namespace

TEST_CASE("several --source/--target files equal their rows concatenated, for every method") {
  act_test::scratch_dir dir;
  const Eigen::MatrixXf a = random_matrix(90, 7, 1), b = random_matrix(90, 7, 2, 1.0f, 2.0f);
  act::save_npy(dir.file("a.npy"), a);
  act::save_npy(dir.file("b.npy"), b);
  act::save_npy(dir.file("a1.npy"), Eigen::MatrixXf(a.topRows(20)));
  act::save_npy(dir.file("a2.npy"), Eigen::MatrixXf(a.middleRows(20, 1)));
  act::save_npy(dir.file("a3.npy"), Eigen::MatrixXf(a.bottomRows(69)));
  act::save_npy(dir.file("b1.npy"), Eigen::MatrixXf(b.topRows(45)));
  act::save_npy(dir.file("b2.npy"), Eigen::MatrixXf(b.bottomRows(45)));
  for (const act::method_info& m : act::methods()) {
    CAPTURE(m.name);
    const std::string one = dir.file(fmt::format("{}_one.st", m.name)),
                      split = dir.file(fmt::format("{}_split.st", m.name));
    auto r = run(fmt::format("fit --method {} --source {} --target {} --out {} --quiet", m.name, dir.file("a.npy"),
                             dir.file("b.npy"), one));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    r = run(fmt::format(
        "fit --method {} --source {} --source {} --source {} --target {} --target {} --out {} --quiet --memory 1",
        m.name, dir.file("a1.npy"), dir.file("a2.npy"), dir.file("a3.npy"), dir.file("b1.npy"), dir.file("b2.npy"),
        split));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(bytes_of(one) == bytes_of(split));
  }
  act::save_npy(dir.file("narrow.npy"), random_matrix(5, 6, 3));
  const auto r = run(fmt::format("fit --method linear --source {} --source {} --target {} --out {}", dir.file("a.npy"),
                                 dir.file("narrow.npy"), dir.file("b.npy"), dir.file("x.st")));
  CHECK(r.status == 1);
  CHECK_MESSAGE(
      r.output.find("narrow.npy: has 6 neurons (columns), but " + dir.file("a.npy") + " has 7") != std::string::npos,
      r.output);
  CHECK(!std::filesystem::exists(dir.file("x.st")));
}

TEST_CASE("--memory 16 on inputs three times larger equals the in-memory fit, for every method") {
  act_test::scratch_dir dir;
  // 2 x 6000 x 1024 float32 = 48 MB of samples for the per-neuron methods (pca and itic read whole rows;
  // they get a small pair, as their cost grows with d^2).
  act::save_npy(dir.file("a.npy"), random_matrix(big_rows, 1024, 4));
  act::save_npy(dir.file("b.npy"), random_matrix(big_rows, 1024, 5, 0.5f, 1.5f));
  act::save_npy(dir.file("sa.npy"), random_matrix(400, 40, 6));
  act::save_npy(dir.file("sb.npy"), random_matrix(400, 40, 7, 0.5f));
  for (const act::method_info& m : act::methods()) {
    CAPTURE(m.name);
    const bool big = m.per_neuron;
    const std::string a = dir.file(big ? "a.npy" : "sa.npy"), b = dir.file(big ? "b.npy" : "sb.npy");
    const std::string in_memory = dir.file("in_memory.st"), streamed = dir.file("streamed.st");
    std::filesystem::remove(in_memory);
    std::filesystem::remove(streamed);
    auto r = run(fmt::format("fit --method {} --source {} --target {} --out {} --quiet", m.name, a, b, in_memory));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    r = run(fmt::format("fit --method {} --source {} --target {} --out {} --quiet --memory {}", m.name, a, b, streamed,
                        budget_mb));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(bytes_of(in_memory) == bytes_of(streamed));
  }
}

TEST_CASE("the peak resident memory of a --memory 16 fit stays within 16 MB + 16 MB") {
  act_test::scratch_dir dir;
  act::save_npy(dir.file("a.npy"), random_matrix(big_rows, 1024, 8));
  act::save_npy(dir.file("b.npy"), random_matrix(big_rows, 1024, 9, 1.0f));
  // The child's own peak (wait4), not the test's: the budget plus the stated constant (the program and its
  // libraries, about 4 MB; the 4 MB window of file pages being read; allocator slack).
  const auto peak_kb = [&](const std::string& method, const std::string& memory) {
    const std::string out = dir.file(method + memory + ".st");
    std::vector<std::string> words{
        ACT_CLI_PATH, "fit", "--method", method,     "--source", dir.file("a.npy"), "--target", dir.file("b.npy"),
        "--out",      out,   "--quiet",  "--memory", memory};
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int status = 0;
    struct rusage usage {};
    REQUIRE(::wait4(pid, &status, 0, &usage) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return static_cast<long>(usage.ru_maxrss);
  };
  for (const std::string method : {"linear", "quantile"}) {
    const long streamed = peak_kb(method, budget_mb), whole = peak_kb(method, "1024");
    MESSAGE(method << ": peak RSS " << streamed / 1024 << " MB with --memory " << budget_mb << ", " << whole / 1024
                   << " MB in memory (" << big_rows * 1024 * 8 / 1048576 << " MB of samples)");
    if (sanitized) continue;
    CHECK(streamed <= (16 + 16) * 1024);
    CHECK(whole > 48 * 1024);  // the measure sees the samples when they are all loaded
  }
}

TEST_CASE("3-D inputs pooled over --lengths or --mask equal pooling by hand with act::pool_padded") {
  act_test::scratch_dir dir;
  const Eigen::Index B = 30, T = 6, d = 5;
  const Eigen::MatrixXf tokens = random_matrix(B * T, d, 10);
  const Eigen::MatrixXf target = random_matrix(50, d, 11, 1.0f);
  save_3d(dir.file("x3.npy"), tokens, T);
  act::save_npy(dir.file("t.npy"), target);
  std::vector<std::int64_t> lengths(B);
  std::vector<std::uint8_t> by_length, by_mask;
  std::vector<std::int64_t> mask;
  for (Eigen::Index k = 0; k < B; ++k) {
    lengths[static_cast<std::size_t>(k)] = 1 + k * 7 % T;
    for (Eigen::Index t = 0; t < T; ++t) {
      by_length.push_back(t < lengths[static_cast<std::size_t>(k)]);
      const bool valid = t == T - 1 || (k + t) % 3 != 0;  // left padding and holes: not a prefix
      by_mask.push_back(valid);
      mask.push_back(valid);
    }
  }
  save_integers(dir.file("L.npy"), lengths, fmt::format("({},)", B), false);
  save_integers(dir.file("M.npy"), mask, fmt::format("({}, {})", B, T), true);
  std::vector<std::vector<unsigned char>> maps;
  for (const std::string pooling : {"mean", "last", "max", "min"}) {
    CAPTURE(pooling);
    for (const bool use_mask : {false, true}) {
      const Eigen::MatrixXf pooled =
          act::pool_padded(tokens, T, use_mask ? by_mask : by_length, act::parse_pooling(pooling));
      act::save_npy(dir.file("pooled.npy"), pooled);
      const std::string by_hand = dir.file("by_hand.st"), from_3d = dir.file("from_3d.st");
      std::filesystem::remove(by_hand);
      std::filesystem::remove(from_3d);
      auto r = run(fmt::format("fit --method linear --source {} --target {} --out {} --pooling {} --quiet",
                               dir.file("pooled.npy"), dir.file("t.npy"), by_hand, pooling));
      REQUIRE_MESSAGE(r.status == 0, r.output);
      r = run(fmt::format("fit --method linear --source {} --{} {} --target {} --out {} --pooling {} --quiet",
                          dir.file("x3.npy"), use_mask ? "mask" : "lengths", dir.file(use_mask ? "M.npy" : "L.npy"),
                          dir.file("t.npy"), from_3d, pooling));
      REQUIRE_MESSAGE(r.status == 0, r.output);
      CHECK(bytes_of(by_hand) == bytes_of(from_3d));
      if (!use_mask) maps.push_back(bytes_of(from_3d));
    }
  }
  // --pooling changes the map (not only its label): the coefficients differ between modes.
  for (std::size_t i = 0; i < maps.size(); ++i)
    for (std::size_t j = i + 1; j < maps.size(); ++j) CHECK(maps[i] != maps[j]);
  act::map_set mean_map = act::load_maps(dir.file("from_3d.st"));
  CHECK(mean_map.at("site").info.pooling == "min");

  // A lengths file of the wrong shape, and more of them than 3-D inputs, are named.
  save_integers(dir.file("short.npy"), {1, 2}, "(2,)", false);
  auto r = run(fmt::format("fit --method linear --source {} --lengths {} --target {} --out {}", dir.file("x3.npy"),
                           dir.file("short.npy"), dir.file("t.npy"), dir.file("bad.st")));
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.output.find("short.npy: lengths of " + dir.file("x3.npy") +
                              " must be a 1-D array of 30 sequence lengths") != std::string::npos,
                r.output);
  r = run(fmt::format("fit --method linear --source {} --lengths {} --target {} --out {}", dir.file("pooled.npy"),
                      dir.file("L.npy"), dir.file("t.npy"), dir.file("bad.st")));
  CHECK(r.status == 2);
  CHECK_MESSAGE(r.output.find("1 --lengths file(s) for 0 3-D input(s)") != std::string::npos, r.output);
}
