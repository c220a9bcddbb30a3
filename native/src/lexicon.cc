#include "lexicon.h"

#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <string_view>

#include "error.h"
#include "unicode.h"

namespace kbd {

namespace {

const char* kMagic = "kbd-lm-lexicon 1";
// kbd_lm/inference/lexicon.py: DEFAULT_WEIGHT (the list's share, chosen by keystroke savings
// on the validation splits), CANDIDATES (words it proposes) and UNLISTED (what a spelling the
// list does not hold keeps).
constexpr double kWeight = 0.1;
constexpr size_t kCandidates = 8;
constexpr double kUnlisted = 0.001;

std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw bundle_error(path + ": cannot be read");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string why = err != Z_OK && err != Z_STREAM_END ? msg : "";
  gzclose(f);
  if (n < 0 || !why.empty()) throw bundle_error(path + ": not a gzip file (" + why + ")");
  return out;
}

bool completes(const std::u32string& word, const std::u32string& partial) {
  return word.size() > partial.size() && lower(word.substr(0, partial.size())) == lower(partial);
}

}  // namespace

Lexicon Lexicon::load(const std::string& path) {
  const std::string text = gunzip(path);
  std::string_view rest(text);
  std::vector<std::pair<std::u32string, long long>> ranked;  // in the file's order
  ranked.reserve(text.size() / 8);  // (about 11 bytes a line in the default bundle's)
  size_t line_no = 0;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (++line_no == 1) {
      if (line != kMagic)
        throw bundle_error(path + ": first line is not '" + std::string(kMagic) + "'");
      continue;
    }
    const size_t tab = line.find('\t');
    const std::string_view count = tab == line.npos ? "" : line.substr(tab + 1);
    long long n = 0;
    bool ok = tab != 0 && !count.empty() && count.size() <= 18;  // (18 digits fit a long long)
    for (char ch : count) ok = ok && ch >= '0' && ch <= '9', n = n * 10 + (ch - '0');
    std::u32string word;
    if (!ok || !decode_utf8(line.substr(0, tab), &word))
      throw bundle_error(path + ":" + std::to_string(line_no) + ": expected 'word<TAB>count'");
    ranked.emplace_back(std::move(word), n);
  }
  if (line_no == 0) throw bundle_error(path + ": empty word list");
  // the lowercase keys one after another in one buffer: a load makes no allocation per key
  Lexicon lex;
  std::vector<std::pair<size_t, size_t>> spans;  // (start, length) in the buffer
  spans.reserve(ranked.size());
  auto key_text = std::make_shared<std::u32string>();
  key_text->reserve(text.size());
  for (const auto& e : ranked) {
    const size_t start = key_text->size();
    append_lower(e.first, key_text.get());
    spans.emplace_back(start, key_text->size() - start);
  }
  lex.key_text_ = key_text;
  const std::u32string_view all(*key_text);
  // by lowercase, equal ones in the file's order (a stable sort, as the index breaks ties);
  // the first three code points of each key (21 bits each) sit beside it, so that most
  // comparisons read no key text (a missing one is 0, below every code point a word holds)
  struct Entry {
    uint64_t head;
    std::u32string_view key;
    uint32_t i;
  };
  std::vector<Entry> order(ranked.size());
  for (uint32_t i = 0; i < order.size(); i++) {
    const std::u32string_view k = all.substr(spans[i].first, spans[i].second);
    uint64_t head = 0;
    for (size_t j = 0; j < 3; j++) head = head << 21 | (j < k.size() ? k[j] : 0);
    order[i] = {head, k, i};
  }
  std::sort(order.begin(), order.end(), [](const Entry& a, const Entry& b) {
    if (a.head != b.head) return a.head < b.head;
    int c = a.key.compare(b.key);
    return c < 0 || (c == 0 && a.i < b.i);
  });
  lex.keys_.reserve(order.size());
  lex.entries_.reserve(order.size());
  for (const Entry& e : order)
    lex.keys_.push_back(e.key), lex.entries_.push_back(std::move(ranked[e.i]));
  return lex;
}

std::vector<std::pair<std::u32string, long long>> Lexicon::completions(
    const std::u32string& prefix, size_t n) const {
  std::u32string key = lower(prefix);
  if (key.empty()) return {};
  const std::u32string end = key + U'\U0010FFFF';
  auto lo = std::lower_bound(keys_.begin(), keys_.end(), std::u32string_view(key));
  auto hi = std::lower_bound(lo, keys_.end(), std::u32string_view(end));
  std::vector<std::pair<std::u32string, long long>> found(
      entries_.begin() + (lo - keys_.begin()), entries_.begin() + (hi - keys_.begin()));
  // most frequent first; equal counts keep the order of their lowercase
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (found.size() > n) found.resize(n);
  return found;
}

long long Lexicon::count(const std::u32string& word) const {
  std::u32string key = lower(word);
  auto it = std::lower_bound(keys_.begin(), keys_.end(), std::u32string_view(key));
  return it != keys_.end() && *it == key ? entries_[it - keys_.begin()].second : 0;
}

Words mix_lexicon(const Words& words, const Lexicon& lexicon, const std::u32string& partial) {
  if (partial.empty()) return words;
  std::vector<std::pair<std::u32string, long long>> found;
  for (auto& e : lexicon.completions(partial, kCandidates + 1))  // the typed word may be one
    if (completes(e.first, partial) && found.size() < kCandidates) found.push_back(e);
  long long total = 0;
  for (const auto& e : found) total += e.second;
  if (!total) return words;
  std::vector<double> share;
  double mass = 0.0;  // the model's estimate of a listed word here
  for (const auto& [w, p] : words) {
    bool digits = !w.empty() && std::all_of(w.begin(), w.end(), is_decimal);
    share.push_back(lexicon.count(w) || digits ? 1.0 : kUnlisted);
    if (share.back() == 1.0) mass += p;
  }
  if (mass == 0.0) mass = 1e-6;
  Words mixed;
  std::unordered_map<std::u32string, size_t> at;
  for (size_t i = 0; i < words.size(); i++) {
    at.emplace(lower(words[i].first), mixed.size());
    mixed.emplace_back(words[i].first, (1 - kWeight) * share[i] * words[i].second);
  }
  for (const auto& [w, n] : found) {
    auto [it, fresh] = at.emplace(lower(w), mixed.size());
    if (fresh) mixed.emplace_back(w, 0.0);
    mixed[it->second].second += kWeight * mass * static_cast<double>(n) / total;
  }
  std::stable_sort(mixed.begin(), mixed.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return mixed;
}

}  // namespace kbd
