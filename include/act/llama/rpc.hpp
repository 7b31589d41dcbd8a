#pragma once
/// \file rpc.hpp
/// Devices of a llama.cpp RPC server (ggml's RPC backend, `ggml-rpc-server`) for the models loaded
/// afterwards: with n_gpu_layers > 0 their layers, and so the graph tensors act steers and captures, live
/// in the server's memory. Needs llama.cpp built with its RPC backend (-DGGML_RPC=ON).
///
///     act::llama::add_rpc_server("127.0.0.1:50052");        // before llama_model_load_from_file
///     llama_model_params mp = llama_model_default_params();
///     mp.n_gpu_layers = 99;                                  // every layer on the server
///
/// ggml aborts the process when it cannot reach a server, so the endpoint is first checked with a
/// connection of our own, which turns the usual mistakes (no server there, a bad address) into errors.

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <ggml-backend.h>

#include <act/core/error.hpp>

namespace act::llama {

/// "HOST:PORT" split into host and port; throws invalid_argument for anything else.
inline std::pair<std::string, std::string> split_endpoint(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  const std::string host = colon == std::string::npos ? std::string() : endpoint.substr(0, colon);
  const std::string port = colon == std::string::npos ? std::string() : endpoint.substr(colon + 1);
  const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  if (host.empty() || !digits || std::stol(port) == 0 || std::stol(port) > 65535)
    raise<invalid_argument>("RPC server '{}': expected HOST:PORT, e.g. 127.0.0.1:50052", endpoint);
  return {host, port};
}

/// Whether a TCP connection to `endpoint` ("HOST:PORT") opens within `timeout_ms`; "" if it does, else why not.
inline std::string connection_problem(const std::string& endpoint, int timeout_ms = 5000) {
  const auto [host, port] = split_endpoint(endpoint);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) return ::gai_strerror(rc);
  std::string problem = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      problem = std::strerror(errno);
      continue;
    }
    int error = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (error == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, timeout_ms);
      socklen_t len = sizeof error;
      if (ready == 0)
        error = ETIMEDOUT;
      else if (ready < 0)
        error = errno;
      else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
        error = errno;
    }
    ::close(fd);
    if (error == 0) {
      problem.clear();
      break;
    }
    problem = std::strerror(error);
  }
  ::freeaddrinfo(found);
  return problem;
}

/// Registers the devices of the RPC server at `endpoint` ("HOST:PORT") with ggml, for models loaded
/// afterwards (llama.cpp puts offloaded layers on them). Registering one endpoint twice is harmless.
/// Throws invalid_argument when llama.cpp has no RPC backend, the endpoint is malformed or does not answer.
inline void add_rpc_server(const std::string& endpoint) {
  ggml_backend_reg_t rpc = ggml_backend_reg_by_name("RPC");
  if (rpc == nullptr)
    raise<invalid_argument>("RPC server '{}': this llama.cpp has no RPC backend (build it with -DGGML_RPC=ON)",
                            endpoint);
  using add_server_fn = ggml_backend_reg_t (*)(const char*);
  const auto add =
      reinterpret_cast<add_server_fn>(ggml_backend_reg_get_proc_address(rpc, "ggml_backend_rpc_add_server"));
  if (add == nullptr) raise<invalid_argument>("RPC server '{}': llama.cpp's RPC backend cannot add servers", endpoint);
  if (const std::string problem = connection_problem(endpoint); !problem.empty())
    raise<invalid_argument>("RPC server '{}': cannot connect ({})", endpoint, problem);
  ggml_backend_reg_t server = add(endpoint.c_str());
  if (server == nullptr) raise<invalid_argument>("RPC server '{}' offers no device", endpoint);
  // ggml_backend_rpc_add_server returns the same registry for an endpoint it knows: register it once.
  for (std::size_t i = 0; i < ggml_backend_reg_count(); ++i)
    if (ggml_backend_reg_get(i) == server) return;
  ggml_backend_register(server);
}

}  // namespace act::llama
