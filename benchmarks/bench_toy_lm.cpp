/// \file bench_toy_lm.cpp
/// What steering costs inside a real forward pass: the bundled toy LM on a batch of 8 x 48 tokens,
/// unsteered and with Linear-AcT maps (support [min, max], lambda = 1) at all 24 sites through a
/// map_set. The overhead counter compares thread CPU times of the two, measured interleaved in the
/// same loop so machine load hits both alike.

#include <act/act.hpp>

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "corpus.hpp"
#include "recipe.hpp"
#include "weights.hpp"

namespace {

using namespace toy_lm;

/// CPU time of the calling thread: unaffected by time spent descheduled on a loaded machine.
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct fixture {
  loaded_model lm = load_weights(default_weights_path());
  batch input;
  act::map_set maps;

  fixture() {
    Eigen::setNbThreads(1);
    // 8 sequences of 48 tokens: neutral sentences back to back, as in a document.
    const int context = lm.model.config().context;
    const auto text = sample_sentences(5, 400, sentence_kind::neutral);
    std::vector<std::vector<int>> seqs(8);
    std::size_t next = 0;
    for (auto& s : seqs) {
      s.push_back(tokenizer::bos);
      while (static_cast<int>(s.size()) < context) {
        auto ids = lm.tok.encode_sentence(text[next++ % text.size()].text);
        for (std::size_t i = 1; i < ids.size() && static_cast<int>(s.size()) < context; ++i) s.push_back(ids[i]);
      }
    }
    input = batch::from_sequences(seqs);
    // Linear-AcT maps toxic -> polite at every site, from one unsteered pass (mean-pooled).
    auto pooled = [&](sentence_kind kind, std::uint64_t seed) {
      std::vector<std::vector<int>> s;
      for (const auto& x : sample_sentences(seed, 256, kind)) s.push_back(lm.tok.encode_sentence(x.text));
      const batch b = batch::from_sequences(s);
      const auto mask = b.mask();
      std::map<std::string, Eigen::MatrixXf, std::less<>> out;
      lm.model.forward(b, [&](std::string_view site, Eigen::Ref<matrix<float>> acts) {
        out[std::string(site)] = act::pool_padded(acts, b.length, mask, act::pooling::mean);
      });
      return out;
    };
    const auto source = pooled(sentence_kind::toxic, 1), target = pooled(sentence_kind::polite, 2);
    for (const auto& site : all_sites(lm.model.config().n_layers))
      maps.insert(site, act::linear_act{}.fit(source.at(site), target.at(site)).map,
                  act::map_info{"linear", 256, 256, "mean", "q0_100"});
    maps.set_strength(1.0);
  }
};

fixture& shared() {
  static fixture f;
  return f;
}

hook_fn<float> steering(const act::map_set& maps) {
  return [&maps](std::string_view site, Eigen::Ref<matrix<float>> acts) { maps(site, act::view(acts)); };
}

void BM_toy_lm_forward(benchmark::State& state) {
  auto& f = shared();
  for (auto _ : state) benchmark::DoNotOptimize(f.lm.model.forward(f.input));
  state.counters["tokens_per_second"] =
      benchmark::Counter(double(f.input.rows()), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_toy_lm_forward_steered(benchmark::State& state) {
  auto& f = shared();
  const auto hook = steering(f.maps);
  for (auto _ : state) benchmark::DoNotOptimize(f.lm.model.forward(f.input, hook));
  state.counters["tokens_per_second"] =
      benchmark::Counter(double(f.input.rows()), benchmark::Counter::kIsIterationInvariantRate);
}

/// Each iteration runs one unsteered and one steered forward pass; overhead_percent is the steered
/// pass's extra thread CPU time over the unsteered one, summed over all iterations.
void BM_toy_lm_steering_overhead(benchmark::State& state) {
  auto& f = shared();
  const auto hook = steering(f.maps);
  double plain = 0, steered = 0;
  for (auto _ : state) {
    const double t0 = thread_seconds();
    benchmark::DoNotOptimize(f.lm.model.forward(f.input));
    const double t1 = thread_seconds();
    benchmark::DoNotOptimize(f.lm.model.forward(f.input, hook));
    steered += thread_seconds() - t1;
    plain += t1 - t0;
  }
  state.counters["overhead_percent"] = plain > 0 ? 100.0 * (steered / plain - 1.0) : 0.0;
  state.counters["plain_ms"] = 1e3 * plain / double(state.iterations());
  state.counters["steered_ms"] = 1e3 * steered / double(state.iterations());
}

}  // namespace

BENCHMARK(BM_toy_lm_forward)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
BENCHMARK(BM_toy_lm_forward_steered)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
BENCHMARK(BM_toy_lm_steering_overhead)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->MinTime(2.0);

BENCHMARK_MAIN();
