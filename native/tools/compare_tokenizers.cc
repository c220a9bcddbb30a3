// Measures the two tokenizers a native decoder can use on a bundle: sentencepiece's C++
// library (Debian's 0.1.97 on tokenizer.model) and the unigram over tokenizer.json
// (src/tokenizer.cc). For the conformance contexts it checks both against the vectors'
// context_ids (written by Python's sentencepiece 0.2.x); for the lines of text files
// (normalised by the bundle's rules) it counts where the two disagree; for a .jsonl file of
// {"text", "ids"} lines (ids from Python's sentencepiece) it checks both against those ids;
// it times both on every text.
//
//   cmake -S native -B native/build -DKBD_LM_COMPARE_SENTENCEPIECE=ON
//   native/build/kbd_lm_compare_tokenizers BUNDLE_DIR [TEXT_FILE | IDS.jsonl ...]
#include <sentencepiece_processor.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle.h"
#include "text.h"
#include "tokenizer.h"
#include "unicode.h"

using nlohmann::json;

namespace {

json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR [TEXT_FILE...]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  kbd::Bundle bundle = kbd::Bundle::load(dir);
  json tok_json = read_json(bundle.path_of("tokenizer_json"));
  kbd::TextRules rules(tok_json["text"], "tokenizer.json");
  kbd::Unigram unigram(tok_json, "tokenizer.json");
  sentencepiece::SentencePieceProcessor sp;
  if (!sp.Load(bundle.path_of("tokenizer")).ok()) {
    std::fprintf(stderr, "sentencepiece cannot load %s\n", bundle.path_of("tokenizer").c_str());
    return 1;
  }
  // 1. the conformance contexts: [bos, (hint)] + pieces, cut as the decoder cuts
  std::ifstream in(dir + "/conformance.jsonl");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> contexts;
  int cases = 0, uni_ok = 0, sp_ok = 0;
  while (std::getline(in, line)) {
    json c = json::parse(line);
    std::vector<int> want = c["context_ids"].get<std::vector<int>>();
    std::string context = c["context"];
    contexts.push_back(context);
    std::vector<int> head = {2};
    if (c.contains("hint") && bundle.hints.count(c["hint"])) head.push_back(bundle.hints[c["hint"]]);
    std::vector<int> a = head, b = head, pieces;
    for (int32_t id : unigram.encode(kbd::from_utf8(context))) a.push_back(id);
    if (!context.empty()) sp.Encode(context, &pieces);
    b.insert(b.end(), pieces.begin(), pieces.end());
    for (auto* ids : {&a, &b})
      if (ids->size() > bundle.decoding.max_context_tokens)
        ids->erase(ids->begin(), ids->end() - bundle.decoding.short_context_tokens);
    cases++, uni_ok += a == want, sp_ok += b == want;
  }
  std::printf("conformance contexts: %d; ids equal to the vectors': tokenizer.json unigram %d, "
              "sentencepiece %s %d\n", cases, uni_ok, "0.1.97", sp_ok);
  // 2. lines of text, normalised: where the two disagree
  long lines = 0, differ = 0, refs = 0, ref_uni = 0, ref_sp = 0;
  for (int f = 2; f < argc; f++) {
    std::ifstream text(argv[f]);
    if (std::string(argv[f]).size() > 6 &&
        std::string(argv[f]).substr(std::string(argv[f]).size() - 6) == ".jsonl") {
      while (std::getline(text, line)) {
        json r = json::parse(line);
        std::string t = r["text"];
        std::vector<int> want = r["ids"].get<std::vector<int>>(), pieces;
        sp.Encode(t, &pieces);
        std::vector<int32_t> mine = unigram.encode(kbd::from_utf8(t));
        refs++, ref_sp += pieces == want;
        ref_uni += std::vector<int>(mine.begin(), mine.end()) == want;
      }
      continue;
    }
    while (std::getline(text, line)) {
      std::u32string raw;
      if (!kbd::decode_utf8(line, &raw)) continue;
      std::string norm = kbd::encode_utf8(rules.normalize(raw));
      if (norm.empty()) continue;
      contexts.push_back(norm);
      std::vector<int> pieces;
      sp.Encode(norm, &pieces);
      std::vector<int32_t> mine = unigram.encode(kbd::from_utf8(norm));
      lines++, differ += std::vector<int>(mine.begin(), mine.end()) != pieces;
      if (std::vector<int>(mine.begin(), mine.end()) != pieces && differ <= 5)
        std::printf("differ: %s\n", norm.c_str());
    }
  }
  if (lines) std::printf("text lines: %ld, pieces differ on %ld\n", lines, differ);
  if (refs)
    std::printf("reference texts: %ld; ids equal to Python's: tokenizer.json unigram %ld, "
                "sentencepiece 0.1.97 %ld\n", refs, ref_uni, ref_sp);
  // 3. time: every text above, encoded by each
  long pieces_total = 0;
  std::vector<std::u32string> u32;
  for (const auto& c : contexts) u32.push_back(kbd::from_utf8(c));
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& c : u32) pieces_total += unigram.encode(c).size();
  double t_uni = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (const auto& c : contexts) {
    std::vector<int> pieces;
    sp.Encode(c, &pieces);
  }
  double t_sp = seconds_since(t0);
  std::printf("time for %zu texts (%ld pieces): tokenizer.json unigram %.1f ms, "
              "sentencepiece %.1f ms\n", contexts.size(), pieces_total, t_uni * 1e3, t_sp * 1e3);
  return 0;
}
