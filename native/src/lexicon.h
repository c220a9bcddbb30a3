// The bundle's word list (lexicon.txt.gz; docs/decoding.md section 6,
// kbd_lm/inference/lexicon.py) and its mix into completions.
//
//   Lexicon lex = Lexicon::load("dist/bundle/lexicon.txt.gz", rules);
//   words = mix_lexicon(words, lex, U"micro");
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "search.h"

namespace kbd {

class Lexicon {
 public:
  // gzip of "kbd-lm-lexicon 1" then "word<TAB>count" lines; a damaged file throws a bundle
  // error naming the file and line.
  static Lexicon load(const std::string& path);
  // the n most frequent words starting with `prefix` (any case; equal counts: in code point
  // order of their lowercase)
  std::vector<std::pair<std::u32string, long long>> completions(const std::u32string& prefix,
                                                                size_t n) const;
  long long count(const std::u32string& word) const;  // any case; 0 if not listed
  // (word, count) in the order of their lowercase (typing correction's trie reads them)
  const std::vector<std::pair<std::u32string, long long>>& entries() const { return entries_; }

 private:
  // the lowercase words one after another, in one allocation that moves and copies of the
  // Lexicon share (keys_ view into it)
  std::shared_ptr<const std::u32string> key_text_;
  std::vector<std::u32string_view> keys_;  // lowercase, sorted
  std::vector<std::pair<std::u32string, long long>> entries_;  // in keys_' order
};

// Completions of `partial` from the search's words (best first) and the word list.
Words mix_lexicon(const Words& words, const Lexicon& lexicon, const std::u32string& partial);

}  // namespace kbd
