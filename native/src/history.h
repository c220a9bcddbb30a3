// A user's personal history (kbd_lm/history/user_history.py and mix.py; docs/decoding.md
// section 9.2): decayed counts of lowercase words after contexts of 0, 1 or 2 words, its file
// format written and read byte for byte as Python's, and its mix with the model's words.
//
//   History h(rules);   // std::shared_ptr<const TextRules>: the bundle's text tables
//   h.learn(U"see you at Anneliese's place", "text");
//   std::string file = h.to_bytes();
//   History copy = History::from_bytes(file, "history", rules);
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "search.h"
#include "text.h"

namespace kbd {

// An insertion-ordered map: Python's dict, whose order the file format and ties keep.
template <typename K, typename V>
class OrderedMap {
 public:
  using Item = std::pair<K, V>;
  V* find(const K& k) {
    auto it = at_.find(k);
    return it == at_.end() ? nullptr : &it->second->second;
  }
  const V* find(const K& k) const {
    auto it = at_.find(k);
    return it == at_.end() ? nullptr : &it->second->second;
  }
  V& insert(const K& k, V v) {  // k must be new: goes last
    items_.emplace_back(k, std::move(v));
    at_[k] = std::prev(items_.end());
    return items_.back().second;
  }
  bool erase(const K& k) {
    auto it = at_.find(k);
    if (it == at_.end()) return false;
    items_.erase(it->second);
    at_.erase(it);
    return true;
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  typename std::list<Item>::iterator begin() { return items_.begin(); }
  typename std::list<Item>::iterator end() { return items_.end(); }
  typename std::list<Item>::const_iterator begin() const { return items_.begin(); }
  typename std::list<Item>::const_iterator end() const { return items_.end(); }

 private:
  std::list<Item> items_;
  std::map<K, typename std::list<Item>::iterator> at_;
};

using Words32 = std::vector<std::u32string>;  // a context: 0 to 2 lowercase words, "" = start

// HistoryConfig's defaults (kbd_lm/history/user_history.py): the conformance header's
// "history" holds the values the vectors were made with.
struct HistoryConfig {
  int max_order = 3;
  size_t max_entries = 20000;
  size_t max_bytes = 1000000;
  double half_life = 2000.0;  // learned messages until a count has halved
  size_t max_word_chars = 40;
};

class History {
 public:
  explicit History(std::shared_ptr<const TextRules> rules, HistoryConfig config = {});

  size_t learn(const std::u32string& text, const std::string& field);  // words learned
  bool forget(const std::u32string& word);
  size_t size() const { return entries_; }
  // the user has typed `word` (lowercase) as a word: Python's `word in following(())[0]`
  bool knows(const std::u32string& word) const {
    const auto* words = next_.find(Words32{});
    return words && words->find(word);
  }

  std::string to_bytes() const;  // the file: header, entries, checksum line
  // reads the file format; a damaged file is an Error (KBD_LM_ERR_ARGUMENT) naming `name`,
  // the line and the problem
  static History from_bytes(const std::string& data, const std::string& name,
                            std::shared_ptr<const TextRules> rules,
                            HistoryConfig config = {});

  // the model's words (best first) mixed with the history (mix.py: mix_history)
  Words mix(const Words& model, const std::u32string& context,
            const std::u32string& partial) const;

 private:
  double scale() const;
  void tick();
  void add(const Words32& ctx, const std::u32string& word, double amount);
  void remove(const Words32& ctx, const std::u32string& word);
  void remember_case(const std::u32string& key, const std::u32string& typed, bool initial);
  void enforce_bounds();
  std::u32string display(const std::u32string& key) const;
  std::vector<std::u32string> frequent(size_t n) const;
  std::vector<std::u32string> starting_with(const std::u32string& prefix, size_t n) const;
  std::vector<std::u32string> best_following(const Words32& ctx, size_t n,
                                             const std::u32string& prefix) const;
  Words32 context_key(const std::u32string& context) const;
  size_t size_bytes() const { return bytes_ + 160; }

  std::shared_ptr<const TextRules> rules_;
  HistoryConfig config_;
  OrderedMap<Words32, OrderedMap<std::u32string, double>> next_;  // ctx -> word -> count
  std::map<Words32, double> total_;
  std::map<std::u32string, std::u32string> display_;  // lowercase -> the user's casing
  std::vector<std::u32string> sorted_;                 // unigram keys, sorted
  mutable std::vector<std::u32string> top_;            // the 16 most frequent words
  mutable bool top_valid_ = true;
  size_t entries_ = 0, bytes_ = 0;
  long clock_ = 0;  // messages learned since the stored counts were last rescaled
};

// Python's repr(float): the shortest text that reads back as x ("1.0", "0.0312", "1e-05")
std::string python_float_repr(double x);
// Python's round(x, 4)
double python_round4(double x);

}  // namespace kbd
