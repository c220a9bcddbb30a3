#include "correction.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "unicode.h"

namespace kbd {

namespace {

constexpr double kNeg = -std::numeric_limits<double>::infinity();
// What may stand before the partial word in its whitespace-separated token (OPENERS).
const std::u32string kOpeners = U"\"'([{";
// Python's str.isdigit() beyond the decimal digits (Nd), Unicode 14: superscripts, circled
// and parenthesised digits and the like (the ranges of correction.js's DIGIT).
constexpr char32_t kOtherDigits[][2] = {
    {0xB2, 0xB3},       {0xB9, 0xB9},       {0x1369, 0x1371},   {0x19DA, 0x19DA},
    {0x2070, 0x2070},   {0x2074, 0x2079},   {0x2080, 0x2089},   {0x2460, 0x2468},
    {0x2474, 0x247C},   {0x2488, 0x2490},   {0x24EA, 0x24EA},   {0x24F5, 0x24FD},
    {0x24FF, 0x24FF},   {0x2776, 0x277E},   {0x2780, 0x2788},   {0x278A, 0x2792},
    {0x10A40, 0x10A43}, {0x10E60, 0x10E68}, {0x11052, 0x1105A}, {0x1F100, 0x1F10A}};

bool is_digit(char32_t cp) {
  if (is_decimal(cp)) return true;
  for (const auto& r : kOtherDigits)
    if (cp >= r[0] && cp <= r[1]) return true;
  return false;
}

// Python's str.isupper(): a cased character, and none in lowercase
bool is_upper(const std::u32string& s) { return upper(s) == s && lower(s) != s; }

// log sum exp of `scores` (not empty), without overflow (correction.py's _logsumexp)
double logsumexp(const std::vector<double>& scores) {
  const double top = *std::max_element(scores.begin(), scores.end());
  double sum = 0;
  for (double s : scores) sum += std::exp(s - top);
  return top + std::log(sum);
}

}  // namespace

bool correctable(const TextRules& rules, const std::u32string& text,
                 const std::u32string& partial) {
  if (partial.empty() || std::any_of(partial.begin(), partial.end(), is_digit)) return false;
  const std::u32string cps = rules.rstrip(text);
  size_t i = cps.size();
  while (i > 0 && !rules.is_space(cps[i - 1])) i--;
  const std::u32string token = cps.substr(i);  // the last token (none when all whitespace)
  const size_t n = partial.size();
  if (token.size() < n || token.compare(token.size() - n, n, partial) != 0) return false;
  return std::all_of(token.begin(), token.end() - n,
                     [](char32_t ch) { return kOpeners.find(ch) != std::u32string::npos; });
}

std::u32string typed_case(const std::u32string& word, const std::u32string& typed) {
  if (typed.size() > 1 && is_upper(typed)) return upper(word);
  if (!typed.empty() && is_upper(typed.substr(0, 1)) && !word.empty())
    return upper(word.substr(0, 1)) + word.substr(1);
  return word;
}

struct Corrections::Hyp {
  std::u32string word;
  kbd_lm_kind kind;
  double prior, prefix = 0, whole = 0;
  double raw() const { return prior + prefix; }
};

Corrections::Corrections(const Lexicon& lexicon)
    : lexicon_(lexicon),
      trie_(lexicon.entries(), [&] {
        // the word list ranked as Lexicon.items(): most frequent first, ties by lowercase
        // (the entries' order)
        const auto& entries = lexicon.entries();
        std::vector<uint32_t> order(entries.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
          return entries[x].second > entries[y].second;
        });
        return order;
      }()) {}

