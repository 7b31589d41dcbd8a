/// \file bench_large.cpp
/// Out-of-core fitting: Linear-AcT on two memory-mapped 4096 x 4096 float32 .npy files (64 MB
/// per side, C order as NumPy writes them) read a block of neurons at a time within a budget, against the
/// in-memory fit of the same files (read whole into one matrix, then fitted). Both read through the page
/// cache (the files are written once, first). The peak resident memory is measured per process by
/// benchmarks/large_fits.sh, as one benchmark process keeps the largest peak of all its benchmarks.

#include <act/columns/fit.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/io/npy.hpp>
#include <act/columns/npy_columns.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

namespace {

constexpr Eigen::Index rows = 4096, neurons = 4096;

/// The two files, written once into a scratch folder removed at exit.
struct files {
  std::filesystem::path dir;
  std::string source, target;
  files() {
    dir = std::filesystem::temp_directory_path() / ("act_bench_large_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    source = (dir / "a.npy").string();
    target = (dir / "b.npy").string();
    std::mt19937 rng(1);
    std::normal_distribution<float> z;
    Eigen::MatrixXf x(rows, neurons);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = z(rng);
    act::save_npy(source, x);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = 0.5f + 1.5f * z(rng);
    act::save_npy(target, x);
  }
  ~files() { std::filesystem::remove_all(dir); }
};

const files& data() {
  static const files f;
  return f;
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * rows * neurons *
                          static_cast<std::int64_t>(sizeof(float)));
}

/// Reads both files whole (straight into float), then fits: what a fit without a budget does.
void BM_fit_in_memory(benchmark::State& state) {
  const files& f = data();
  for (auto _ : state) {
    const act::npy_columns a(f.source), b(f.target);
    Eigen::MatrixXf x(a.rows(), a.cols()), y(b.rows(), b.cols());
    a.read<float>(0, a.cols(), x);
    b.read<float>(0, b.cols(), y);
    benchmark::DoNotOptimize(act::linear_act{}.fit(x, y).map.omega.data());
  }
  set_bytes(state);
}

/// act::fit_columns within range(0) MB.
void BM_fit_out_of_core(benchmark::State& state) {
  const files& f = data();
  for (auto _ : state) {
    const act::npy_columns a(f.source), b(f.target);
    benchmark::DoNotOptimize(
        act::fit_columns<float>(act::linear_act{}, a, b, static_cast<std::size_t>(state.range(0)) << 20)
            .map.omega.data());
  }
  set_bytes(state);
}

}  // namespace

BENCHMARK(BM_fit_in_memory)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fit_out_of_core)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
