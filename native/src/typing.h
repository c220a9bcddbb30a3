// The keyboard layouts and the touch-typing channel of docs/decoding.md 11.1-11.2, read from
// the bundle's typing.json (role "typing"; kbd_lm/typing/spec.py owns its format): a port of
// kbd_lm/typing/layouts.py and channel.py, following serve/static/kbd/typing.js.
//
//   TypingSpec spec = TypingSpec::load("dist/bundle/typing.json");
//   TypedLetters typed(U"teh", spec.layout("qwerty"), spec.channel);
//   typed.likelihoods(U"the")   // {whole, prefix}: about {-5.54, -5.54}
//
// A column is (n + 1) * (kMaxEdits + 1) log-probabilities, cell [a][e] at a * (kMaxEdits + 1)
// + e: the first a typed letters typed with e edits (spec 11.2).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kbd {

constexpr int kMaxEdits = 2;  // omissions, insertions and swaps per word (channel.MAX_EDITS)
constexpr int kCells = kMaxEdits + 1;  // cells per row of a column
constexpr const char* kDefaultLayout = "qwerty";  // kbd_lm.typing.layouts.DEFAULT_LAYOUT

using Column = std::vector<double>;

// numpy's logaddexp: log(exp(x) + exp(y)) without overflow, the same float
double logaddexp(double x, double y);

// A keyboard's letter rows in key units (spec 11.1; kbd_lm/typing/layouts.py's format).
class Layout {
 public:
  Layout(const nlohmann::json& doc, const std::string& source);  // one of typing.json's layouts

  const std::string& name() const { return name_; }
  double key_width() const { return key_width_; }
  double key_height() const { return key_height_; }
  double width() const;   // of the widest row
  double height() const;  // rows times key height
  size_t keys() const { return centres_.size(); }
  int index(char32_t key) const;  // the key's number in reading order, -1 if not a key
  const std::pair<double, double>& centre(int key) const { return centres_[key]; }
  // log P(typed key t | intended key w) at `spread`, as table[t * K + w] (channel.touch_table)
  const std::vector<double>& touch_table(double spread) const;

 private:
  std::string name_;
  double key_width_ = 1, key_height_ = 1;
  std::vector<std::pair<std::u32string, double>> rows_;  // (keys, offset)
  std::map<char32_t, int> index_;
  std::vector<std::pair<double, double>> centres_;
  std::vector<std::vector<double>> regions_;  // [x0, x1, y0, y1] by key, stretched at edges
  mutable std::map<double, std::vector<double>> tables_;  // spread -> touch table
};

// ChannelParams (kbd_lm/typing/channel.py), by their names in typing.json's "channel".
struct ChannelParams {
  double touch_spread = 0, omission = 0, insertion = 0, doubled = 0, transposition = 0,
         missing_apostrophe = 0;
  bool operator==(const ChannelParams& o) const {
    return touch_spread == o.touch_spread && omission == o.omission &&
           insertion == o.insertion && doubled == o.doubled &&
           transposition == o.transposition && missing_apostrophe == o.missing_apostrophe;
  }
};

// The bundle's typing.json: layouts, channel parameters and thresholds (spec.py).
struct TypingSpec {
  std::vector<std::unique_ptr<Layout>> layouts;
  ChannelParams channel;
  double autocorrect_margin = 0;       // nats
  double autocorrect_strip_ratio = 0;  // a ratio of probabilities
  double completion_bonus = 0;         // nats
  double unlisted_min = 0;             // a probability

  // a damaged file throws a bundle error naming `source` and the field
  static TypingSpec parse(const nlohmann::json& doc, const std::string& source);
  static TypingSpec load(const std::string& path);
  // the layout `name`; another name is KBD_LM_ERR_ARGUMENT listing the names
  const Layout& layout(const std::string& name) const;
};

// A touch point in key units; has = false: none for this letter (its key's centre is used).
struct Tap {
  double x = 0, y = 0;
  bool has = false;
  bool operator==(const Tap& o) const { return has == o.has && (!has || (x == o.x && y == o.y)); }
};

// The typed letters of one word, for the dynamic programme over intended letters (spec
// 11.2; channel.py's TypedLetters): first() is the column before any intended letter, next()
// reads one more, whole() of a word's column is its likelihood.
class TypedLetters {
 public:
  // taps: empty, or one per typed letter
  TypedLetters(const std::u32string& typed, const Layout& layout, const ChannelParams& params,
               const std::vector<Tap>& taps = {});

  size_t size() const { return t_.size(); }
  const std::u32string& letters() const { return t_; }  // lowercase
  const std::vector<double>& headroom() const { return headroom_; }  // [n + 1]
  const Layout& layout() const { return layout_; }
  const ChannelParams& params() const { return params_; }
  const std::vector<Tap>& taps() const { return taps_; }  // one per typed letter
  size_t cells() const { return (t_.size() + 1) * kCells; }  // of a column
  Column first() const;
  // the column after intended `c` read from `last`, `before` the one before it (nullptr at
  // the first letter), `prev` the letter between them
  Column next(const Column* before, const Column& last, char32_t prev, char32_t c) const;
  // the same into out (cells() values), whose rows below from_row hold already: their values
  // for the typed letters before from_row (a column's row a reads typed letters < a only)
  void next(const double* before, const double* last, char32_t prev, char32_t c, double* out,
            size_t from_row = 0) const;
  double whole(const Column& col) const { return whole(col.data()); }
  double whole(const double* col) const;
  // {whole, prefix}: log P(typed letters | `intended` as a whole word, | its start)
  std::pair<double, double> likelihoods(const std::u32string& intended) const;

 private:
  struct Letter {
    std::vector<double> lt;  // [n]: log touch(typed a | the letter)
    double keep = 0, log_skip = 0;
    bool step = true;  // leaving it out is an edit (not for an apostrophe)
  };
  const Letter& letter(char32_t c) const;
  void fill_headroom();

  std::u32string t_;
  std::vector<Tap> taps_;
  const Layout& layout_;
  ChannelParams params_;
  std::vector<double> ins_;  // [n]: typed letter a as an inserted (or doubled) one
  double log_swap_ = 0;
  std::vector<double> headroom_;
  mutable std::map<char32_t, Letter> letters_;
};

}  // namespace kbd
