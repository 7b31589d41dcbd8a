// Control vectors between act and llama.cpp itself: llama-cvector-generator's files survive act-cli's
// import-gguf and export-gguf bit for bit, the generator's one-block offset is what the README says, act's
// import accepts and refuses exactly what llama.cpp's loader does, and export-gguf --model checks a map
// against the model.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gguf.h>

#include <act/act.hpp>
#include <act/io/control_vector_maps.hpp>
#include <act/io/gguf.hpp>

#include "llama_test_util.hpp"

#ifdef ACT_LLAMA_HAVE_COMMON
#include "common.h"
#include "log.h"
#endif

using namespace act_llama_test;

namespace {

/// What ggml's GGUF reader sees in a file: metadata strings, tensors by name in file order.
struct gguf_view {
  bool ok = false;
  std::string architecture, model_hint;
  std::vector<std::string> names;
  std::vector<std::vector<float>> data;
};

gguf_view read_with_ggml(const std::string& path) {
  gguf_view v;
  ggml_context* meta = nullptr;
  gguf_context* g = gguf_init_from_file(path.c_str(), gguf_init_params{false, &meta});
  if (g == nullptr) return v;
  v.ok = true;
  if (const int64_t k = gguf_find_key(g, "general.architecture"); k >= 0) v.architecture = gguf_get_val_str(g, k);
  if (const int64_t k = gguf_find_key(g, "controlvector.model_hint"); k >= 0) v.model_hint = gguf_get_val_str(g, k);
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    v.names.emplace_back(gguf_get_tensor_name(g, i));
    const ggml_tensor* t = ggml_get_tensor(meta, v.names.back().c_str());
    const float* f = static_cast<const float*>(t->data);
    v.data.emplace_back(f, f + ggml_nelements(t));
  }
  gguf_free(g);
  ggml_free(meta);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// GGUF bytes built by hand, for files llama.cpp's loader and act's import must judge alike.
struct gguf_bytes {
  std::vector<unsigned char> b;
  template <class T>
  gguf_bytes& put(T v) {
    unsigned char raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    b.insert(b.end(), raw, raw + sizeof(T));
    return *this;
  }
  gguf_bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  gguf_bytes& header(uint64_t tensors, uint64_t kvs) {
    b = {'G', 'G', 'U', 'F'};
    return put<uint32_t>(3).put<uint64_t>(tensors).put<uint64_t>(kvs);
  }
  gguf_bytes& kv_str(const std::string& k, const std::string& v) { return str(k).put<uint32_t>(8).str(v); }
  gguf_bytes& kv_u32(const std::string& k, uint32_t v) { return str(k).put<uint32_t>(4).put(v); }
  gguf_bytes& kv_bool(const std::string& k, uint8_t v) { return str(k).put<uint32_t>(7).put(v); }
  gguf_bytes& tensor(const std::string& name, std::vector<uint64_t> dims, uint64_t offset, uint32_t type = 0) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (const auto d : dims) put(d);
    return put(type).put(offset);
  }
  gguf_bytes& pad() {
    while (b.size() % 32 != 0) b.push_back(0);
    return *this;
  }
  /// `n` floats 1, 2, 3, ... scaled by `scale`, then padding to 32 bytes unless `padded` is false.
  gguf_bytes& floats(int n, float scale = 1, bool padded = true) {
    for (int i = 0; i < n; ++i) put(scale * static_cast<float>(i + 1));
    return padded ? pad() : *this;
  }
};

}  // namespace

