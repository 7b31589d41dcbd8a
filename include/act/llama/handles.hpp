#pragma once
/// \file handles.hpp
/// Owning handles for llama.cpp's model and context, so that every exit path frees them.
///
///     act::llama::model_ptr model(llama_model_load_from_file(path, params));
///     act::llama::context_ptr ctx(llama_init_from_model(model.get(), cparams));

#include <memory>

#include <llama.h>

namespace act::llama {

struct model_deleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct context_deleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
using model_ptr = std::unique_ptr<llama_model, model_deleter>;
using context_ptr = std::unique_ptr<llama_context, context_deleter>;

}  // namespace act::llama
