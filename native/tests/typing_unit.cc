// Unit tests of typo correction's channel (src/typing.h) and manners (src/correction.h):
// likelihoods against the values Python's kbd_lm.typing.channel.TypedLetters gives with the
// same typing.json, typing.json's checks, and the trie walk's column memo (src/candidates.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "candidates.h"
#include "correction.h"
#include "error.h"
#include "typing.h"

namespace {

// The typing.json of kbd-lm 0.10.0's bundles (kbd_lm/typing/spec.py's defaults): qwerty and
// qwertz, the channel and thresholds exported by `kbd-lm export`.
const char* kTypingJson = R"({"format":"kbd-lm-typing","version":1,"layouts":[
 {"format":"kbd-lm-layout","version":1,"name":"qwerty","key_width":1.0,"key_height":1.0,
  "rows":[{"keys":"qwertyuiop","offset":0.0},{"keys":"asdfghjkl","offset":0.5},
          {"keys":"zxcvbnm'","offset":1.5}]},
 {"format":"kbd-lm-layout","version":1,"name":"qwertz","key_width":1.0,"key_height":1.0,
  "rows":[{"keys":"qwertzuiop","offset":0.0},{"keys":"asdfghjkl","offset":0.5},
          {"keys":"yxcvbnm'","offset":1.5}]}],
 "channel":{"touch_spread":0.25,"omission":0.01,"insertion":0.005,"doubled":0.005,
            "transposition":0.005,"missing_apostrophe":0.3},
 "correction":{"autocorrect_margin":2.0,"autocorrect_strip_ratio":0.3,"completion_bonus":6.0,
               "unlisted_min":0.05}})";

kbd::TypingSpec spec() { return kbd::TypingSpec::parse(nlohmann::json::parse(kTypingJson), "t"); }

struct Case {
  std::u32string typed, intended;
  const char* layout;
  std::vector<kbd::Tap> taps;
  double whole, prefix;
};

TEST(Typing, LikelihoodsAsPython) {
  // Python 3.11, kbd-lm 0.10.0.dev0: TypedLetters(typed, layout=spec.layout(name),
  // params=spec.channel, taps=taps).likelihoods(intended) with this typing.json
  const double inf = INFINITY;
  const std::vector<Case> cases = {
      {U"teh", U"the", "qwerty", {}, -5.54493725738803, -5.54493725738803},
      {U"tomorow", U"tomorrow", "qwerty", {}, -4.504884221445294, -4.504884221445294},
      {U"tommorrow", U"tomorrow", "qwerty", {}, -5.899273867736995, -5.899273867736995},
      {U"dont", U"don't", "qwerty", {}, -1.5662853938490544, -1.5662853938490544},
      {U"rhe", U"the", "qwerty", {}, -4.0140775774324275, -4.0140775774324275},
      {U"tom", U"tomorrow", "qwerty", {}, -inf, -0.25407128520654404},
      {U"xyz", U"the", "qwerty", {}, -37.760945253951945, -21.00961938929061},
      {U"drry", U"dream", "qwertz",
       {{2.769, 1.472, true}, {3.573, 0.146, true}, {3.304, 0.438, true}, {0.986, 2.298, true}},
       -12.703108470666088, -8.089940612761604},
  };
  kbd::TypingSpec s = spec();
  for (const Case& c : cases) {
    kbd::TypedLetters typed(c.typed, s.layout(c.layout), s.channel, c.taps);
    auto [whole, prefix] = typed.likelihoods(c.intended);
    if (std::isinf(c.whole))
      EXPECT_EQ(whole, c.whole);
    else
      EXPECT_NEAR(whole, c.whole, 1e-12 * std::fabs(c.whole));
    EXPECT_NEAR(prefix, c.prefix, 1e-12 * std::fabs(c.prefix));
  }
}

