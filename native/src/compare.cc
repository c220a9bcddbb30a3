// kbd_lm_compare (include/kbd_lm.h): whether two suggestion lists are the same answer within
// a conformance tolerance, as kbd_lm.inference.tolerance.compare judges it (docs/decoding.md
// section 10). The ctest conformance executable and the JNI binding's conformance check call
// it, so every port judged here is judged by one definition.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kbd_lm.h"

namespace {

struct Word {
  std::string word;
  double p;
};

struct Tolerance {
  double rel, abs;
};

bool close(double p, double q, Tolerance t) {
  return std::fabs(p - q) <= t.abs + t.rel * std::max(p, q);
}

std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", x);
  return buf;
}

// "" when `given` is the same answer as `expected`, else why not (the Python wording).
std::string compare(const std::vector<Word>& expected, const std::vector<Word>& given,
                    Tolerance tol) {
  if (expected.size() != given.size())
    return std::to_string(expected.size()) + " words expected, " +
           std::to_string(given.size()) + " given";
  for (size_t i = 0; i < expected.size(); i++)
    if (!close(expected[i].p, given[i].p, tol))
      return "rank " + std::to_string(i + 1) + ": " + expected[i].word + " " +
             fmt(expected[i].p) + " expected, " + given[i].word + " " + fmt(given[i].p) +
             " given";
  std::map<std::string, double> exp, got;
  std::map<std::string, size_t> order;
  for (const auto& w : expected) exp[w.word] = w.p;
  for (size_t i = 0; i < given.size(); i++)
    got[given[i].word] = given[i].p, order[given[i].word] = i;
  auto last_of = [](const std::map<std::string, double>& m) {
    double last = m.empty() ? 0.0 : 1e300;
    for (const auto& [w, p] : m) last = std::min(last, p);
    return last;
  };
  for (int side = 0; side < 2; side++) {
    const auto& mine = side == 0 ? got : exp;
    const auto& theirs = side == 0 ? exp : got;
    double last = last_of(theirs);
    for (const auto& [word, p] : mine) {
      auto it = theirs.find(word);
      if (it != theirs.end()) {
        if (!close(p, it->second, tol))
          return word + ": probability " + fmt(exp[word]) + " expected, " + fmt(got[word]) +
                 " given";
      } else if (!close(p, last, tol)) {
        return word + " (" + fmt(p) + ") only " + (side == 0 ? "given" : "expected") +
               ", not a tie at the cut-off (" + fmt(last) + ")";
      }
    }
  }
  std::vector<std::string> both;
  for (const auto& w : expected)
    if (order.count(w.word)) both.push_back(w.word);
  for (size_t i = 0; i < both.size(); i++)
    for (size_t j = i + 1; j < both.size(); j++)
      if (order[both[j]] < order[both[i]] && !close(exp[both[i]], exp[both[j]], tol))
        return both[i] + " and " + both[j] + " change places, not a near-tie";
  return "";
}

std::vector<Word> words(const kbd_lm_suggestion* items, size_t count) {
  std::vector<Word> out;
  for (size_t i = 0; i < count; i++)
    out.push_back({items[i].word ? items[i].word : "", items[i].probability});
  return out;
}

}  // namespace

extern "C" int kbd_lm_compare(const kbd_lm_suggestion* expected, size_t expected_count,
                              const kbd_lm_suggestion* given, size_t given_count, double rel,
                              double abs, char* why, size_t why_size) {
  std::string reason;
  try {
    if ((!expected && expected_count) || (!given && given_count))
      reason = "expected or given is NULL";
    else
      reason = compare(words(expected, expected_count), words(given, given_count), {rel, abs});
  } catch (...) {  // (out of memory: no exception crosses the C interface)
    reason = "out of memory";
  }
  if (why && why_size) {
    size_t n = std::min(reason.size(), why_size - 1);
    std::memcpy(why, reason.data(), n);
    why[n] = '\0';
  }
  return reason.empty() ? 1 : 0;
}