TEST_CASE("control vectors: llama-cvector-generator output survives import-gguf and export-gguf bit for bit") {
#if !defined(ACT_LLAMA_CVECTOR_GENERATOR) || !defined(ACT_CLI_PATH)
  std::printf("SKIPPED: needs llama-cvector-generator (cmake/prepare_llama.sh installs it) and act-cli\n");
#else
  scratch_dir dir;
  write_lines(dir.file("positive.txt"), happy_prompts());
  write_lines(dir.file("negative.txt"), sad_prompts());
  auto r = run(ACT_LLAMA_CVECTOR_GENERATOR,
               fmt::format("-m {} --positive-file {} --negative-file {} -o {} --method mean -t 1", tiny_model_path(),
                           dir.file("positive.txt"), dir.file("negative.txt"), dir.file("generated.gguf")),
               dir);
  REQUIRE_MESSAGE(r.status == 0, std::string(r.out + r.err));
  r = run(ACT_CLI_PATH,
          fmt::format("import-gguf --gguf {} --out {}", dir.file("generated.gguf"), dir.file("cv.safetensors")), dir);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  const act::map_set maps = act::load_maps(dir.file("cv.safetensors"));
  CHECK(maps.sites() == std::vector<std::string>{"l_out-1", "l_out-2", "l_out-3"});
  CHECK(maps.metadata().at("controlvector.model_hint") == "llama");
  r = run(ACT_CLI_PATH, fmt::format("export-gguf --map {} --out {}", dir.file("cv.safetensors"), dir.file("back.gguf")),
          dir);
  REQUIRE_MESSAGE(r.status == 0, r.out);

  const gguf_view generated = read_with_ggml(dir.file("generated.gguf")), back = read_with_ggml(dir.file("back.gguf"));
  REQUIRE(generated.ok);
  REQUIRE(back.ok);
  CHECK(back.architecture == "controlvector");
  CHECK(back.model_hint == generated.model_hint);
  REQUIRE(back.names == generated.names);
  for (std::size_t i = 0; i < back.names.size(); ++i) {
    CAPTURE(back.names[i]);
    CHECK(same_bits(back.data[i], generated.data[i]));
  }
  CHECK(slurp(dir.file("back.gguf")) == slurp(dir.file("generated.gguf")));  // even the bytes

  // The one-block offset: the generator's direction.N is what it measured at l_out-(N-1). Recomputed here
  // from the adapter's captures with the generator's recipe (--method mean): pairs padded to one length with
  // the last token of " ", rows of positive - negative, rows with no element above 1e-6 dropped, the mean
  // of the rest in float, unit length.
  const auto pos = act::llama::tokenize_all(tiny_vocab(), happy_prompts());
  const auto neg = act::llama::tokenize_all(tiny_vocab(), sad_prompts());
  const llama_token pad = act::llama::tokenize(tiny_vocab(), " ", false).back();
  std::vector<std::string> outs;
  for (int il = 0; il < tiny_layers - 1; ++il) outs.push_back("l_out-" + std::to_string(il));
  std::vector<std::vector<std::vector<float>>> diff_rows(outs.size());
  for (std::size_t k = 0; k < pos.size(); ++k) {
    std::vector<llama_token> p = pos[k], n = neg[k];
    const std::size_t len = std::max(p.size(), n.size());
    p.resize(len, pad);
    n.resize(len, pad);
    act::llama::eval_callback pcb, ncb;
    pcb.capture(outs, std::nullopt);
    ncb.capture(outs, std::nullopt);
    const context_ptr pctx = make_context(&pcb), nctx = make_context(&ncb);
    logits_of(pctx.get(), p, &pcb);
    logits_of(nctx.get(), n, &ncb);
    for (std::size_t il = 0; il < outs.size(); ++il) {
      const Eigen::MatrixXf d = pcb.rows(outs[il]) - ncb.rows(outs[il]);
      for (Eigen::Index r2 = 0; r2 < d.rows(); ++r2)
        if ((d.row(r2).array() > 1e-6f).any()) {
          diff_rows[il].emplace_back(static_cast<std::size_t>(d.cols()));
          for (Eigen::Index j = 0; j < d.cols(); ++j) diff_rows[il].back()[static_cast<std::size_t>(j)] = d(r2, j);
        }
    }
  }
  for (std::size_t il = 0; il < outs.size(); ++il) {
    std::vector<float> mean(tiny_embd, 0.0f);
    for (int j = 0; j < tiny_embd; ++j) {
      float f = 0;
      for (const auto& row : diff_rows[il]) f += row[static_cast<std::size_t>(j)];
      mean[static_cast<std::size_t>(j)] = f / static_cast<float>(diff_rows[il].size());
    }
    float norm = 0;
    for (const float f : mean) norm += f * f;
    norm = std::sqrt(norm);
    for (float& f : mean) f /= norm;
    const std::vector<float>& direction = generated.data[il];  // direction.(il + 1)
    double err = 0;
    for (int j = 0; j < tiny_embd; ++j)
      err = std::max(err, std::abs(static_cast<double>(mean[static_cast<std::size_t>(j)]) -
                                   direction[static_cast<std::size_t>(j)]));
    CAPTURE(il);
    CHECK(err <= 1e-6);
    if (il + 1 < outs.size()) {  // and not what was measured at l_out-(il + 1)
      double other = 0;
      for (int j = 0; j < tiny_embd; ++j)
        other = std::max(other, std::abs(static_cast<double>(mean[static_cast<std::size_t>(j)]) -
                                         generated.data[il + 1][static_cast<std::size_t>(j)]));
      CHECK(other > 1e-2);
    }
  }
#endif
}

