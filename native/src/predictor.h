// Suggestions from a bundle: the pipeline of docs/decoding.md section 9
// (kbd_lm/inference/predictor.py): split, the model's context state, the word search, the
// word list, the n-gram (ngram.cc), the history, the blocklist, casing; and the typing
// correction of section 11 (predictor_typing.cc).
//
//   Predictor p("dist/bundle");
//   p.suggest(U"see you ", 3, nullptr, nullptr, {})   // {{U"later", 0.03, ...}, ...}
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "blocklist.h"
#include "bundle.h"
#include "correction.h"
#include "history.h"
#include "lexicon.h"
#include "model.h"
#include "ngram.h"
#include "search.h"
#include "text.h"
#include "tokenizer.h"
#include "typing.h"

namespace kbd {

// The typing correction options of a call (docs/decoding.md 11).
struct TypingOptions {
  bool correct = false;
  std::string layout = kDefaultLayout;  // one of typing.json's layouts
  std::vector<Tap> taps;                // empty, or one per letter of the partial word
};

struct Input {
  std::u32string context, partial;
  std::vector<int32_t> ids;
};

class Predictor {
 public:
  explicit Predictor(const std::string& bundle_dir);

  // up to k words, best first, cased as shown, with their kinds; hint: nullptr or one of
  // decoding.field_hints; history: nullptr or the user's (mixed in after the word list,
  // docs/decoding.md 9); typing.correct (with a bundle that has typing.json and a word list):
  // corrections of the partial word too (docs/decoding.md 11)
  std::vector<Suggested> suggest(const std::u32string& text, int k, const char* hint,
                                 const History* history, const TypingOptions& typing);
  // log P(word, then a boundary | context) of each of `words` (Predictor.next_word_logprobs)
  std::vector<double> word_logprobs(const std::u32string& context,
                                    const std::vector<std::u32string>& words, int hint);
  bool corrects() const { return typing_ != nullptr && lexicon_ != nullptr; }
  // forget every cached context state, row and prior: the next call starts as in a new text
  // field (Predictor.clear_cache)
  void clear_cache();
  Input decode_input(const std::u32string& text, const char* hint) const;

  Blocklist& blocklist() { return blocklist_; }
  const TextRules& rules() const { return *rules_; }
  std::shared_ptr<const TextRules> shared_rules() const { return rules_; }

 private:
  int hint_id(const char* hint) const;  // -1: none
  std::vector<int32_t> ids(const std::u32string& context, int hint_id) const;
  const Context& context_state(const std::vector<int32_t>& ids);
  // the words before display: searched (n best), the word list and history mixed in, blocked
  // words left out; *context and *partial: the text's split
  Words ranked_words(const std::u32string& text, size_t n, int hint, const History* history,
                     std::u32string* context, std::u32string* partial);
  // word_logprobs of `words` after `context`, those of earlier calls in the same context kept
  std::vector<double> priors(const std::u32string& context,
                             const std::vector<std::u32string>& words, int hint);
  // log P(pieces, then a boundary | ctx) of each of `seqs` (at most the largest batch)
  std::vector<double> run_pieces(const Context& ctx, const std::vector<std::vector<int32_t>>& seqs);

  Bundle bundle_;
  std::shared_ptr<const TextRules> rules_;  // (shared with the histories made for this bundle)
  std::unique_ptr<Unigram> tok_;
  std::unique_ptr<Model> model_;
  Pieces pieces_;
  std::unique_ptr<WordSearch> search_;
  std::unique_ptr<Lexicon> lexicon_;
  Blocklist blocklist_;
  std::unique_ptr<TypingSpec> typing_;         // typing.json; none: no correction
  std::unique_ptr<Corrections> corrections_;  // the word list's trie, built on first use
  std::unique_ptr<NgramMix> ngram_;            // the manifest's "ngram"; none: no mix
  // the priors of correction for one (hint, context): word -> log P(word, then a boundary),
  // kept while the keystrokes of a word ask for the same candidates (predictor.py's _priors)
  std::pair<std::pair<int, std::u32string>, std::map<std::u32string, double>> priors_;
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
