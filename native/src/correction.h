// Typo-tolerant suggestions for a partial word: the model's prior times the touch channel
// (docs/decoding.md 11 and 11.3): a port of kbd_lm/inference/correction.py following
// serve/static/kbd/correction.js.
//
// The hypotheses: the model's completions of the typed letters (prior: their probability),
// corrections from the word list's trie walk (candidates.h; prior: the model's log P of the
// word, then a boundary), and the typed letters as a whole word (never suggested). Each
// hypothesis' raw score is prior + log P(typed | start of the word), its strip score that
// plus the completion bonus for a completion; the autocorrection (what space commits) is
// decided on whole words.
//
//   Corrections fix(lexicon);
//   fix.suggest(U"tomorow", request, spec)
//   // {{U"tomorrow", 0.97, KBD_LM_KIND_CORRECTION, true}, ...}
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "candidates.h"
#include "kbd_lm.h"
#include "lexicon.h"
#include "search.h"
#include "text.h"
#include "typing.h"

namespace kbd {

constexpr size_t kCandidates = 8;  // corrections from the word list scored by the model per call

struct Suggested {
  std::u32string word;  // as shown
  double probability = 0;
  kbd_lm_kind kind = KBD_LM_KIND_NEXT;
  bool autocorrect = false;
};

// What one corrected call reads besides the typed letters.
struct CorrectionRequest {
  const Words* exact = nullptr;  // the completions without correction, best first
  // words -> log P(word, then a boundary | context) of each, the model run on them together
  std::function<std::vector<double>(const std::vector<std::u32string>&)> prior;
  size_t k = 3;
  const Layout* layout = nullptr;
  std::vector<Tap> taps;  // empty or one per typed letter
  Blocked blocked;        // empty, or true for a word never to propose
  bool learned = false;   // the history has the typed letters as a word: no autocorrection
};

// True if the partial word at the end of raw `text` may be corrected: no digit (str.isdigit),
// and its whitespace-separated token holds nothing but opening quotes or brackets before it.
//   correctable(rules, U"see you tomorow", U"tomorow") == true
//   correctable(rules, U"mail me@exampl", U"exampl") == false
bool correctable(const TextRules& rules, const std::u32string& text,
                 const std::u32string& partial);
// `word` in the case typed: all capitals when more than one letter was typed and all were
//   typed_case(U"tomorrow", U"Tomorow") == U"Tomorrow"
std::u32string typed_case(const std::u32string& word, const std::u32string& typed);

// Corrections over one word list (its trie built once), as correction.py's Corrections.
class Corrections {
 public:
  explicit Corrections(const Lexicon& lexicon);
  // the k best suggestions for the typed `partial`, best first
  std::vector<Suggested> suggest(const std::u32string& partial, const CorrectionRequest& req,
                                 const TypingSpec& spec);
  void clear_memo() { memo_.clear(); }

 private:
  struct Hyp;
  std::vector<Hyp> hypotheses(const std::u32string& partial, const CorrectionRequest& req,
                              const TypedLetters& typed, double own, double* as_typed);

  const Lexicon& lexicon_;
  WordTrie trie_;
  ColumnMemo memo_;  // the last walks' columns: the next keystroke reads on from them
};

}  // namespace kbd