TEST(Typing, RefusesDamagedSpecsNamingTheField) {
  auto message = [](const std::string& text) -> std::string {
    try {
      kbd::TypingSpec::parse(nlohmann::json::parse(text), "typing.json");
    } catch (const kbd::Error& e) {
      EXPECT_EQ(e.status(), KBD_LM_ERR_BUNDLE);
      return e.what();
    }
    return "";
  };
  nlohmann::json doc = nlohmann::json::parse(kTypingJson);
  doc["channel"].erase("omission");
  EXPECT_EQ(message(doc.dump()), "typing.json: channel.omission: missing or not a number");
  doc = nlohmann::json::parse(kTypingJson);
  doc["correction"]["unlisted_min"] = "0.05";
  EXPECT_EQ(message(doc.dump()), "typing.json: correction.unlisted_min: missing or not a number");
  doc["version"] = 2;
  EXPECT_NE(message(doc.dump()).find("version 2 is not supported"), std::string::npos);
  EXPECT_NE(message("[]").find("not a kbd-lm-typing file"), std::string::npos);
  doc = nlohmann::json::parse(kTypingJson);
  doc["layouts"][0]["rows"] = nlohmann::json::array();
  EXPECT_NE(message(doc.dump()).find("layout qwerty.rows"), std::string::npos);
  // an unknown layout is the caller's error, listing the names
  try {
    spec().layout("colemak");
    ADD_FAILURE() << "colemak accepted";
  } catch (const kbd::Error& e) {
    EXPECT_EQ(e.status(), KBD_LM_ERR_ARGUMENT);
    EXPECT_STREQ(e.what(), "unknown layout \"colemak\": use one of qwerty, qwertz");
  }
}

TEST(Typing, TypedCaseAsPython) {
  // kbd_lm.inference.correction.typed_case's doctests
  EXPECT_EQ(kbd::typed_case(U"tomorrow", U"Tomorow"), U"Tomorrow");
  EXPECT_EQ(kbd::typed_case(U"tomorrow", U"TOMOROW"), U"TOMORROW");
  EXPECT_EQ(kbd::typed_case(U"I'm", U"im"), U"I'm");
}

}  // namespace

TEST(Typing, ColumnMemoChangesNoWalk) {
  // A word typed letter by letter, with a slip, as a keyboard calls: each walk with the memo
  // (reading on from the last walks' columns) finds the same words with the same likelihoods,
  // to the bit, as a walk without; then other taps, and a word that starts otherwise.
  kbd::TypingSpec s = spec();
  const kbd::WordTrie trie({{U"the", 900},
                            {U"tomorrow", 50},
                            {U"tonight", 40},
                            {U"tomato", 7},
                            {U"tom", 5},
                            {U"to", 800},
                            {U"together", 30},
                            {U"yesterday", 20},
                            {U"rhe", 1}});
  kbd::ColumnMemo memo;
  const std::vector<std::pair<std::u32string, bool>> typed = {
      {U"t", false},  {U"to", false},   {U"tom", false},   {U"tomo", false},
      {U"tomor", false}, {U"tomor", true}, {U"tomorr", false}, {U"tonihgt", false},
      {U"rhe", false}, {U"yestrday", false}, {U"tomorow", false}};
  for (const auto& [letters, tapped] : typed) {
    std::vector<kbd::Tap> taps;
    if (tapped)
      for (size_t i = 0; i < letters.size(); i++) taps.push_back({4.1 + 0.1 * i, 0.2, true});
    kbd::TypedLetters t(letters, s.layout("qwerty"), s.channel, taps);
    const double own = t.likelihoods(letters).first;
    for (size_t k : {size_t{0}, size_t{3}}) {
      const kbd::FoundWords plain = trie.walk(t, k, nullptr, k == 0, own);
      const kbd::FoundWords memoed = trie.walk(t, k, nullptr, k == 0, own, &memo);
      ASSERT_EQ(plain.items().size(), memoed.items().size());
      for (size_t i = 0; i < plain.items().size(); i++) {
        const kbd::Found &a = plain.items()[i], &b = memoed.items()[i];
        EXPECT_TRUE(a.word == b.word && a.count == b.count);
        // bit for bit (-inf equal too)
        EXPECT_EQ(std::memcmp(&a.whole, &b.whole, sizeof a.whole), 0);
        EXPECT_EQ(std::memcmp(&a.prefix, &b.prefix, sizeof a.prefix), 0);
      }
    }
  }
}
