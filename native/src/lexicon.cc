#include "lexicon.h"

#include <zlib.h>

#include <algorithm>
#include <numeric>

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
  std::string text = gunzip(path);
  std::vector<std::pair<std::u32string, long long>> ranked;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (++line_no == 1) {
      if (line != kMagic)
        throw bundle_error(path + ": first line is not '" + std::string(kMagic) + "'");
      continue;
    }
    size_t tab = line.find('\t');
    std::u32string word;
    std::string count = tab == std::string::npos ? "" : line.substr(tab + 1);
    if (tab == 0 || count.empty() || count.size() > 18 ||
        !std::all_of(count.begin(), count.end(), ::isdigit) ||
        !decode_utf8(line.substr(0, tab), &word))
      throw bundle_error(path + ":" + std::to_string(line_no) + ": expected 'word<TAB>count'");
    ranked.emplace_back(word, std::stoll(count));
  }
  if (line_no == 0) throw bundle_error(path + ": empty word list");
  Lexicon lex;
  std::vector<std::u32string> keys;
  for (const auto& e : ranked) keys.push_back(lower(e.first));
  std::vector<size_t> order(ranked.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  for (size_t i : order) lex.keys_.push_back(keys[i]), lex.entries_.push_back(ranked[i]);
  return lex;
}

std::vector<std::pair<std::u32string, long long>> Lexicon::completions(
    const std::u32string& prefix, size_t n) const {
  std::u32string key = lower(prefix);
  if (key.empty()) return {};
  auto lo = std::lower_bound(keys_.begin(), keys_.end(), key);
  auto hi = std::lower_bound(lo, keys_.end(), key + U'\U0010FFFF');
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
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
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
