// The n-gram reader and queries (src/ngram.cc) against kbd_lm.ngram.model: Kneser-Ney trigrams
// of about 12,000 words stored in 8, 16 and 32 bits, and the Python model's answers to
// suggest, next_word_logprob and knows (golden.jsonl), both written by
// tools/gen_ngram_golden.py when ctest runs (the fixture ngram_golden). Words must be the
// same in the same order, log-probabilities equal to 1e-12 relative (the same float32 tables
// summed in float64).
//
//   kbd_lm_ngram_test BUNDLE_DIR GOLDEN_DIR   (the bundle gives the text rules)
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "error.h"
#include "ngram.h"
#include "text.h"
#include "unicode.h"

using nlohmann::json;

namespace {

int failures = 0, checks = 0;

void expect(bool ok, const std::string& what) {
  checks++;
  if (!ok && failures++ < 40) std::printf("FAIL: %s\n", what.c_str());
}

bool close(double a, double b) {  // (equal infinities included)
  return a == b || std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

void check_model(const kbd::Ngram& lm, const json& want, const kbd::TextRules& rules) {
  const std::string name = want["model"];
  for (const json& c : want["suggest"]) {
    const std::string text = c[0];
    const auto got = lm.suggest(kbd::from_utf8(text), c[1].get<size_t>(), rules);
    const std::string what = name + " suggest '" + text.substr(0, 40) + "' k " + c[1].dump();
    expect(got.size() == c[2].size(), what + ": " + std::to_string(got.size()) + " words");
    for (size_t i = 0; i < got.size() && i < c[2].size(); i++) {
      expect(kbd::encode_utf8(got[i].first) == c[2][i][0].get<std::string>(),
             what + ": word " + std::to_string(i) + " " + kbd::encode_utf8(got[i].first));
      expect(close(std::exp(got[i].second), c[2][i][1].get<double>()),
             what + ": probability of " + c[2][i][0].get<std::string>());
    }
  }
  for (const json& c : want["logprob"]) {
    const std::string text = c[0], word = c[1];
    double got = lm.next_word_logprob(kbd::from_utf8(text), kbd::from_utf8(word), rules);
    expect(close(got, c[2].get<double>()),
           name + " next_word_logprob '" + text.substr(0, 40) + "' " + word + ": " +
               std::to_string(got) + " vs " + c[2].dump());
  }
  for (const json& c : want["knows"])
    expect(lm.knows(kbd::from_utf8(c[0].get<std::string>())) == c[1].get<bool>(),
           name + " knows " + c[0].get<std::string>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR GOLDEN_DIR\n", argv[0]);
    return 2;
  }
  const std::string tokenizer = std::string(argv[1]) + "/tokenizer.json", dir = argv[2];
  try {
    kbd::TextRules rules(read_json(tokenizer)["text"], tokenizer);
    std::ifstream golden(dir + "/golden.jsonl");
    std::string line;
    int models = 0;
    while (std::getline(golden, line)) {
      json want = json::parse(line);
      kbd::Ngram lm = kbd::Ngram::load(dir + "/" + want["model"].get<std::string>());
      expect(lm.size() > 8192 + kbd::Ngram::kSpecial, "a vocabulary past the dense range");
      check_model(lm, want, rules);
      models++;
    }
    expect(models == 3, dir + "/golden.jsonl: " + std::to_string(models) + " models, not 3");
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  std::printf("ngram: %d checks against kbd_lm.ngram.model: %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
