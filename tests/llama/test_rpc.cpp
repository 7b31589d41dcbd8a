// Tensors off the host: the tiny model's layers offloaded to llama.cpp's RPC backend, served by a
// ggml-rpc-server on 127.0.0.1 that each test case starts and stops. The graph tensors then live in the
// server's buffers, as on a GPU; steering and capture through them equal the host path bit for bit.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <act/act.hpp>
#include <act/io/npy.hpp>
#include <act/llama/rpc.hpp>

#include "llama_test_util.hpp"

using namespace act_llama_test;

namespace {

/// A port on 127.0.0.1 that nothing listens on right now (the kernel's choice for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(a.sin_port);
}

/// llama.cpp's ggml-rpc-server, bound to 127.0.0.1 on a free port, one thread; stopped at scope exit.
/// Missing or not answering within 60 s is a test failure, with the reason (never a skip).
class rpc_server {
 public:
  explicit rpc_server(const scratch_dir& dir) {
    const std::string program = ACT_LLAMA_RPC_SERVER;
    REQUIRE_MESSAGE((!program.empty() && fs::exists(program)),
                    "ggml-rpc-server was not found in llama.cpp's bin folder; build llama.cpp with its RPC backend "
                    "(-DGGML_RPC=ON, as cmake/prepare_llama.sh does) and configure act again");
    log_ = dir.file("rpc-server.log");
    for (int attempt = 0; attempt < 3 && endpoint_.empty(); ++attempt) {
      const int port = free_port();
      const std::string port_text = std::to_string(port);
      std::fflush(stdout);  // or the child's freopen writes what this process had buffered a second time
      std::fflush(stderr);
      pid_ = ::fork();
      REQUIRE(pid_ >= 0);
      if (pid_ == 0) {
        std::FILE* out = std::freopen(log_.c_str(), "a", stdout);
        if (out != nullptr) ::dup2(::fileno(stdout), STDERR_FILENO);
        ::execl(program.c_str(), program.c_str(), "-H", "127.0.0.1", "-p", port_text.c_str(), "-t", "1",
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      const std::string endpoint = "127.0.0.1:" + port_text;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited: the port was taken, or worse
          pid_ = -1;
          break;
        }
        if (act::llama::connection_problem(endpoint, 1000).empty()) {
          endpoint_ = endpoint;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (endpoint_.empty()) stop();
    }
    REQUIRE_MESSAGE(!endpoint_.empty(), "ggml-rpc-server did not start on 127.0.0.1 within 60 s; its log:\n"
                                            << slurp(log_));
  }
  rpc_server(const rpc_server&) = delete;
  rpc_server& operator=(const rpc_server&) = delete;
  ~rpc_server() { stop(); }

  const std::string& endpoint() const { return endpoint_; }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  std::string endpoint_;
  std::string log_;
};

/// The tiny model with every layer on the RPC server (`devices`: the server's), or on the host
/// (`devices` empty: no device at all, so nothing runs on the server).
model_ptr load_tiny(std::vector<ggml_backend_dev_t> devices, int32_t gpu_layers) {
  devices.push_back(nullptr);
  llama_model_params p = llama_model_default_params();
  p.devices = devices.data();
  p.n_gpu_layers = gpu_layers;
  model_ptr m(llama_model_load_from_file(tiny_model_path().c_str(), p));
  REQUIRE(m != nullptr);
  return m;
}

/// The devices of the RPC server at `endpoint` (their description is the endpoint).
std::vector<ggml_backend_dev_t> rpc_devices(const std::string& endpoint) {
  act::llama::add_rpc_server(endpoint);
  std::vector<ggml_backend_dev_t> out;
  for (std::size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (endpoint == ggml_backend_dev_description(dev)) out.push_back(dev);
  }
  REQUIRE(!out.empty());
  return out;
}

/// A callback installed before act's: records whether the tensors it watches were in host memory.
struct placement {
  std::vector<std::string> names;
  int seen = 0, on_host = 0;
  static bool cb(ggml_tensor* t, bool ask, void* data) {
    auto* self = static_cast<placement*>(data);
    const bool watched = std::find(self->names.begin(), self->names.end(), t->name) != self->names.end();
    if (ask) return watched;
    if (watched) {
      ++self->seen;
      self->on_host += ggml_backend_buffer_is_host(t->buffer) ? 1 : 0;
    }
    return true;
  }
};

/// A Linear-AcT-like map with scales and shifts of its own per neuron.
act::affine_map<float> some_map(int seed) {
  auto m = act::affine_map<float>::identity(tiny_embd);
  for (int j = 0; j < tiny_embd; ++j) {
    m.omega[j] = 0.6f + 0.01f * static_cast<float>((j * 7 + seed) % 50);
    m.beta[j] = 0.05f * static_cast<float>((j * 13 + seed) % 21 - 10);
  }
  return m;
}

/// What one model gives: logits of every token (steered), rows captured at two tensors, pooled samples.
struct outcome {
  std::vector<float> logits, plain_logits;
  Eigen::MatrixXf rows_l1, rows_ffn2;
  Eigen::MatrixXf pooled;
  int seen = 0, on_host = 0;
};

outcome run_on(llama_model* model) {
  outcome o;
  act::map_set maps;
  maps.insert("l_out-1", some_map(1), {"linear", 1, 1, "mean", "q0_100"});
  maps.insert("attn_norm-2", some_map(2), {"linear", 1, 1, "mean", "q0_100"});
  maps.insert("ffn_out-2", some_map(3), {"linear", 1, 1, "mean", "q0_100"});
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const auto tokens = act::llama::tokenize(vocab, "the cat is happy in the sun and we smile with a good friend");

  placement where{{"l_out-1", "attn_norm-2", "ffn_out-2"}};
  act::llama::eval_callback cb(maps, 0.7);
  cb.capture({"l_out-1", "ffn_out-2"}, std::nullopt);
  llama_context_params p = act::llama::capture_context_params(512, 4, 1);
  p.cb_eval = &placement::cb;
  p.cb_eval_user_data = &where;
  cb.attach(p);
  const context_ptr ctx(llama_init_from_model(model, p));
  REQUIRE(ctx != nullptr);
  o.logits = logits_of(ctx.get(), tokens, &cb);
  o.rows_l1 = cb.rows("l_out-1");
  o.rows_ffn2 = cb.rows("ffn_out-2");
  o.seen = where.seen;
  o.on_host = where.on_host;

  const context_ptr plain(llama_init_from_model(model, act::llama::capture_context_params(512, 1, 1)));
  o.plain_logits = logits_of(plain.get(), tokens);

  // Pooled capture of several prompts per batch, steered.
  act::llama::eval_callback pool(maps, 0.7);
  llama_context_params pp = act::llama::capture_context_params(512, 4, 1);
  pool.attach(pp);
  const context_ptr pctx(llama_init_from_model(model, pp));
  o.pooled = act::llama::capture_prompts(pctx.get(), pool, act::llama::tokenize_all(vocab, sad_prompts()),
                                         {"ffn_out-3"}, act::pooling::mean)
                 .at("ffn_out-3");
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
bool same_bits(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("rpc: tensors in an RPC server's buffers are steered and captured, bit for bit as on the host") {
  scratch_dir dir;
  const rpc_server server(dir);
  const model_ptr host = load_tiny({}, 0);
  const model_ptr offloaded = load_tiny(rpc_devices(server.endpoint()), 99);

  const outcome h = run_on(host.get());
  const outcome d = run_on(offloaded.get());
  // Where the tensors were: on the host for one, in the server's buffers for the other.
  CHECK(h.seen > 0);
  CHECK(h.on_host == h.seen);
  CHECK(d.seen == h.seen);
  CHECK(d.on_host == 0);

  CHECK(same_bits(h.plain_logits, d.plain_logits));  // llama.cpp itself: the same numbers either way
  CHECK_FALSE(same_bits(h.logits, h.plain_logits));  // the maps change the logits ...
  CHECK(same_bits(h.logits, d.logits));              // ... by the same bits off the host
  REQUIRE(h.rows_l1.rows() > 10);
  CHECK(same_bits(h.rows_l1, d.rows_l1));
  CHECK(same_bits(h.rows_ffn2, d.rows_ffn2));
  REQUIRE(h.pooled.rows() == static_cast<Eigen::Index>(sad_prompts().size()));
  CHECK(same_bits(h.pooled, d.pooled));
}

TEST_CASE("rpc: act-llama --rpc --gpu-layers steers and captures on the server as on the host") {
  scratch_dir dir;
  const rpc_server server(dir);
  const std::string tool = ACT_LLAMA_PATH;
  const std::string model = "--model " + tiny_model_path() + " --threads 1";
  const std::string offload = " --rpc " + server.endpoint() + " --gpu-layers 99";
  write_lines(dir.file("sad.txt"), sad_prompts());
  write_lines(dir.file("happy.txt"), happy_prompts());
  for (const std::string where : {"host", "rpc"}) {
    const std::string extra = where == "rpc" ? offload : "";
    auto r =
        run(tool,
            fmt::format(
                "fit {} --source-prompts {} --target-prompts {} --tensors l_out-1,l_out-2 --method linear --out {}{}",
                model, dir.file("sad.txt"), dir.file("happy.txt"), dir.file(where + ".safetensors"), extra),
            dir);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    r = run(tool,
            fmt::format("capture {} --prompts {} --tensors l_out-2,ffn_out-3 --out {}{}", model, dir.file("sad.txt"),
                        dir.file(where + "-caps"), extra),
            dir);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    r = run(tool,
            fmt::format("generate {} --maps {} --strengths 0,1 --prompt \"the cat is\" -n 12 --temp 0{}", model,
                        dir.file("host.safetensors"), extra),
            dir);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    write_lines(dir.file(where + ".txt"), {r.out});
  }
  CHECK(slurp(dir.file("host.txt")) == slurp(dir.file("rpc.txt")));
  CHECK(slurp(dir.file("host.safetensors")) == slurp(dir.file("rpc.safetensors")));
  for (const std::string t : {"l_out-2", "ffn_out-3"})
    CHECK(slurp(dir.file("host-caps/" + t + ".npy")) == slurp(dir.file("rpc-caps/" + t + ".npy")));

  // Nothing listening: a clear error, not ggml's abort.
  const auto r = run(tool, fmt::format("generate {} --prompt hello -n 2 --rpc 127.0.0.1:{}", model, free_port()), dir);
  CHECK(r.status == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find("cannot connect (Connection refused)") != std::string::npos);
  CHECK(run(tool, fmt::format("generate {} --prompt hello -n 2 --rpc nonsense", model), dir).status == 1);
}
