// Times kbd_lm_suggest the way a keyboard calls it: a text typed one character at a time,
// a call after every keystroke (k = 3), on one thread. Prints p50 and p99 per kind of call
// (next word: after a space; completion: inside a word) and the time to open the bundle.
//
//   kbd_lm_typing_bench BUNDLE_DIR [TEXT_FILE] [MAX_CHARS]
// Without TEXT_FILE it types the conformance texts of the bundle.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kbd_lm.h"

namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1))];
}

// byte offsets where a UTF-8 character ends
std::vector<size_t> char_ends(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 1; i <= s.size(); i++)
    if (i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR [TEXT_FILE] [MAX_CHARS]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> texts;
  std::string line;
  if (argc > 2) {
    std::ifstream in(argv[2]);
    while (std::getline(in, line)) texts.push_back(line);
  } else {
    std::ifstream in(std::string(argv[1]) + "/conformance.jsonl");
    std::getline(in, line);
    while (std::getline(in, line)) texts.push_back(nlohmann::json::parse(line)["text"]);
  }
  size_t max_chars = argc > 3 ? std::stoul(argv[3]) : 20000;
  auto t0 = Clock::now();
  kbd_lm_predictor* p = nullptr;
  if (kbd_lm_open(argv[1], &p) != KBD_LM_OK) {
    std::fprintf(stderr, "kbd_lm_open: %s\n", kbd_lm_last_error());
    return 1;
  }
  kbd_lm_suggestions* s = nullptr;
  kbd_lm_suggest(p, "", 0, 3, nullptr, &s);
  auto t1 = Clock::now();
  kbd_lm_suggestions_free(s);
  std::vector<double> next, completion;
  size_t typed = 0;
  for (const auto& text : texts) {
    for (size_t end : char_ends(text)) {
      if (typed++ >= max_chars) break;
      auto a = Clock::now();
      kbd_lm_suggest(p, text.data(), end, 3, nullptr, &s);
      auto b = Clock::now();
      kbd_lm_suggestions_free(s);
      (text[end - 1] == ' ' ? next : completion).push_back(micros(a, b));
    }
  }
  kbd_lm_free(p);
  std::printf("open + first suggestion: %.1f ms\n", micros(t0, t1) / 1e3);
  std::printf("next word:  %zu calls, p50 %.0f us, p99 %.0f us\n", next.size(), pct(next, 0.5),
              pct(next, 0.99));
  std::printf("completion: %zu calls, p50 %.0f us, p99 %.0f us\n", completion.size(),
              pct(completion, 0.5), pct(completion, 0.99));
  return 0;
}
