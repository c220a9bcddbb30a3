#include "text.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "bundle.h"
#include "error.h"
#include "unicode.h"

namespace kbd {

using nlohmann::json;

namespace {

std::vector<std::pair<uint32_t, uint32_t>> read_ranges(const json& tables, const char* key,
                                                       const std::string& source) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  const json* t = tables.contains(key) ? &tables[key] : nullptr;
  if (!t || !t->is_array()) throw bundle_error(source + ": text." + key + " is missing");
  for (const auto& r : *t) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() ||
        !r[1].is_number_unsigned() || r[0].get<uint32_t>() > r[1].get<uint32_t>() ||
        (!out.empty() && r[0].get<uint32_t>() <= out.back().second))
      throw bundle_error(source + ": text." + key + " must be ascending [first, last] ranges");
    out.emplace_back(r[0].get<uint32_t>(), r[1].get<uint32_t>());
  }
  return out;
}

std::u32string read_chars(const json& tables, const char* key, const std::string& source) {
  if (!tables.contains(key) || !tables[key].is_string())
    throw bundle_error(source + ": text." + key + " is missing (re-export the bundle)");
  return from_utf8(tables[key].get<std::string>());
}

bool has(const std::u32string& set, char32_t c) {
  return set.find(c) != std::u32string::npos;
}

}  // namespace

TextRules::TextRules(const json& tables, const std::string& source) {
  if (!tables.is_object()) throw bundle_error(source + ": no 'text' tables (re-export it)");
  drop_ = read_ranges(tables, "drop", source);
  alnum_ = read_ranges(tables, "alnum", source);
  if (!tables.contains("space") || !tables["space"].is_array())
    throw bundle_error(source + ": text.space is missing");
  for (const auto& cp : tables["space"]) {
    if (!cp.is_number_unsigned()) throw bundle_error(source + ": text.space: not a code point");
    space_.push_back(cp.get<char32_t>());
  }
  std::sort(space_.begin(), space_.end());
  if (!tables.contains("apostrophes") || !tables["apostrophes"].is_object())
    throw bundle_error(source + ": text.apostrophes is missing");
  for (const auto& [from, to] : tables["apostrophes"].items()) {
    std::u32string f = from_utf8(from), t = from_utf8(to.get<std::string>());
    if (f.size() != 1 || t.size() != 1)
      throw bundle_error(source + ": text.apostrophes: one character to one character");
    apostrophes_.emplace_back(f[0], t[0]);
  }
  sentence_end_ = read_chars(tables, "sentence_end", source);
  sentence_closers_ = read_chars(tables, "sentence_closers", source);
  if (!tables.contains("unicode_version") || !tables["unicode_version"].is_string())
    throw bundle_error(source + ": text.unicode_version is missing");
  unicode_version_ = tables["unicode_version"].get<std::string>();
  for (char32_t c = 0; c < 128; c++) ascii_alnum_[c] = in(alnum_, c);
}

bool TextRules::in(const Ranges& ranges, char32_t cp) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](char32_t c, const std::pair<uint32_t, uint32_t>& r) {
                               return c < r.first;
                             });
  return it != ranges.begin() && cp <= (it - 1)->second;
}

bool TextRules::is_space(char32_t cp) const {
  return std::binary_search(space_.begin(), space_.end(), cp);
}

std::u32string TextRules::normalize(const std::u32string& text) const {
  // NFC, drop, fold apostrophes, collapse whitespace runs to one space, strip both ends
  std::u32string out;
  bool pending_space = false;
  for (char32_t ch : nfc(text)) {
    if (is_dropped(ch)) continue;
    if (is_space(ch)) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(U' ');
    pending_space = false;
    for (const auto& [from, to] : apostrophes_)
      if (ch == from) ch = to;
    out.push_back(ch);
  }
  return out;
}

std::u32string TextRules::normalize_prefix(const std::u32string& text) const {
  std::u32string body = normalize(text);
  if (!body.empty() && !text.empty() && is_space(text.back())) body.push_back(U' ');
  return body;
}

std::u32string TextRules::rstrip(const std::u32string& s) const {
  size_t end = s.size();
  while (end > 0 && is_space(s[end - 1])) end--;
  return s.substr(0, end);
}

size_t context_start(size_t length, const Decoding& d) {
  if (length <= d.max_context_chars) return 0;
  size_t over = length - d.max_context_chars;
  return (over + d.context_stride - 1) / d.context_stride * d.context_stride;
}

std::pair<std::u32string, std::u32string> TextRules::split(const std::u32string& text,
                                                           const Decoding& decoding) const {
  size_t start = context_start(text.size(), decoding);
  std::u32string t = normalize_prefix(text.substr(start));
  if (start) {
    size_t space = t.find(U' ');  // its first word may be cut: drop it (all of t if no space)
    t = space == std::u32string::npos ? t : t.substr(space + 1);
  }
  if (t.empty() || t.back() == U' ') return {rstrip(t), U""};
  long m = partial_start(t);
  if (m < 0) return {t, U""};  // ends in punctuation or a symbol: the next word follows
  return {rstrip(t.substr(0, m)), t.substr(m)};
}

long TextRules::partial_start(const std::u32string& t) const {
  // the leftmost match of [^\W_]+(?:'[^\W_]+)*'?\Z: alnum runs joined by single
  // apostrophes, maybe one apostrophe after them, ending the text
  long i = static_cast<long>(t.size());
  if (i > 0 && t[i - 1] == U'\'') i--;
  long start = -1;
  while (i > 0 && is_alnum(t[i - 1])) {
    while (i > 0 && is_alnum(t[i - 1])) i--;
    start = i;
    if (i >= 2 && t[i - 1] == U'\'' && is_alnum(t[i - 2])) i--;
    else break;
  }
  return start;
}

size_t TextRules::word_end(const std::u32string& s, size_t i) const {
  // s[i] is alnum: the end of W+('W+)* from i (greedy, as Python's re finds it)
  size_t j = i;
  while (j < s.size() && is_alnum(s[j])) j++;
  while (j + 1 < s.size() && s[j] == U'\'' && is_alnum(s[j + 1])) {
    j++;
    while (j < s.size() && is_alnum(s[j])) j++;
  }
  return j;
}

bool TextRules::is_word(const std::u32string& s) const {
  return !s.empty() && is_alnum(s[0]) && word_end(s, 0) == s.size();
}

std::vector<std::u32string> TextRules::words(const std::u32string& s) const {
  std::vector<std::u32string> out;
  for (size_t i = 0; i < s.size();) {
    if (!is_alnum(s[i])) {
      i++;
      continue;
    }
    size_t j = word_end(s, i);
    out.push_back(lower(s.substr(i, j - i)));
    i = j;
  }
  return out;
}

bool TextRules::at_sentence_start(const std::u32string& context) const {
  // (^|[.!?]['")\]]*)\s*$
  size_t j = context.size();
  while (j > 0 && is_space(context[j - 1])) j--;
  if (j == 0) return true;
  while (j > 0 && has(sentence_closers_, context[j - 1])) j--;
  return j > 0 && has(sentence_end_, context[j - 1]);
}

}  // namespace kbd
