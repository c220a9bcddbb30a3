#include "candidates.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "unicode.h"

namespace kbd {

namespace {

constexpr double kNeg = -std::numeric_limits<double>::infinity();

// The k best scores noted, one per word, in insertion order; `threshold` the k-th best
// (candidates.py's _Best).
class Best {
 public:
  explicit Best(size_t k) : k_(k) {}
  double threshold() const { return threshold_; }

  void note(const std::u32string& key, double score) {
    auto it = std::find_if(scores_.begin(), scores_.end(),
                           [&](const auto& s) { return s.first == key; });
    if (k_ == 0 || (score <= threshold_ && it == scores_.end())) return;
    if (it == scores_.end())
      scores_.emplace_back(key, score);
    else
      it->second = std::max(it->second, score);
    if (scores_.size() > k_) {
      size_t worst = 0;  // the first smallest, in insertion order (Python's min)
      for (size_t i = 1; i < scores_.size(); i++)
        if (scores_[i].second < scores_[worst].second) worst = i;
      scores_.erase(scores_.begin() + worst);
    }
    if (scores_.size() == k_) {
      threshold_ = scores_[0].second;
      for (const auto& s : scores_) threshold_ = std::min(threshold_, s.second);
    }
  }

 private:
  size_t k_;
  std::vector<std::pair<std::u32string, double>> scores_;
  double threshold_ = kNeg;
};

// the best cell of row a of `col`
double row_max(const Column& col, size_t a) {
  double m = kNeg;
  for (int e = 0; e <= kMaxEdits; e++) m = std::max(m, col[a * kCells + e]);
  return m;
}

// True if some row a < n of `col` (typed letters left) can still reach `floor`: its best
// cell plus the typed letters' headroom after it (spec 11.3).
bool can_reach(const TypedLetters& typed, const Column& col, double floor) {
  for (size_t a = 0; a < typed.size(); a++)
    if (row_max(col, a) + typed.headroom()[a] >= floor) return true;
  return false;
}

}  // namespace

Found* FoundWords::find(const std::u32string& key) {
  auto it = at_.find(key);
  return it == at_.end() ? nullptr : &items_[it->second];
}

Found& FoundWords::add(const std::u32string& key, Found f) {
  at_[key] = items_.size();
  items_.push_back(std::move(f));
  return items_.back();
}

// A node of a walk's frontier (or of the depth just read): its column, its parent's, and
// the best prefix likelihood down its path.
struct WordTrie::Front {
  int node;
  std::shared_ptr<const Column> col, before;
  double prefix;
  double whole = kNeg;  // (a depth's: its column's whole)
};

struct WordTrie::Walk {
  FoundWords found;
  Best best;
  std::vector<int8_t> skipped;  // word index -> -1 unknown, 0 kept, 1 skipped
  const Skip& skip;
};

WordTrie::WordTrie(const std::vector<std::pair<std::u32string, long long>>& items) {
  children_.emplace_back(), word_.push_back(-1), char_.push_back(0);
  for (const auto& [display, count] : items) {
    int node = 0;
    for (char32_t ch : lower(display)) {
      auto& kids = children_[node];
      auto it = std::find_if(kids.begin(), kids.end(), [&](const auto& c) { return c.first == ch; });
      if (it != kids.end()) {
        node = it->second;
        continue;
      }
      const int next = static_cast<int>(children_.size());
      kids.emplace_back(ch, next);
      children_.emplace_back(), word_.push_back(-1), char_.push_back(ch);
      node = next;
    }
    if (word_[node] < 0) {  // the first (most frequent) casing wins
      word_[node] = static_cast<int>(words_.size());
      words_.emplace_back(display, count);
    }
  }
  // node -> its kCompletions most frequent words (its own included), by count, ties in
  // order; children come after their parent, so one pass backwards fills them all
  top_.resize(children_.size());
  log_top_.resize(children_.size());
  for (size_t node = children_.size(); node-- > 0;) {
    std::vector<int> pool;
    if (word_[node] >= 0) pool.push_back(word_[node]);
    for (const auto& [ch, child] : children_[node])
      pool.insert(pool.end(), top_[child].begin(), top_[child].end());
    std::stable_sort(pool.begin(), pool.end(),
                     [&](int x, int y) { return words_[x].second > words_[y].second; });
    if (pool.size() > kCompletions) pool.resize(kCompletions);
    top_[node] = std::move(pool);
    log_top_[node] = top_[node].empty() ? kNeg : std::log(double(words_[top_[node][0]].second));
  }
}

int WordTrie::node(const std::u32string& prefix) const {
  int node = 0;
  for (char32_t ch : prefix) {
    const auto& kids = children_[node];
    auto it = std::find_if(kids.begin(), kids.end(), [&](const auto& c) { return c.first == ch; });
    if (it == kids.end()) return -1;
    node = it->second;
  }
  return node;
}

// The children worth reading of a frontier, in trie order, with their bounds.
std::vector<WordTrie::Kid> WordTrie::children_of(const std::vector<Front>& front,
                                                 const TypedLetters& typed, double threshold,
                                                 int typed_node) const {
  const double spread = std::log(double(kCells));  // whole() sums kCells cells
  std::vector<Kid> kids;
  for (size_t i = 0; i < front.size(); i++) {
    const Front& f = front[i];
    // the most f's column can still give: best cell of a row plus the headroom after it
    double future = kNeg;
    for (size_t a = 0; a <= typed.size(); a++)
      future = std::max(future, row_max(*f.col, a) + typed.headroom()[a]);
    future = std::max(f.prefix, future + spread);
    for (const auto& [ch, kid] : children_[f.node]) {
      const double bound = log_top_[kid] + future;
      if (bound >= threshold && kid != typed_node) kids.push_back({kid, i, bound});
    }
  }
  return kids;
}

FoundWords WordTrie::walk(const TypedLetters& typed, size_t k, const Skip& skip,
                          bool completions, double own, size_t max_nodes) const {
  const double floor = own - kMaxDrop;
  const int typed_node = completions ? -1 : node(typed.letters());
  Walk st{{}, Best(k), std::vector<int8_t>(words_.size(), -1), skip};
  auto start = std::make_shared<const Column>(typed.first());
  std::vector<Front> front = {{0, start, nullptr, typed.whole(*start)}};
  size_t read = 0;
  while (!front.empty() && read < max_nodes) {
    std::vector<Kid> kids = children_of(front, typed, st.best.threshold(), typed_node);
    if (kids.size() > max_nodes - read) {
      // the budget: the best bounds first (ties in trie order), then back in trie order
      std::vector<size_t> order(kids.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t x, size_t y) { return kids[x].bound > kids[y].bound; });
      order.resize(max_nodes - read);
      std::sort(order.begin(), order.end());
      std::vector<Kid> chosen;
      for (size_t i : order) chosen.push_back(kids[i]);
      kids.swap(chosen);
    }
    if (kids.empty()) break;
    read += kids.size();
    std::vector<Front> depth;
    for (const Kid& kd : kids) {
      const Front& f = front[kd.parent];
      const char32_t prev = f.before ? char_[f.node] : 0;
      auto col = std::make_shared<const Column>(
          typed.next(f.before.get(), *f.col, prev, char_[kd.kid]));
      const double whole = typed.whole(*col);
      depth.push_back({kd.kid, col, f.col, std::max(f.prefix, whole), whole});
    }
    note_depth(st, depth, floor, k == 0);
    // a cell with typed letters left to read that can still reach the floor: the child is
    // in the next frontier
    std::vector<Front> next;
    for (Front& d : depth)
      if (can_reach(typed, *d.col, floor)) next.push_back(std::move(d));
    front.swap(next);
  }
  return std::move(st.found);
}

