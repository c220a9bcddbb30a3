// The text rules of docs/decoding.md sections 1, 2 and 7 (kbd_lm/text/normalization.py,
// sentences.py and Predictor._split), with the character classes of the bundle's
// tokenizer.json ("text": drop, alnum, space, apostrophes, sentence_end, sentence_closers),
// which are Python's under the pinned Unicode version.
//
//   TextRules rules(tokenizer_json["text"]);
//   rules.normalize_prefix(U"see  you ")           // U"see you "
//   rules.split(U"see yo", decoding)               // {U"see", U"yo"}
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kbd {

struct Decoding;

class TextRules {
 public:
  // `tables`: tokenizer.json's "text"; a missing or malformed table throws a bundle error
  // naming it (`source`: the file, for the message).
  TextRules(const nlohmann::json& tables, const std::string& source);

  bool is_dropped(char32_t cp) const { return in(drop_, cp); }
  bool is_alnum(char32_t cp) const { return cp < 128 ? ascii_alnum_[cp] : in(alnum_, cp); }
  bool is_space(char32_t cp) const;

  std::u32string normalize(const std::u32string& text) const;
  std::u32string normalize_prefix(const std::u32string& text) const;
  // (context, partial word) of the raw text before the cursor (section 2)
  std::pair<std::u32string, std::u32string> split(const std::u32string& text,
                                                   const Decoding& decoding) const;
  // W+('W+)* matches the whole of `s`: a suggestable word
  bool is_word(const std::u32string& s) const;
  // the W+('W+)* matches of `s`, lowercased (normalization.words)
  std::vector<std::u32string> words(const std::u32string& s) const;
  // the context is empty or ends a sentence (sentences.at_sentence_start)
  bool at_sentence_start(const std::u32string& context) const;
  std::u32string rstrip(const std::u32string& s) const;  // str.rstrip()
  // start of the partial word at the end of t (PARTIAL_WORD_RE.search), or -1
  long partial_start(const std::u32string& t) const;

  const std::string& unicode_version() const { return unicode_version_; }
  const std::u32string& sentence_end() const { return sentence_end_; }  // ".!?"

 private:
  using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;
  static bool in(const Ranges& ranges, char32_t cp);
  size_t word_end(const std::u32string& s, size_t i) const;  // end of a WORD_RE match at i

  Ranges drop_, alnum_;
  std::vector<char32_t> space_;
  bool ascii_alnum_[128];
  std::vector<std::pair<char32_t, char32_t>> apostrophes_;
  std::u32string sentence_end_, sentence_closers_;
  std::string unicode_version_;
};

// Where reading starts in a text of `length` code points (predictor.context_start).
size_t context_start(size_t length, const Decoding& decoding);

}  // namespace kbd