TEST_CASE("control vectors: act's import accepts and refuses what llama.cpp's loader does") {
#ifndef ACT_LLAMA_HAVE_COMMON
  std::printf("SKIPPED: llama.cpp's common library (common_control_vector_load) was not found\n");
#else
  common_log_pause(common_log_main());  // the loader's complaints go to its log, on stderr
  scratch_dir dir;
  struct case_t {
    std::string what;
    gguf_bytes file;
  };
  std::vector<case_t> cases;
  const auto cv_meta = [](gguf_bytes& g) {
    g.kv_str("general.architecture", "controlvector").kv_str("controlvector.model_hint", "llama");
  };
  const auto one = [&](const std::string& what, const std::string& name, std::vector<uint64_t> dims = {4}) {
    gguf_bytes g;
    g.header(1, 2);
    cv_meta(g);
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    g.tensor(name, dims, 0).pad().floats(static_cast<int>(n));
    cases.push_back({what, g});
  };
  one("a plain direction", "direction.1");
  one("the layer number followed by more text", "direction.2.attn");
  one("a plus sign", "direction.+3");
  one("white space before the number", "direction. 3");
  one("leading zeros", "direction.007");
  one("a negative layer", "direction.-1");
  one("layer 0", "direction.0");
  one("minus zero", "direction.-0");
  one("no number", "direction.x");
  one("no dot", "direction");
  one("another prefix", "blk.1");
  one("space before the prefix", " direction.1");
  one("a layer beyond int", "direction.99999999999");
  one("a name of 63 bytes", "direction.1" + std::string(52, 'x'));
  one("a name of 64 bytes", "direction.1" + std::string(53, 'x'));
  one("shape [4, 1]", "direction.1", {4, 1});
  one("shape [4, 1, 1, 1]", "direction.1", {4, 1, 1, 1});
  one("shape [1, 4]", "direction.1", {1, 4});
  one("shape [2, 2]", "direction.1", {2, 2});
  {
    gguf_bytes g;
    g.header(1, 0).tensor("direction.1", {4}, 0).pad().floats(4);
    cases.push_back({"no metadata at all", g});
  }
  {
    gguf_bytes g;
    g.header(1, 1).kv_str("general.architecture", "llama").tensor("direction.1", {4}, 0).pad().floats(4);
    cases.push_back({"general.architecture llama", g});
  }
  {
    gguf_bytes g;
    g.header(1, 3).kv_str("general.architecture", "controlvector").kv_u32("controlvector.model_hint", 7);
    g.kv_str("controlvector.layer_count", "one").tensor("direction.1", {4}, 0).pad().floats(4);
    cases.push_back({"model_hint and layer_count of other types", g});
  }
  {
    gguf_bytes g;
    g.header(2, 2);
    cv_meta(g);
    g.tensor("direction.1", {4}, 0).tensor("direction.01", {4}, 32).pad().floats(4).floats(4, 0.5f);
    cases.push_back({"a layer given twice", g});
  }
  {
    gguf_bytes g;
    g.header(2, 2);
    cv_meta(g);
    g.tensor("direction.2", {4}, 0).tensor("direction.1", {4}, 32).pad().floats(4).floats(4, -1);
    cases.push_back({"layers out of order", g});
  }
  {
    gguf_bytes g;
    g.header(2, 2);
    cv_meta(g);
    g.tensor("direction.1", {4}, 0).tensor("direction.2", {8}, 32).pad().floats(4).floats(8);
    cases.push_back({"lengths 4 and 8", g});
  }
  {
    gguf_bytes g;
    g.header(2, 2);
    cv_meta(g);
    g.tensor("direction.1", {4}, 0).tensor("direction.2", {4}, 64).pad().floats(4).floats(8).floats(4);
    cases.push_back({"a gap between tensors", g});
  }
  {
    gguf_bytes g;
    g.header(2, 2);
    cv_meta(g);
    g.tensor("direction.1", {4}, 32).tensor("direction.2", {4}, 0).pad().floats(4).floats(4);
    cases.push_back({"tensors stored in reverse order", g});
  }
  {
    gguf_bytes g;
    g.header(1, 2);
    cv_meta(g);
    g.tensor("direction.1", {4}, 0).pad().floats(4, 1, false);
    cases.push_back({"no padding after the last tensor", g});
  }
  {
    gguf_bytes g;
    g.header(1, 2);
    cv_meta(g);
    g.tensor("direction.1", {8}, 0, 1).pad().floats(4);
    cases.push_back({"an F16 direction", g});
  }
  {
    gguf_bytes g;
    g.header(0, 2);
    cv_meta(g);
    cases.push_back({"no tensors", g});
  }
  {
    gguf_bytes g;
    g.header(1, 3);
    cv_meta(g);
    g.kv_str("", "x").tensor("direction.1", {4}, 0).pad().floats(4);
    cases.push_back({"an empty metadata key", g});
  }
  // The structures act refuses although llama.cpp's loader reads them (documented in gguf.hpp).
  std::vector<case_t> stricter;
  {
    gguf_bytes g;
    g.header(1, 3);
    cv_meta(g);
    g.kv_bool("some.flag", 2).tensor("direction.1", {4}, 0).pad().floats(4);
    stricter.push_back({"a bool of value 2", g});
  }
  {
    gguf_bytes g;
    g.header(1, 2);
    cv_meta(g);
    g.tensor("direction.1", {}, 0).pad().floats(1);
    stricter.push_back({"a tensor with 0 dimensions", g});
  }
  {
    gguf_bytes g;
    g.header(1, 2);
    cv_meta(g);
    g.tensor("direction.1", {0}, 0).pad();
    stricter.push_back({"an empty direction", g});
  }

  int accepted = 0, refused = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::string path = dir.file("case.gguf");
    {
      std::FILE* f = std::fopen(path.c_str(), "wb");
      REQUIRE(f != nullptr);
      std::fwrite(c.file.b.data(), 1, c.file.b.size(), f);
      std::fclose(f);
    }
    const common_control_vector_data loaded = common_control_vector_load({{1.0f, path}});
    bool act_ok = true;
    act::control_vector cv;
    std::string act_error;
    try {
      cv = act::read_control_vector(path);
    } catch (const act::format_error& e) {
      act_ok = false;
      act_error = e.what();
    }
    CAPTURE(act_error);
    CHECK(act_ok == (loaded.n_embd != -1));
    (act_ok ? accepted : refused) += 1;
    if (act_ok && loaded.n_embd != -1) {
      // The same numbers where llama.cpp puts them: layer N at (N - 1) * n_embd, zeros elsewhere.
      std::vector<float> expected(loaded.data.size(), 0.0f);
      for (const auto& [layer, direction] : cv.directions) {
        REQUIRE(static_cast<int>(direction.size()) == loaded.n_embd);
        REQUIRE(static_cast<std::size_t>(layer) * direction.size() <= expected.size());
        std::copy(direction.begin(), direction.end(), expected.begin() + (layer - 1) * loaded.n_embd);
      }
      CHECK(same_bits(expected, loaded.data));
    }
  }
  CHECK(accepted >= 12);
  CHECK(refused >= 12);
  for (const auto& c : stricter) {
    CAPTURE(c.what);
    const std::string path = dir.file("case.gguf");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(c.file.b.data(), 1, c.file.b.size(), f);
    std::fclose(f);
    CHECK(common_control_vector_load({{1.0f, path}}).n_embd != -1);
    CHECK_THROWS_AS(act::read_control_vector(path), act::format_error);
  }
