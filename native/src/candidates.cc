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
double row_max(const double* col, size_t a) {
  double m = kNeg;
  for (int e = 0; e <= kMaxEdits; e++) m = std::max(m, col[a * kCells + e]);
  return m;
}

// True if some row a < n of `col` (typed letters left) can still reach `floor`: its best
// cell plus the typed letters' headroom after it (spec 11.3).
bool can_reach(const TypedLetters& typed, const double* col, double floor) {
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

// A node of a walk's frontier (or of the depth just read): where its column and its
// parent's are in their depths' columns, and the best prefix likelihood down its path.
struct WordTrie::Front {
  int node;
  uint32_t slot;   // its column's index in its depth's
  int32_t parent;  // its parent's column's index in the depth before (-1: the root's)
  double prefix;
  double whole = kNeg;  // (a depth's: its column's whole)
};

struct WordTrie::Walk {
  FoundWords found;
  Best best;
  std::vector<int8_t> skipped;  // word index -> -1 unknown, 0 kept, 1 skipped
  const Skip& skip;
};

WordTrie::WordTrie(const std::vector<std::pair<std::u32string, long long>>& items)
    : WordTrie(items, [&] {
        std::vector<uint32_t> order(items.size());
        std::iota(order.begin(), order.end(), 0);
        return order;
      }()) {}

WordTrie::WordTrie(const std::vector<std::pair<std::u32string, long long>>& items,
                   const std::vector<uint32_t>& order) {
  children_.emplace_back(), word_.push_back(-1), char_.push_back(0);
  std::u32string key;
  for (uint32_t i : order) {
    const auto& [display, count] = items[i];
    key.clear();
    append_lower(display, &key);
    int node = 0;
    for (char32_t ch : key) {
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
  top_.assign(children_.size() * kCompletions, -1);
  log_top_.resize(children_.size());
  std::vector<int> pool;
  for (size_t node = children_.size(); node-- > 0;) {
    pool.clear();
    if (word_[node] >= 0) pool.push_back(word_[node]);
    for (const auto& [ch, child] : children_[node])
      for (size_t i = child * kCompletions; i < (child + 1) * kCompletions && top_[i] >= 0; i++)
        pool.push_back(top_[i]);
    // a stable sort by count, most first: an insertion sort (pools are short, and a
    // std::stable_sort would allocate its buffer at every node)
    for (size_t i = 1; i < pool.size(); i++)
      for (size_t j = i; j > 0 && words_[pool[j]].second > words_[pool[j - 1]].second; j--)
        std::swap(pool[j], pool[j - 1]);
    std::copy_n(pool.begin(), std::min(pool.size(), kCompletions),
                top_.begin() + node * kCompletions);
    log_top_[node] = pool.empty() ? kNeg : std::log(double(words_[pool[0]].second));
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

// The children worth reading of a frontier whose columns are in `cols`, in trie order,
// with their bounds.
std::vector<WordTrie::Kid> WordTrie::children_of(const std::vector<Front>& front,
                                                 const double* cols, const TypedLetters& typed,
                                                 double threshold, int typed_node) const {
  const double spread = std::log(double(kCells));  // whole() sums kCells cells
  const size_t stride = typed.cells();
  std::vector<Kid> kids;
  for (size_t i = 0; i < front.size(); i++) {
    const Front& f = front[i];
    const double* col = cols + f.slot * stride;
    // the most f's column can still give: best cell of a row plus the headroom after it
    double future = kNeg;
    for (size_t a = 0; a <= typed.size(); a++)
      future = std::max(future, row_max(col, a) + typed.headroom()[a]);
    future = std::max(f.prefix, future + spread);
    for (const auto& [ch, kid] : children_[f.node]) {
      const double bound = log_top_[kid] + future;
      if (bound >= threshold && kid != typed_node) kids.push_back({kid, i, bound});
    }
  }
  return kids;
}

FoundWords WordTrie::walk(const TypedLetters& typed, size_t k, const Skip& skip,
                          bool completions, double own, ColumnMemo* memo,
                          size_t max_nodes) const {
  const double floor = own - kMaxDrop;
  const int typed_node = completions ? -1 : node(typed.letters());
  Walk st{{}, Best(k), std::vector<int8_t>(words_.size(), -1), skip};
  using Kept = std::pair<const Walked*, size_t>;
  const auto [earlier, rows_known] = memo ? memo->get(typed) : Kept{nullptr, 0};
  // this walk's columns, depth by depth in one buffer each (the memo keeps them)
  Walked now;
  now.stride = typed.cells();
  now.slot.assign(children_.size(), -1);
  now.cols.push_back(typed.first());
  now.slot[0] = 0;
  std::vector<Front> front = {{0, 0, -1, typed.whole(now.cols[0].data())}};
  size_t read = 0;
  while (!front.empty() && read < max_nodes) {
    const size_t d = now.cols.size();  // the children's depth
    std::vector<Kid> kids =
        children_of(front, now.cols[d - 1].data(), typed, st.best.threshold(), typed_node);
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
    now.cols.emplace_back(kids.size() * now.stride);
    double* cols = now.cols[d].data();
    const double* last = now.cols[d - 1].data();
    const double* before = d >= 2 ? now.cols[d - 2].data() : nullptr;
    // an earlier walk's columns at this depth: their first rows_known rows hold
    const bool known = earlier && d < earlier->cols.size();
    std::vector<Front> depth;
    depth.reserve(kids.size());
    for (size_t i = 0; i < kids.size(); i++) {
      const Kid& kd = kids[i];
      const Front& f = front[kd.parent];
      const char32_t prev = f.parent >= 0 ? char_[f.node] : 0;
      double* col = cols + i * now.stride;
      size_t from_row = 0;
      if (known && earlier->slot[kd.kid] >= 0) {
        const double* had = earlier->cols[d].data() + earlier->slot[kd.kid] * earlier->stride;
        std::copy(had, had + rows_known * kCells, col);
        from_row = rows_known;
      }
      typed.next(f.parent >= 0 ? before + f.parent * now.stride : nullptr,
                 last + f.slot * now.stride, prev, char_[kd.kid], col, from_row);
      now.slot[kd.kid] = static_cast<int32_t>(i);
      const double whole = typed.whole(col);
      depth.push_back({kd.kid, static_cast<uint32_t>(i), static_cast<int32_t>(f.slot),
                       std::max(f.prefix, whole), whole});
    }
    note_depth(st, depth, floor, k == 0);
    // a cell with typed letters left to read that can still reach the floor: the child is
    // in the next frontier
    std::vector<Front> next;
    for (Front& dn : depth)
      if (can_reach(typed, cols + dn.slot * now.stride, floor)) next.push_back(dn);
    front.swap(next);
  }
  if (memo) memo->put(typed, std::move(now));
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
      for (size_t i = d.node * kCompletions; i < (d.node + 1) * kCompletions && top_[i] >= 0; i++)
        add(st, top_[i], kNeg, d.whole);
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

bool ColumnMemo::starts(const Key& key, const TypedLetters& typed) {
  const size_t n = key.letters.size();
  return &typed.layout() == key.layout && typed.params() == key.params &&
         n <= typed.size() && typed.letters().compare(0, n, key.letters) == 0 &&
         std::equal(key.taps.begin(), key.taps.end(), typed.taps().begin());
}

std::pair<const Walked*, size_t> ColumnMemo::get(const TypedLetters& typed) {
  auto best = walks_.end();  // the longest start kept
  for (auto it = walks_.begin(); it != walks_.end(); ++it)
    if (starts(it->first, typed) &&
        (best == walks_.end() || it->first.letters.size() > best->first.letters.size()))
      best = it;
  if (best == walks_.end()) return {nullptr, 0};
  walks_.splice(walks_.end(), walks_, best);  // recently used: dropped last
  return {&walks_.back().second, walks_.back().first.letters.size() + 1};
}

void ColumnMemo::put(const TypedLetters& typed, Walked walked) {
  Key key{&typed.layout(), typed.params(), typed.taps(), typed.letters()};
  for (auto it = walks_.begin(); it != walks_.end(); ++it)
    if (it->first.letters == key.letters && starts(it->first, typed)) {
      walks_.erase(it);  // (the same key: replaced)
      break;
    }
  walks_.emplace_back(std::move(key), std::move(walked));
  while (walks_.size() > kColumnWalks) walks_.pop_front();
}

}  // namespace kbd
