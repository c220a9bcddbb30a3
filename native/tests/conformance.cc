// The bundle's conformance vectors (conformance.jsonl, docs/decoding.md section 10) through
// the C interface: context ids equal, suggestions the same answer within the tolerance of
// the LiteRT runtime (kbd_lm_compare, which judges as kbd_lm/inference/tolerance.py's
// compare does). A case with `learn` learns its messages into a new history first and
// suggests with it. A typo case (`"correct": true`, conformance version 5) suggests with
// correction on its layout and taps (docs/decoding.md section 11); its kinds and
// autocorrection must be the same exactly.
//
//   kbd_lm_conformance BUNDLE_DIR [--only hint|blocklist_add|learn|correct|plain]
//
// Exit status 0 when every case passes (and there was one).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kbd_lm.h"

using nlohmann::json;

namespace {

struct Tolerance {
  double rel, abs;
};

struct Outcome {
  bool ids_ok = false, words_ok = false;
  std::string why;
};

// Why the kinds or the autocorrection of a typo case's answer are not those expected ("": they
// are); the words were compared before.
std::string kinds_differ(const json& expected, const kbd_lm_suggestions& given) {
  const char* names[] = {"next", "completion", "correction"};
  for (size_t i = 0; i < expected.size() && i < given.count; i++) {
    const std::string want = expected[i].value("kind", "");
    if (expected[i]["word"] == given.items[i].word && want != names[given.items[i].kind])
      return "kind of " + want + " " + expected[i]["word"].get<std::string>() + ": " +
             names[given.items[i].kind];
  }
  const bool want_auto = !expected.empty() && expected[0].value("autocorrect", false);
  if (want_auto != (given.autocorrect != 0))
    return std::string("autocorrect ") + (want_auto ? "expected" : "not expected") + " on " +
           (given.count ? given.items[0].word : "(none)");
  return "";
}

// One case through the C interface.
Outcome run_case(kbd_lm_predictor* p, const json& c, Tolerance tol) {
  Outcome out;
  const std::string text = c["text"];
  const std::string hint_name = c.value("hint", "");
  const char* hint = hint_name.empty() ? nullptr : hint_name.c_str();
  std::vector<std::string> added;  // blocklist_add: added for this case only
  if (c.contains("blocklist_add")) added = c["blocklist_add"].get<std::vector<std::string>>();
  for (const auto& e : added)
    if (kbd_lm_blocklist_add(p, e.c_str()) != KBD_LM_OK) out.why = kbd_lm_last_error();
  kbd_lm_input* in = nullptr;
  kbd_lm_suggestions* s = nullptr;
  kbd_lm_history* history = nullptr;
  if (c.contains("learn") && out.why.empty()) {
    if (kbd_lm_history_create(p, &history) != KBD_LM_OK) out.why = kbd_lm_last_error();
    for (const auto& m : c["learn"]) {
      std::string t = m["text"], field = m.value("field", "text");
      if (out.why.empty() &&
          kbd_lm_history_learn(history, t.data(), t.size(), field.c_str(), nullptr) != KBD_LM_OK)
        out.why = std::string("learn: ") + kbd_lm_last_error();
    }
  }
  kbd_lm_suggest_options opts = {hint, history, c.value("correct", false) ? 1 : 0};
  const std::string layout = c.value("layout", "qwerty");
  std::vector<double> taps;  // x, y per letter; NaN, NaN for a letter without a tap
  if (c.contains("taps"))
    for (const auto& t : c["taps"])
      for (int i = 0; i < 2; i++) taps.push_back(t.is_null() ? NAN : t[i].get<double>());
  kbd_lm_typing typing = {layout.c_str(), taps.empty() ? nullptr : taps.data(), taps.size() / 2};
  if (!out.why.empty()) {
  } else if (kbd_lm_decode_input(p, text.data(), text.size(), hint, &in) != KBD_LM_OK) {
    out.why = std::string("decode_input: ") + kbd_lm_last_error();
  } else if (kbd_lm_suggest_typing(p, text.data(), text.size(), c["k"].get<int>(), &opts,
                                   &typing, &s) != KBD_LM_OK) {
    out.why = std::string("suggest: ") + kbd_lm_last_error();
  } else {
    std::vector<int32_t> ids(in->ids, in->ids + in->count);
    out.ids_ok = ids == c["context_ids"].get<std::vector<int32_t>>();
    if (!out.ids_ok) out.why = "context ids " + json(ids).dump() + " != " + c["context_ids"].dump();
    std::vector<std::string> expected_words;
    std::vector<kbd_lm_suggestion> expected;
    for (const auto& w : c["suggestions"]) expected_words.push_back(w["word"]);
    for (size_t i = 0; i < expected_words.size(); i++)
      expected.push_back({expected_words[i].c_str(),
                          c["suggestions"][i]["probability"].get<double>(), KBD_LM_KIND_NEXT});
    char diff[512];
    out.words_ok = kbd_lm_compare(expected.data(), expected.size(), s->items, s->count, tol.rel,
                                  tol.abs, diff, sizeof diff);
    if (!out.words_ok) out.why += (out.why.empty() ? "" : "; ") + std::string(diff);
    if (out.words_ok && opts.correction) {
      std::string why = kinds_differ(c["suggestions"], *s);
      out.words_ok = why.empty();
      if (!out.words_ok) out.why += (out.why.empty() ? "" : "; ") + why;
    }
  }
  kbd_lm_input_free(in);
  kbd_lm_suggestions_free(s);
  kbd_lm_history_free(history);
  for (const auto& e : added) kbd_lm_blocklist_remove(p, e.c_str());
  return out;
}

// A typo case: suggested with typing correction.
bool typo_case(const json& c) { return c.value("correct", false); }

// Which cases a run takes: all, those with a field hint, with blocklist_add, learn or
// correct, or none of these (plain).
bool selected(const json& c, const std::string& only) {
  if (only.empty()) return true;
  if (only == "correct") return typo_case(c);
  if (only == "plain")
    return !c.contains("hint") && !c.contains("blocklist_add") && !c.contains("learn") &&
           !typo_case(c);
  return c.contains(only);
}

}  // namespace