#endif
}

TEST_CASE("control vectors: export checks a map against the model (n_embd, layers llama.cpp applies)") {
  const act::gguf_model_info model = act::read_gguf_model_info(tiny_model_path());
  CHECK(model.architecture == "llama");
  CHECK(model.n_embd == tiny_embd);
  CHECK(model.n_layer == tiny_layers);
  const auto shift = [](int d) {
    auto m = act::affine_map<float>::identity(d);
    m.beta.setConstant(0.5f);
    return m;
  };
  act::control_vector_options options;
  options.model = model;
  {
    act::map_set maps;
    maps.insert("l_out-3", shift(tiny_embd), {"caa", 1, 1, "mean", "all"});
    maps.insert("blk.1", shift(tiny_embd), {"caa", 1, 1, "mean", "all"});
    const act::control_vector cv = act::to_control_vector(maps, options);
    CHECK(cv.model_hint == "llama");  // from the model when neither the options nor the set say
    CHECK(cv.directions.count(1) == 1);
    CHECK(cv.directions.count(3) == 1);
  }
  {
    act::map_set maps;
    maps.insert("l_out-2", shift(32), {"caa", 1, 1, "mean", "all"});
    CHECK_THROWS_WITH_AS(act::to_control_vector(maps, options),
                         doctest::Contains("has width 32 but the model's n_embd is 64"), act::invalid_argument);
  }
  {
    act::map_set maps;
    maps.insert("blk.4", shift(tiny_embd), {"caa", 1, 1, "mean", "all"});
    CHECK_THROWS_WITH_AS(
        act::to_control_vector(maps, options),
        doctest::Contains("goes to layer 4, but the model has 4 blocks: llama.cpp applies layers 1 to 3"),
        act::invalid_argument);
  }

  // The same maps through llama.cpp: act's exported file loads in llama.cpp's reader unchanged.
  scratch_dir dir;
  act::map_set maps;
  maps.insert("l_out-2", shift(tiny_embd), {"caa", 1, 1, "mean", "all"});
  options.normalize = true;
  options.strength = 2;
  act::write_control_vector(dir.file("cv.gguf"), act::to_control_vector(maps, options));
  const gguf_view v = read_with_ggml(dir.file("cv.gguf"));
  REQUIRE(v.ok);
  REQUIRE(v.names == std::vector<std::string>{"direction.2"});
  double norm = 0;
  for (const float f : v.data[0]) norm += static_cast<double>(f) * f;
  CHECK(std::sqrt(norm) == doctest::Approx(2.0).epsilon(1e-6));
}