// The completions and the corrections of `partial`, each with its likelihoods, in the order
// noted; *as_typed: the typed letters as a whole word's score.
std::vector<Corrections::Hyp> Corrections::hypotheses(const std::u32string& partial,
                                                      const CorrectionRequest& req,
                                                      const TypedLetters& typed, double own,
                                                      double* as_typed) {
  std::vector<Hyp> hyps;
  std::unordered_map<std::u32string, size_t> at;  // lowercase word -> its hypothesis
  for (const auto& [word, p] : *req.exact) {
    const std::u32string key = lower(word);
    if (p > 0 && !at.count(key)) {
      at[key] = hyps.size();
      hyps.push_back({word, KBD_LM_KIND_COMPLETION, std::log(p)});
    }
  }
  for (Hyp& h : hyps) std::tie(h.whole, h.prefix) = typed.likelihoods(h.word);
  const std::u32string want = lower(partial);
  Skip skip = [&](const std::u32string& w) {
    return lower(w).compare(0, want.size(), want) == 0 || (req.blocked && req.blocked(w));
  };
  std::vector<Found> found = trie_.walk(typed, kCandidates, skip, false, own, &memo_).items();
  auto rank = [](const Found& f) { return std::log(double(f.count)) + std::max(f.whole, f.prefix); };
  std::stable_sort(found.begin(), found.end(),
                   [&](const Found& x, const Found& y) { return rank(x) > rank(y); });
  if (found.size() > kCandidates) found.resize(kCandidates);
  std::vector<std::u32string> ask;
  for (const Found& f : found) ask.push_back(f.word);
  ask.push_back(partial);
  const std::vector<double> priors = req.prior(ask);  // the model scores them together
  for (size_t i = 0; i < found.size(); i++) {
    // their likelihoods in full (the walk may stop before a candidate's own node)
    Hyp h{found[i].word, KBD_LM_KIND_CORRECTION, priors[i]};
    std::tie(h.whole, h.prefix) = typed.likelihoods(h.word);
    const std::u32string key = lower(h.word);
    auto it = at.find(key);
    if (it == at.end()) {
      at[key] = hyps.size();
      hyps.push_back(std::move(h));
    } else {
      hyps[it->second] = std::move(h);  // (a Map's set keeps the first place)
    }
  }
  *as_typed = priors.back() + own;
  return hyps;
}

std::vector<Suggested> Corrections::suggest(const std::u32string& partial,
                                            const CorrectionRequest& req,
                                            const TypingSpec& spec) {
  TypedLetters typed(partial, *req.layout, spec.channel, req.taps);
  const double own = typed.likelihoods(partial).first;
  double as_typed = 0;
  std::vector<Hyp> ranked = hypotheses(partial, req, typed, own, &as_typed);
  auto strip = [&](const Hyp& h) {
    return h.raw() + (h.kind == KBD_LM_KIND_COMPLETION ? spec.completion_bonus : 0);
  };
  std::vector<double> raws, strips;
  for (const Hyp& h : ranked) raws.push_back(h.raw());
  const double raw_total = ranked.empty() ? 0 : logsumexp(raws);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](const Hyp& x, const Hyp& y) { return strip(x) > strip(y); });
  for (const Hyp& h : ranked) strips.push_back(strip(h));
  strips.push_back(as_typed);
  const double total = logsumexp(strips);
  size_t best = 0, first = 0;  // the first best by prior + whole likelihood, by raw score
  for (size_t i = 1; i < ranked.size(); i++) {
    if (ranked[i].prior + ranked[i].whole > ranked[best].prior + ranked[best].whole) best = i;
    if (ranked[i].raw() > ranked[first].raw()) first = i;
  }
  // space commits `best` when it beats the typed letters as a word by the margin and its
  // raw score is at least the strip ratio times the best raw score
  const bool autocorrect =
      !req.learned && !ranked.empty() &&
      ranked[best].prior + ranked[best].whole - as_typed > spec.autocorrect_margin &&
      ranked[best].raw() - ranked[first].raw() >= std::log(spec.autocorrect_strip_ratio);
  if (autocorrect) std::rotate(ranked.begin(), ranked.begin() + best, ranked.begin() + best + 1);
  std::vector<Suggested> out;
  for (const Hyp& h : ranked) {
    const bool completion = h.kind == KBD_LM_KIND_COMPLETION;
    const double share = std::exp(h.raw() - raw_total);  // unlisted_min: a share of raw scores
    if (completion && share < spec.unlisted_min && !lexicon_.count(h.word)) continue;
    const std::u32string word =
        completion ? partial + h.word.substr(std::min(partial.size(), h.word.size()))
                   : typed_case(h.word, partial);
    out.push_back({word, std::exp(strip(h) - total), h.kind, autocorrect && out.empty()});
    if (out.size() == req.k) break;
  }
  return out;
}

}  // namespace kbd