// Notes a depth's words: each child whose whole reaches the floor gives its own word (with
// the best whole down its path) and its most frequent words below (with its whole).
void WordTrie::note_depth(Walk& st, const std::vector<Front>& depth, double floor,
                          bool every) const {
  const double threshold = st.best.threshold();  // (before this depth's words)
  std::vector<bool> tops;
  for (const Front& d : depth) tops.push_back(every || log_top_[d.node] + d.whole >= threshold);
  for (size_t i = 0; i < depth.size(); i++) {
    const Front& d = depth[i];
    if (!(d.whole >= floor)) continue;
    if (word_[d.node] >= 0) add(st, word_[d.node], d.whole, d.prefix);
    if (tops[i])
      for (int w : top_[d.node]) add(st, w, kNeg, d.whole);
  }
}

// Notes word `index` with these likelihoods (each kept at its best) unless skip leaves it out.
void WordTrie::add(Walk& st, int index, double whole, double prefix) const {
  const auto& [display, count] = words_[index];
  if (st.skip) {
    if (st.skipped[index] < 0) st.skipped[index] = st.skip(display) ? 1 : 0;
    if (st.skipped[index]) return;
  }
  const std::u32string key = lower(display);
  Found* entry = st.found.find(key);
  if (!entry) {
    entry = &st.found.add(key, {display, count, whole, prefix});
  } else {
    entry->whole = std::max(entry->whole, whole);
    entry->prefix = std::max(entry->prefix, prefix);
  }
  st.best.note(key, std::log(double(count)) + entry->prefix);
}

}  // namespace kbd
