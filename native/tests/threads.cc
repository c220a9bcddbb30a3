// One predictor shared by several threads (kbd_lm.h: calls on one predictor take its lock):
// every thread runs the bundle's conformance texts in its own order and must get the answers
// one thread got alone (words and autocorrection equal, probabilities within 1e-6 relative:
// the context cache may resume a state another thread's text left, which changes the last
// float bits only). Typo cases are suggested with correction, on their layout and taps.
//
//   kbd_lm_threads BUNDLE_DIR [THREADS]
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kbd_lm.h"

namespace {

struct Case {
  std::string text, hint;
  int k;
  bool correct;
  std::string layout;
  std::vector<double> taps;  // x, y per letter
};

struct Answer {
  std::vector<std::string> words;
  std::vector<double> probs;
  int autocorrect = 0;
  bool ok = false;
};

Answer ask(kbd_lm_predictor* p, const Case& c) {
  Answer a;
  kbd_lm_suggest_options opts = {c.hint.empty() ? nullptr : c.hint.c_str(), nullptr,
                                 c.correct ? 1 : 0};
  kbd_lm_typing typing = {c.layout.c_str(), c.taps.empty() ? nullptr : c.taps.data(),
                          c.taps.size() / 2};
  kbd_lm_suggestions* s = nullptr;
  if (kbd_lm_suggest_typing(p, c.text.data(), c.text.size(), c.k, &opts, &typing, &s) !=
      KBD_LM_OK)
    return a;
  a.autocorrect = s->autocorrect;
  for (size_t i = 0; i < s->count; i++) {
    a.words.push_back(s->items[i].word);
    a.probs.push_back(s->items[i].probability);
  }
  kbd_lm_suggestions_free(s);
  a.ok = true;
  return a;
}

bool same(const Answer& a, const Answer& b) {
  if (!a.ok || !b.ok || a.words != b.words || a.autocorrect != b.autocorrect) return false;
  for (size_t i = 0; i < a.probs.size(); i++)
    if (std::fabs(a.probs[i] - b.probs[i]) > 1e-6 * std::max(a.probs[i], b.probs[i]))
      return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR [THREADS]\n", argv[0]);
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 4;
  std::ifstream in(std::string(argv[1]) + "/conformance.jsonl");
  std::string line;
  std::getline(in, line);  // the header
  std::vector<Case> cases;
  while (std::getline(in, line)) {
    auto c = nlohmann::json::parse(line);
    if (c.contains("learn") || c.contains("blocklist_add")) continue;  // no shared changes
    std::vector<double> taps;
    if (c.contains("taps"))
      for (const auto& t : c["taps"])
        for (int i = 0; i < 2; i++) taps.push_back(t.is_null() ? NAN : t[i].get<double>());
    cases.push_back({c["text"], c.value("hint", ""), c["k"], c.value("correct", false),
                     c.value("layout", "qwerty"), taps});
  }
  kbd_lm_predictor* p = nullptr;
  if (kbd_lm_open(argv[1], &p) != KBD_LM_OK) {
    std::fprintf(stderr, "kbd_lm_open: %s\n", kbd_lm_last_error());
    return 1;
  }
  std::vector<Answer> alone;
  for (const auto& c : cases) alone.push_back(ask(p, c));
  std::vector<int> wrong(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++)
    pool.emplace_back([&, t] {
      std::vector<size_t> order(cases.size());
      for (size_t i = 0; i < order.size(); i++) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(t));
      for (size_t i : order) wrong[t] += !same(ask(p, cases[i]), alone[i]);
    });
  for (auto& th : pool) th.join();
  kbd_lm_free(p);
  int total = 0;
  for (int w : wrong) total += w;
  std::printf("threads: %d threads x %zu texts on one predictor, %d answers differ from one "
              "thread's\n", threads, cases.size(), total);
  return total == 0 ? 0 : 1;
}