TEST_CASE("GGUF model files: act's ggml type layouts are ggml's, and a model cut short in its data is refused") {
  for (int type = 0; type <= GGML_TYPE_COUNT; ++type) {
    CAPTURE(type);
    const act::detail::ggml_type_layout layout = act::detail::ggml_layout(static_cast<std::uint32_t>(type));
    if (type == GGML_TYPE_COUNT || ggml_blck_size(static_cast<ggml_type>(type)) == 0) {
      CHECK(layout.block == 0);  // a number ggml does not use (any more)
      continue;
    }
    CHECK(layout.block == ggml_blck_size(static_cast<ggml_type>(type)));
    CHECK(layout.bytes == ggml_type_size(static_cast<ggml_type>(type)));
  }

  scratch_dir dir;
  const std::string whole = slurp(tiny_model_path());
  CHECK_NOTHROW(act::read_gguf_model_info(tiny_model_path()));
  {
    std::ofstream cut(dir.file("cut.gguf"), std::ios::binary);
    cut.write(whole.data(), static_cast<std::streamsize>(whole.size() - 256));  // more than the padding at the end
  }
  CHECK_THROWS_WITH_AS(act::read_gguf_model_info(dir.file("cut.gguf")),
                       doctest::Contains("runs past the end of the file"), act::format_error);
  // llama.cpp refuses it too.
  llama_model_params p = llama_model_default_params();
  p.n_gpu_layers = 0;
  CHECK(model_ptr(llama_model_load_from_file(dir.file("cut.gguf").c_str(), p)) == nullptr);
}
