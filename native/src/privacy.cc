#include "privacy.h"

#include <set>

#include "error.h"
#include "unicode.h"

namespace kbd {

namespace {

const std::set<std::string> kSensitive = {"password", "email", "url", "number", "incognito"};
// privacy.py's _TLDS, in its order (the alternation tries them in turn)
const char* kTlds[] = {"com", "org", "net", "edu", "gov", "mil", "int", "io", "co",
                       "uk",  "us",  "ca",  "au",  "de",  "fr",  "es",  "it", "nl",
                       "eu",  "in",  "me",  "ly",  "app", "dev", "info", "biz"};

// Python's re classes on str (docs/decoding.md 9.2): \w alnum or "_", \d category Nd, \s the
// space table; [^\W\d_] (a letter here) is \w but neither \d nor "_".
struct Classes {
  const TextRules& rules;
  bool word(char32_t c) const { return c == U'_' || rules.is_alnum(c); }
  bool digit(char32_t c) const { return is_decimal(c); }
  bool space(char32_t c) const { return rules.is_space(c); }
  bool letter(char32_t c) const { return word(c) && !digit(c) && c != U'_'; }
  // \b before position i of s
  bool boundary(const std::u32string& s, size_t i) const {
    bool before = i > 0 && word(s[i - 1]), after = i < s.size() && word(s[i]);
    return before != after;
  }
};

// (?i:) on an ASCII letter: its two cases, and U+0130/U+0131 for i, U+017F for s, U+212A
// for k (Python's case-insensitive matching under Unicode)
bool ci(char32_t c, char lower_ascii) {
  if (c == static_cast<char32_t>(lower_ascii) || c == static_cast<char32_t>(lower_ascii - 32))
    return true;
  switch (lower_ascii) {
    case 'i': return c == 0x130 || c == 0x131;
    case 's': return c == 0x17F;
    case 'k': return c == 0x212A;
    default: return false;
  }
}

bool ci_letter(char32_t c) {  // (?i:[a-z])
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == 0x130 || c == 0x131 ||
         c == 0x17F || c == 0x212A;
}

// Each matcher: the end of its match at i, or npos.
constexpr size_t kNone = std::u32string::npos;

// \d(?:[\s\-./()]*\d){4,}
size_t digits(const std::u32string& s, size_t i, const Classes& k) {
  if (i >= s.size() || !k.digit(s[i])) return kNone;
  size_t end = i + 1, groups = 0;
  for (;;) {
    size_t j = end;
    while (j < s.size() && (k.space(s[j]) || std::u32string(U"-./()").find(s[j]) != kNone)) j++;
    if (j < s.size() && k.digit(s[j])) {
      end = j + 1, groups++;
    } else {
      break;
    }
  }
  return groups >= 4 ? end : kNone;
}

// [\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+
size_t email(const std::u32string& s, size_t i, const Classes& k) {
  size_t j = i;
  while (j < s.size() && (k.word(s[j]) || s[j] == U'.' || s[j] == U'+' || s[j] == U'-')) j++;
  if (j == i || j >= s.size() || s[j] != U'@') return kNone;
  auto label = [&](size_t p) {
    while (p < s.size() && (k.word(s[p]) || s[p] == U'-')) p++;
    return p;
  };
  size_t end = label(j + 1);
  if (end == j + 1) return kNone;
  size_t groups = 0;
  while (end < s.size() && s[end] == U'.') {
    size_t e = label(end + 1);
    if (e == end + 1) break;
    end = e, groups++;
  }
  return groups ? end : kNone;
}

// (?i:(?:[a-z][a-z0-9+.\-]*://|www\.)\S+)
size_t url(const std::u32string& s, size_t i, const Classes& k) {
  size_t j = kNone;
  if (i < s.size() && ci_letter(s[i])) {
    size_t p = i + 1;
    while (p < s.size() && (ci_letter(s[p]) || (s[p] >= '0' && s[p] <= '9') || s[p] == U'+' ||
                            s[p] == U'.' || s[p] == U'-'))
      p++;
    if (s.compare(p, 3, U"://") == 0) j = p + 3;
  }
  if (j == kNone && i + 4 <= s.size() && ci(s[i], 'w') && ci(s[i + 1], 'w') &&
      ci(s[i + 2], 'w') && s[i + 3] == U'.')
    j = i + 4;
  if (j == kNone || j >= s.size() || k.space(s[j])) return kNone;
  while (j < s.size() && !k.space(s[j])) j++;
  return j;
}

// (?i:\b[\w\-]+(?:\.[\w\-]+)*\.(?:TLDS)\b(?:/\S*)?): the most labels before the TLD first
// (the group is greedy), then the TLDs in their order
size_t domain(const std::u32string& s, size_t i, const Classes& k) {
  if (!k.boundary(s, i)) return kNone;
  auto label = [&](size_t p) {
    while (p < s.size() && (k.word(s[p]) || s[p] == U'-')) p++;
    return p;
  };
  std::vector<size_t> dots;  // where each label after the first ends: a "." follows
  size_t end = label(i);
  if (end == i) return kNone;
  dots.push_back(end);
  while (end < s.size() && s[end] == U'.') {
    size_t e = label(end + 1);
    if (e == end + 1) break;
    end = e;
    dots.push_back(end);
  }
  for (size_t d = dots.size(); d-- > 0;) {
    size_t dot = dots[d];
    if (dot >= s.size() || s[dot] != U'.') continue;
    for (const char* tld : kTlds) {
      size_t n = std::char_traits<char>::length(tld), p = dot + 1;
      bool ok = p + n <= s.size();
      for (size_t t = 0; ok && t < n; t++) ok = ci(s[p + t], tld[t]);
      if (!ok || !k.boundary(s, p + n)) continue;
      size_t e = p + n;
      if (e < s.size() && s[e] == U'/') {
        e++;
        while (e < s.size() && !k.space(s[e])) e++;
      }
      return e;
    }
  }
  return kNone;
}

// \b(?=(?:[^\W\d_]*\d){2})(?=\w*[^\W\d_])\w{8,}\b
size_t identifier(const std::u32string& s, size_t i, const Classes& k) {
  if (!k.boundary(s, i) || i >= s.size() || !k.word(s[i])) return kNone;
  size_t p = i;
  for (int n = 0; n < 2; n++) {
    while (p < s.size() && k.letter(s[p])) p++;
    if (p >= s.size() || !k.digit(s[p])) return kNone;
    p++;
  }
  size_t end = i;
  bool has_letter = false;
  while (end < s.size() && k.word(s[end])) has_letter |= k.letter(s[end]), end++;
  return has_letter && end - i >= 8 ? end : kNone;
}

}  // namespace

bool check_field(const std::string& field) {
  if (field == "text") return true;
  if (kSensitive.count(field)) return false;
  throw Error(KBD_LM_ERR_ARGUMENT, "unknown field '" + field +
                                       "'; expected one of email, incognito, number, "
                                       "password, text, url");
}

std::vector<std::pair<size_t, size_t>> secret_spans(const std::u32string& s,
                                                    const TextRules& rules) {
  Classes k{rules};
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < s.size();) {
    size_t end = kNone;
    for (auto match : {digits, email, url, domain, identifier}) {
      end = match(s, i, k);
      if (end != kNone) break;
    }
    if (end == kNone || end == i) {
      i++;
      continue;
    }
    out.emplace_back(i, end);
    i = end;
  }
  return out;
}

