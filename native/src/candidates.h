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
#include <list>
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

// Walks whose columns a ColumnMemo keeps: the word being typed and one more (candidates.py's
// COLUMN_WALKS). A walk of the default bundle's word list holds up to about 3.8 MB of columns.
constexpr size_t kColumnWalks = 2;

// The columns one walk read (candidates.py's Walked): per trie depth (0: the root) the
// columns of the nodes read there, one after another in one buffer (stride cells each), and
// per trie node its index in its depth's columns (-1: not read).
struct Walked {
  size_t stride = 0;
  std::vector<std::vector<double>> cols;
  std::vector<int32_t> slot;
};

// The columns of the last few walks, for the next keystroke of the same word (candidates.py's
// ColumnMemo): a walk over typed letters that start with an earlier walk's (same layout,
// channel and taps) takes that walk's columns' rows and computes only the rows of the letters
// added. The least recently used walk is dropped first. The answers are the same without.
class ColumnMemo {
 public:
  // (the walk kept over the longest start of these typed letters, the rows of its columns
  // that hold for them), {nullptr, 0} if none; the walk stays until the next put or clear
  std::pair<const Walked*, size_t> get(const TypedLetters& typed);
  void put(const TypedLetters& typed, Walked walked);
  void clear() { walks_.clear(); }

 private:
  struct Key {
    const Layout* layout;
    ChannelParams params;
    std::vector<Tap> taps;
    std::u32string letters;
  };
  static bool starts(const Key& key, const TypedLetters& typed);  // key's letters start typed's
  std::list<std::pair<Key, Walked>> walks_;  // least recently used first
};

class WordTrie {
 public:
  // items: (display form, count), ranked (most frequent first); the first casing wins
  explicit WordTrie(const std::vector<std::pair<std::u32string, long long>>& items);
  // the same with the items ranked as `order` lists their indices
  WordTrie(const std::vector<std::pair<std::u32string, long long>>& items,
           const std::vector<uint32_t>& order);

  int node(const std::u32string& prefix) const;  // the node spelt by it, -1 if none
  // The words within kMaxDrop nats of the typed letters' own likelihood `own` (spec 11.3);
  // skip(word) true leaves a word out; with k > 0, a child is read only when its bound
  // reaches the k-th best rank found; without `completions`, never below the node the typed
  // letters spell. memo: earlier walks' columns, read on from the rows they hold; this walk's
  // are put in it (the answer is the same with or without).
  FoundWords walk(const TypedLetters& typed, size_t k, const Skip& skip, bool completions,
                  double own, ColumnMemo* memo = nullptr, size_t max_nodes = kMaxNodes) const;
  size_t nodes() const { return children_.size(); }

 private:
  struct Front;
  struct Walk;
  struct Kid {
    int kid;
    size_t parent;
    double bound;
  };
  std::vector<Kid> children_of(const std::vector<Front>& front, const double* cols,
                               const TypedLetters& typed, double threshold,
                               int typed_node) const;
  void note_depth(Walk& st, const std::vector<Front>& depth, double floor, bool every) const;
  void add(Walk& st, int index, double whole, double prefix) const;

  std::vector<std::vector<std::pair<char32_t, int>>> children_;  // in insertion order
  std::vector<int> word_;       // node -> index of the word ending there, or -1
  std::vector<char32_t> char_;  // node -> the letter that leads to it
  std::vector<std::pair<std::u32string, long long>> words_;  // (display form, count)
  // node n's kCompletions most frequent words at [n * kCompletions, (n + 1) * kCompletions),
  // -1 after the last when it has fewer
  std::vector<int32_t> top_;
  std::vector<double> log_top_;        // node -> log count of its most frequent word
};

}  // namespace kbd
