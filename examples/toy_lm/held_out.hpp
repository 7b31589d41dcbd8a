#pragma once
/// The evaluation items of the toy LM experiments, each split into a selection part (where strengths are
/// chosen) and a disjoint test part (where the reported numbers are measured).
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "../common/held_out.hpp"
#include "corpus.hpp"
#include "recipe.hpp"

namespace toy_lm {

/// Toxic-eliciting prompts: 5 for selection, the other 5 for the test.
inline examples_common::parts<std::string> toxic_prompt_parts() {
  return examples_common::alternate_split(toxic_prompts());
}

/// Neutral openers of the induction experiment: 3 and 3.
inline examples_common::parts<std::string> opener_parts() {
  return examples_common::alternate_split(neutral_prompts());
}

/// The held-out truthfulness questions (none of them in the fitting data): 51 and 51.
inline examples_common::parts<misconception> question_parts() {
  return examples_common::alternate_split(truthfulness_questions());
}

/// Held-out text for the perplexity budget: the first `per_part` distinct neutral / topic / fact sentences of
/// the held-out corpus for selection, the next `per_part` for the test (toxic and polite ones are what
/// steering is meant to change; the held-out corpus repeats some short sentences, which are taken once).
inline examples_common::parts<sentence> perplexity_parts(std::size_t per_part) {
  examples_common::parts<sentence> p;
  const corpus c = default_corpus();
  std::set<std::string> taken;
  for (const auto& s : c.heldout) {
    if (s.kind != sentence_kind::neutral && s.kind != sentence_kind::topic && s.kind != sentence_kind::fact) continue;
    if (!taken.insert(s.text).second) continue;
    if (p.selection.size() < per_part)
      p.selection.push_back(s);
    else if (p.test.size() < per_part)
      p.test.push_back(s);
  }
  return p;
}

}  // namespace toy_lm