std::vector<Segment> learnable_segments(const std::u32string& raw, const std::string& field,
                                        const TextRules& rules) {
  if (!check_field(field)) return {};
  const std::u32string text = rules.normalize(raw);
  // the parts between secrets (privacy._pieces): a secret grows to the tokens it touches
  struct Piece {
    size_t start, end;
    bool after_secret;
  };
  std::vector<Piece> pieces;
  size_t pos = 0;
  bool after = false;
  for (auto [m_start, m_end] : secret_spans(text, rules)) {
    size_t space = m_start ? text.rfind(U' ', m_start - 1) : kNone;
    size_t start = std::max(space == kNone ? 0 : space + 1, pos);
    size_t end = text.find(U' ', m_end);
    end = end == kNone ? text.size() : end;
    if (start > pos || pieces.empty()) pieces.push_back({pos, start, after});
    pos = std::max(pos, end), after = true;
  }
  pieces.push_back({pos, text.size(), after});
  std::vector<Segment> out;
  const std::u32string& marks = rules.sentence_end();
  for (const Piece& piece : pieces) {
    bool sentence_start = !piece.after_secret;
    // sentence ends in the piece: runs of marks followed by whitespace or the piece's end
    std::vector<size_t> ends;
    for (size_t i = piece.start; i < piece.end;) {
      if (marks.find(text[i]) == kNone) {
        i++;
        continue;
      }
      size_t j = i;
      while (j < piece.end && marks.find(text[j]) != kNone) j++;
      if (j == piece.end || rules.is_space(text[j])) ends.push_back(j);
      i = j;
    }
    ends.push_back(piece.end);
    size_t from = piece.start;
    for (size_t end : ends) {
      Segment seg{{}, sentence_start};
      for (size_t i = from; i < end;) {
        if (!rules.is_alnum(text[i])) {
          i++;
          continue;
        }
        size_t j = i;  // WORD_RE within [from, end)
        while (j < end && rules.is_alnum(text[j])) j++;
        while (j + 1 < end && text[j] == U'\'' && rules.is_alnum(text[j + 1])) {
          j++;
          while (j < end && rules.is_alnum(text[j])) j++;
        }
        seg.words.push_back(text.substr(i, j - i));
        i = j;
      }
      if (!seg.words.empty()) out.push_back(seg);
      sentence_start = true, from = end;
    }
  }
  return out;
}

}  // namespace kbd