int main(int argc, char** argv) {
  std::string only;
  if (argc == 4 && std::string(argv[2]) == "--only") only = argv[3];
  if ((argc != 2 && argc != 4) || (argc == 4 && only.empty())) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR [--only hint|blocklist_add|learn|correct|plain]\n",
                 argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::ifstream in(dir + "/conformance.jsonl");
  if (!in) {
    std::fprintf(stderr, "%s/conformance.jsonl: cannot be read\n", dir.c_str());
    return 2;
  }
  std::string line;
  std::getline(in, line);
  json header = json::parse(line);
  // tolerance_for(header, "litert"): the runtime's entry, else the single tolerance
  json t = header.contains("tolerances") && header["tolerances"].contains("litert")
               ? header["tolerances"]["litert"]
               : header["tolerance"];
  Tolerance tol{t["rel"].get<double>(), t["abs"].get<double>()};
  kbd_lm_predictor* p = nullptr;
  if (kbd_lm_open(dir.c_str(), &p) != KBD_LM_OK) {
    std::fprintf(stderr, "kbd_lm_open: %s\n", kbd_lm_last_error());
    return 1;
  }
  int cases = 0, ids_ok = 0, words_ok = 0, shown = 0, typo = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json c = json::parse(line);
    if (!selected(c, only)) continue;
    cases++, typo += typo_case(c);
    Outcome o = run_case(p, c, tol);
    ids_ok += o.ids_ok, words_ok += o.words_ok;
    if (!o.why.empty() && shown++ < 30)
      std::printf("FAIL case %d (%s): %s\n", c["id"].get<int>(),
                  c["kind"].get<std::string>().c_str(), o.why.c_str());
  }
  kbd_lm_free(p);
  std::printf("conformance %s%s: %d cases, context ids %d/%d, suggestions %d/%d; tolerance "
              "rel %g abs %g (litert); libkbd_lm %s\n",
              dir.c_str(), only.empty() ? "" : (" --only " + only).c_str(), cases, ids_ok, cases,
              words_ok, cases, tol.rel, tol.abs, kbd_lm_version());
  std::printf("%d of them typo cases (correction on)\n", typo);
  return cases > 0 && ids_ok == cases && words_ok == cases ? 0 : 1;
}
