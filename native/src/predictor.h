// Suggestions from a bundle: the pipeline of docs/decoding.md section 9 without the n-gram
// and the history (kbd_lm/inference/predictor.py): split, the model's context state, the
// word search, the word list, the blocklist, casing.
//
//   Predictor p("dist/bundle");
//   p.suggest(U"see you ", 3, nullptr)   // {{U"later", 0.03}, ...}
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "blocklist.h"
#include "bundle.h"
#include "history.h"
#include "lexicon.h"
#include "model.h"
#include "search.h"
#include "text.h"
#include "tokenizer.h"

namespace kbd {

struct Input {
  std::u32string context, partial;
  std::vector<int32_t> ids;
};

class Predictor {
 public:
  explicit Predictor(const std::string& bundle_dir);

  // up to k words, best first, cased as shown; hint: nullptr or one of decoding.field_hints;
  // history: nullptr or the user's (mixed in after the word list, docs/decoding.md 9);
  // *completion (may be nullptr): whether the words complete typed letters
  Words suggest(const std::u32string& text, int k, const char* hint, const History* history,
                bool* completion = nullptr);
  Input decode_input(const std::u32string& text, const char* hint) const;

  Blocklist& blocklist() { return blocklist_; }
  const TextRules& rules() const { return *rules_; }
  std::shared_ptr<const TextRules> shared_rules() const { return rules_; }

 private:
  int hint_id(const char* hint) const;  // -1: none
  std::vector<int32_t> ids(const std::u32string& context, int hint_id) const;
  const Context& context_state(const std::vector<int32_t>& ids);

  Bundle bundle_;
  std::shared_ptr<const TextRules> rules_;  // (shared with the histories made for this bundle)
  std::unique_ptr<Unigram> tok_;
  std::unique_ptr<Model> model_;
  Pieces pieces_;
  std::unique_ptr<WordSearch> search_;
  std::unique_ptr<Lexicon> lexicon_;
  Blocklist blocklist_;
  // model input ids -> the state after them, least recently used first (decoding.context_cache)
  std::list<std::pair<std::vector<int32_t>, Context>> cache_;
  std::map<std::vector<int32_t>, std::list<std::pair<std::vector<int32_t>, Context>>::iterator>
      cached_;
  uint64_t serial_ = 0;  // the last context computed
  // (hint id, context) -> model input ids, for the last few contexts: every letter of a word
  // asks for the same ones (kbd_lm/inference/predictor.py IDS_CACHE_SIZE)
  mutable std::list<std::pair<std::pair<int, std::u32string>, std::vector<int32_t>>> ids_cache_;
};

}  // namespace kbd
