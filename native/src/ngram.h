// The bundle's optional word n-gram and its mix (docs/decoding.md section 8): the file
// ngram.kn3 as kbd_lm/ngram/file.py packs it, read with the checks of its parse and of
// KneserNeyTrigram's constructor (kbd_lm/ngram/model.py); the model's queries (suggest,
// knows, next_word_logprob); and kbd_lm/inference/predictor.py's interpolation
// P = w P_neural + (1 - w) P_ngram (Predictor._mix and next_word_logprobs).
//
//   std::unique_ptr<NgramMix> mix = NgramMix::load(bundle);   // nullptr: the bundle has none
//   words = mix->mix(words, U"see you ", rules);               // the union, best first
//   mix->model().suggest(U"see you s", 3, rules)               // {{U"soon", -0.4}, ...}
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bundle.h"
#include "search.h"
#include "text.h"

namespace kbd {

// A Kneser-Ney trigram read from its file (KneserNeyTrigram). Word ids: 0 <s>, 1 </s>,
// 2 <unk>, then the vocabulary in code point order. Immutable once read: threads may share it.
class Ngram {
 public:
  // `blob`: the file's bytes; a damaged file throws a bundle error naming `path` and the
  // field at fault, as KneserNeyTrigram.load refuses it (and a value that is not a number).
  Ngram(const std::string& blob, const std::string& path);
  static Ngram load(const std::string& path);

  // The k most probable words (lowercase) for the text before the cursor with their natural
  // log-probabilities, best first: next words after a space, or completions longer than the
  // typed letters (KneserNeyTrigram.suggest).
  std::vector<std::pair<std::u32string, double>> suggest(const std::u32string& text, size_t k,
                                                         const TextRules& rules) const;
  // `word` (any case) is in the vocabulary (KneserNeyTrigram.knows)
  bool knows(const std::u32string& word) const;
  // ln P(word | the last two words of text), case-insensitive; unknown words score as <unk>
  // and U"</s>" asks for the end (KneserNeyTrigram.next_word_logprob)
  double next_word_logprob(const std::u32string& text, const std::u32string& word,
                           const TextRules& rules) const;
  size_t size() const { return vocab_.size() + kSpecial; }  // ids, specials included

  static constexpr uint32_t kSpecial = 3;  // <s>, </s>, <unk> (kbd_lm/ngram/file.py N_SPECIAL)

 private:
  struct Reader;  // the file's checks and tables (ngram.cc)
  long find(const std::u32string& word) const;    // its id, or -1
  uint32_t id(const std::u32string& word) const;  // its id, or <unk>'s
  // (u, v, partial, has_partial): the last two words' ids and the word being typed
  void context(const std::u32string& text, const TextRules& rules, uint32_t* u, uint32_t* v,
               std::u32string* partial, bool* has_partial) const;
  long bigram(uint32_t v, uint32_t w) const;  // index of (v, w) in the bigram table, or -1
  double score(uint32_t u, uint32_t v, uint32_t w) const;  // ln P(w | u v), as _scores
  // the m best ids in [lo, hi) by ln P(w), ties to the lower id (_top_unigrams)
  std::vector<uint32_t> top_unigrams(uint32_t lo, uint32_t hi, size_t m) const;

  std::vector<std::u32string> vocab_;  // the regular words, sorted (ids kSpecial..)
  // Per unigram: ln P, ln backoff (0 without followers), and where its bigrams start in the
  // bigram table: off1_[v] .. off1_[v + 1] ([size + 1], the n1 section summed).
  std::vector<float> lp1_, lbo1_;
  std::vector<uint32_t> off1_;
  // Per bigram (grouped by first word, sorted by second): second word, ln P, ln backoff,
  // where its trigrams start ([bigrams + 1])
  std::vector<uint32_t> w2_, off2_;
  std::vector<float> lp2_, lbo2_;
  // Per trigram (grouped by context bigram, sorted by word): word, ln P
  std::vector<uint32_t> w3_;
  std::vector<float> lp3_;
  std::vector<uint32_t> uni_order_;  // regular ids by ln P(w) descending, ties by id
};

// The manifest's "ngram" and its model, mixed into the predictor's words.
class NgramMix {
 public:
  // Candidates taken from each model (kbd_lm/inference/predictor.py MIX_CANDIDATES): the
  // search asks for max(k, this) words when the bundle has an n-gram.
  static constexpr size_t kCandidates = 8;

  // The bundle's n-gram, or nullptr when its manifest has none. The manifest's "ngram" must
  // name the file listed with role "ngram", type "kneser-ney-trigram" and a neural_weight in
  // [0, 1]: anything else is a bundle error naming the field.
  static std::unique_ptr<NgramMix> load(const Bundle& bundle);

  // P = w P_neural + (1 - w) P_ngram over the union of `words` and the n-gram's best
  // kCandidates for the raw `text`, best first (Predictor._mix).
  Words mix(const Words& words, const std::u32string& text, const TextRules& rules) const;
  // log(w P_neural + (1 - w) P_ngram) of each of `words` after `text`, `logp` holding the
  // neural model's (Predictor.next_word_logprobs)
  void interpolate(const std::u32string& text, const std::vector<std::u32string>& words,
                   std::vector<double>* logp, const TextRules& rules) const;

  const Ngram& model() const { return model_; }
  double neural_weight() const { return neural_weight_; }

 private:
  NgramMix(Ngram model, double neural_weight)
      : model_(std::move(model)), neural_weight_(neural_weight) {}
  Ngram model_;
  double neural_weight_;
};

}  // namespace kbd
