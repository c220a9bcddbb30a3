// What a personal history may learn from committed text (kbd_lm/history/privacy.py,
// docs/decoding.md section 9.2): nothing from sensitive fields; inside ordinary text, spans
// that look like secrets are cut out with the whole whitespace-separated tokens they touch,
// and what is left is split into sentences and runs of words.
//
//   learnable_segments(U"Call 555 123 4567. Ok bye", "text", rules)
//   // {{{U"Call"}, true}, {{U"Ok", U"bye"}, false}}
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "text.h"

namespace kbd {

struct Segment {
  std::vector<std::u32string> words;  // as typed
  bool sentence_start;  // the first word starts a message or sentence (not after a secret)
};

// true for "text"; false for password, email, url, number, incognito; an Error for others
bool check_field(const std::string& field);
std::vector<Segment> learnable_segments(const std::u32string& text, const std::string& field,
                                        const TextRules& rules);
// (start, end) of every span privacy.py's _SECRET_RE finds, left to right
std::vector<std::pair<size_t, size_t>> secret_spans(const std::u32string& text,
                                                    const TextRules& rules);

}  // namespace kbd
