// Candidate words for typed letters: the word list's trie walked with the channel's columns,
// a depth at a time (docs/decoding.md 11.3, step 2): a port of kbd_lm/typing/candidates.py
// following serve/static/kbd/candidates.js, which visits nodes and notes words in Python's
// order, so that ties rank alike.
//
//   WordTrie trie({{U"the", 900}, {U"tomorrow", 50}});  // most frequent first
//   trie.walk(TypedLetters(U"tomo", layout, params), 8, skip, false, own);
//   // lowercase word -> {word, count, whole, prefix}, in the order found
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "typing.h"

namespace kbd {

constexpr double kMaxDrop = 12;     // nats under the typed letters' own likelihood
constexpr size_t kMaxNodes = 10000;  // columns computed per walk, at most (candidates.py)
constexpr size_t kCompletions = 4;  // the most frequent words below a node kept per node

struct Found {
  std::u32string word;  // display form
  long long count = 0;
  double whole = 0, prefix = 0;  // log P(typed | the word whole, | a start of it)
};

// Words found, by lowercase word, in the order they were first noted.
class FoundWords {
 public:
  Found* find(const std::u32string& key);
  Found& add(const std::u32string& key, Found f);
  const std::vector<Found>& items() const { return items_; }

 private:
  std::vector<Found> items_;
  std::unordered_map<std::u32string, size_t> at_;
};

using Skip = std::function<bool(const std::u32string&)>;

class WordTrie {
 public:
  // items: (display form, count), ranked (most frequent first); the first casing wins
  explicit WordTrie(const std::vector<std::pair<std::u32string, long long>>& items);

  int node(const std::u32string& prefix) const;  // the node spelt by it, -1 if none
  // The words within kMaxDrop nats of the typed letters' own likelihood `own` (spec 11.3);
  // skip(word) true leaves a word out; with k > 0, a child is read only when its bound
  // reaches the k-th best rank found; without `completions`, never below the node the typed
  // letters spell.
  FoundWords walk(const TypedLetters& typed, size_t k, const Skip& skip, bool completions,
                  double own, size_t max_nodes = kMaxNodes) const;

 private:
  struct Front;
  struct Walk;
  struct Kid {
    int kid;
    size_t parent;
    double bound;
  };
  std::vector<Kid> children_of(const std::vector<Front>& front, const TypedLetters& typed,
                               double threshold, int typed_node) const;
  void note_depth(Walk& st, const std::vector<Front>& depth, double floor, bool every) const;
  void add(Walk& st, int index, double whole, double prefix) const;

  std::vector<std::vector<std::pair<char32_t, int>>> children_;  // in insertion order
  std::vector<int> word_;       // node -> index of the word ending there, or -1
  std::vector<char32_t> char_;  // node -> the letter that leads to it
  std::vector<std::pair<std::u32string, long long>> words_;  // (display form, count)
  std::vector<std::vector<int>> top_;  // node -> its kCompletions most frequent words
  std::vector<double> log_top_;        // node -> log count of its most frequent word
};

}  // namespace kbd
