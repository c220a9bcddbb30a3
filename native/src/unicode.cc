#include "unicode.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "unicode_data.inc"

namespace kbd {
namespace {

template <size_t N>
bool in_ranges(const uint32_t (&table)[N][2], char32_t cp) {
  // the last range starting at or before cp
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](char32_t c, const uint32_t(&r)[2]) { return c < r[0]; });
  return it != std::begin(table) && cp <= (*(it - 1))[1];
}

// A flat table "cp, count, cps..." as a map cp -> (offset of its cps, count).
struct Mapping {
  std::unordered_map<char32_t, std::pair<uint32_t, uint32_t>> at;
  const uint32_t* data;
  template <size_t N>
  explicit Mapping(const uint32_t (&table)[N]) : data(table) {
    for (uint32_t i = 0; i < N; i += 2 + table[i + 1]) at[table[i]] = {i + 2, table[i + 1]};
  }
  // appends the mapping of cp (cp itself when it has none)
  void append(char32_t cp, std::u32string* out) const {
    auto it = at.find(cp);
    if (it == at.end()) {
      out->push_back(cp);
      return;
    }
    out->append(data + it->second.first, data + it->second.first + it->second.second);
  }
};

const Mapping& lower_map() {
  static const Mapping m(kLower);
  return m;
}
const Mapping& upper_map() {
  static const Mapping m(kUpper);
  return m;
}
const Mapping& decomposition_map() {
  static const Mapping m(kDecomposition);
  return m;
}

int combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  auto it = std::upper_bound(std::begin(kCombining), std::end(kCombining), cp,
                             [](char32_t c, const uint32_t(&r)[3]) { return c < r[0]; });
  if (it == std::begin(kCombining) || cp > (*(it - 1))[1]) return 0;
  return static_cast<int>((*(it - 1))[2]);
}

const std::unordered_map<uint64_t, char32_t>& composition_map() {
  static const std::unordered_map<uint64_t, char32_t> m = [] {
    std::unordered_map<uint64_t, char32_t> out;
    for (const auto& row : kComposition) out[(uint64_t{row[0]} << 32) | row[1]] = row[2];
    return out;
  }();
  return m;
}

// Hangul syllables compose and decompose by arithmetic (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr int kSCount = kLCount * kNCount;

char32_t compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = composition_map().find((uint64_t{a} << 32) | b);
  return it == composition_map().end() ? 0 : it->second;
}

void decompose(char32_t cp, std::u32string* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    int s = static_cast<int>(cp - kSBase);
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out->push_back(kTBase + s % kTCount);
    return;
  }
  decomposition_map().append(cp, out);
}

bool is_cased(char32_t cp) { return in_ranges(kCased, cp); }
bool is_case_ignorable(char32_t cp) { return in_ranges(kCaseIgnorable, cp); }

// Python's handle_capital_sigma: U+03A3 lowercases to final sigma after a cased letter (case
// ignorable ones skipped) when no cased letter follows (same skip).
char32_t lower_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) j--;
  bool final_sigma = j > 0 && is_cased(s[j - 1]);
  if (final_sigma) {
    j = i + 1;
    while (j < s.size() && is_case_ignorable(s[j])) j++;
    final_sigma = j == s.size() || !is_cased(s[j]);
  }
  return final_sigma ? 0x3C2 : 0x3C3;
}

}  // namespace

bool decode_utf8(std::string_view in, std::u32string* out) {
  out->clear();
  out->reserve(in.size());
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* end = p + in.size();
  while (p < end) {
    unsigned char b = *p++;
    if (b < 0x80) {
      out->push_back(b);
      continue;
    }
    int extra;
    char32_t cp, min;
    if ((b & 0xE0) == 0xC0) {
      extra = 1, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3, cp = b & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (end - p < extra) return false;
    for (int k = 0; k < extra; k++) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    p += extra;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out->push_back(cp);
  }
  return true;
}

std::string encode_utf8(std::u32string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char32_t cp : in) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

std::u32string from_utf8(std::string_view in) {
  std::u32string out;
  if (!decode_utf8(in, &out)) out.clear();
  return out;
}

std::u32string nfc(std::u32string_view in) {
  if (std::all_of(in.begin(), in.end(), [](char32_t c) { return c < 0x300; })) {
    // below U+0300 nothing decomposes into a combining sequence that could recompose
    // differently: only Latin-1 letters with accents, already composed
    return std::u32string(in);
  }
  std::u32string d;
  for (char32_t cp : in) decompose(cp, &d);
  // canonical order: a stable sort of each run of non-starters by combining class
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) j++;
    std::stable_sort(d.begin() + i, d.begin() + j, [](char32_t a, char32_t b) {
      return combining_class(a) < combining_class(b);
    });
    i = j;
  }
  // canonical composition: each character with the last starter, unless blocked
  std::u32string out;
  long starter = -1;
  int last_cc = 0;
  for (char32_t cp : d) {
    int cc = combining_class(cp);
    if (starter >= 0) {
      bool adjacent = static_cast<long>(out.size()) - 1 == starter;
      if (adjacent || (last_cc != 0 && last_cc < cc)) {
        char32_t c = compose(out[starter], cp);
        if (c) {
          out[starter] = c;
          continue;
        }
      }
    }
    if (cc == 0) starter = static_cast<long>(out.size());
    last_cc = cc;
    out.push_back(cp);
  }
  return out;
}

void append_lower(std::u32string_view in, std::u32string* out) {
  for (size_t i = 0; i < in.size(); i++) {
    char32_t cp = in[i];
    if (cp < 0x80) {
      out->push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x3A3) {
      out->push_back(lower_sigma(in, i));
    } else {
      lower_map().append(cp, out);
    }
  }
}

std::u32string lower(std::u32string_view in) {
  std::u32string out;
  out.reserve(in.size());
  append_lower(in, &out);
  return out;
}

std::u32string upper(std::u32string_view in) {
  std::u32string out;
  out.reserve(in.size());
  for (char32_t cp : in) {
    if (cp < 0x80) {
      out.push_back(cp >= 'a' && cp <= 'z' ? cp - 32 : cp);
    } else {
      upper_map().append(cp, &out);
    }
  }
  return out;
}

bool is_decimal(char32_t cp) { return in_ranges(kDecimal, cp); }

const char* unicode_version() { return KBD_LM_UNICODE_VERSION; }

}  // namespace kbd
