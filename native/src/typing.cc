#include "typing.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "error.h"
#include "files.h"
#include "unicode.h"

namespace kbd {

namespace {

constexpr const char* kFormat = "kbd-lm-typing";  // kbd_lm/typing/spec.py's FORMAT, VERSION
constexpr int kVersion = 1;
constexpr double kNeg = -std::numeric_limits<double>::infinity();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;

double log0(double p) { return p > 0 ? std::log(p) : kNeg; }

// P(lo <= X < hi) for X ~ Normal(mean, spread^2), from the nearer tail (channel._normal_mass)
double normal_mass(double lo, double hi, double mean, double spread) {
  const double a = (lo - mean) / spread, b = (hi - mean) / spread;
  if (a > 0) return 0.5 * (std::erfc(a / std::sqrt(2.0)) - std::erfc(b / std::sqrt(2.0)));
  return 0.5 * (std::erfc(-b / std::sqrt(2.0)) - std::erfc(-a / std::sqrt(2.0)));
}

// a finite number at doc[name], else a bundle error naming `where`.name
double need(const nlohmann::json& doc, const char* name, const std::string& where) {
  if (!doc.is_object() || !doc.contains(name) || !doc[name].is_number() ||
      !std::isfinite(doc[name].get<double>()))
    throw bundle_error(where + "." + name + ": missing or not a number");
  return doc[name].get<double>();
}

double number_or(const nlohmann::json& doc, const char* name, double fallback,
                 const std::string& where) {
  if (!doc.contains(name) || doc[name].is_null()) return fallback;
  return need(doc, name, where);
}

}  // namespace

double logaddexp(double x, double y) {
  if (y == kNeg) return x;
  if (x == kNeg) return y;
  if (x == y) return x + std::log(2.0);
  const double d = x - y;
  return d > 0 ? x + std::log1p(std::exp(-d)) : y + std::log1p(std::exp(d));
}

Layout::Layout(const nlohmann::json& doc, const std::string& source) {
  if (!doc.is_object() || doc.value("format", "") != "kbd-lm-layout" ||
      !doc.contains("version") || doc["version"] != 1)
    throw bundle_error(source + ": a layout that is not kbd-lm-layout version 1");
  if (!doc.contains("name") || !doc["name"].is_string())
    throw bundle_error(source + ": a layout without a name");
  name_ = doc["name"].get<std::string>();
  const std::string where = source + ": layout " + name_;
  key_width_ = number_or(doc, "key_width", 1.0, where);
  key_height_ = number_or(doc, "key_height", 1.0, where);
  if (!(key_width_ > 0) || !(key_height_ > 0))
    throw bundle_error(where + ": key_width and key_height must be positive");
  if (!doc.contains("rows") || !doc["rows"].is_array() || doc["rows"].empty())
    throw bundle_error(where + ".rows: expected a non-empty list");
  for (const auto& r : doc["rows"]) {
    if (!r.is_object() || !r.contains("keys") || !r["keys"].is_string())
      throw bundle_error(where + ".rows: a row without its keys");
    std::u32string keys;
    if (!decode_utf8(r["keys"].get<std::string>(), &keys) || keys.empty())
      throw bundle_error(where + ".rows.keys: empty or not UTF-8");
    rows_.emplace_back(keys, number_or(r, "offset", 0.0, where + ".rows"));
  }
  const size_t last = rows_.size() - 1;
  for (size_t r = 0; r < rows_.size(); r++) {
    const auto& [keys, offset] = rows_[r];
    const double y0 = r == 0 ? -kInf : r * key_height_;
    const double y1 = r == last ? kInf : (r + 1) * key_height_;
    for (size_t i = 0; i < keys.size(); i++) {
      index_[keys[i]] = static_cast<int>(centres_.size());  // (a repeated key: the last)
      centres_.emplace_back(offset + (i + 0.5) * key_width_, (r + 0.5) * key_height_);
      const double x0 = i == 0 ? -kInf : offset + i * key_width_;
      const double x1 = i + 1 == keys.size() ? kInf : offset + (i + 1) * key_width_;
      regions_.push_back({x0, x1, y0, y1});
    }
  }
}

double Layout::width() const {
  double w = 0;
  for (const auto& [keys, offset] : rows_) w = std::max(w, offset + keys.size() * key_width_);
  return w;
}

double Layout::height() const { return rows_.size() * key_height_; }

int Layout::index(char32_t key) const {
  auto it = index_.find(key);
  return it == index_.end() ? -1 : it->second;
}

const std::vector<double>& Layout::touch_table(double spread) const {
  auto it = tables_.find(spread);
  if (it != tables_.end()) return it->second;
  const size_t K = centres_.size();
  std::vector<double> table(K * K);
  for (size_t w = 0; w < K; w++)
    for (size_t t = 0; t < K; t++) {
      const auto& g = regions_[t];
      const double mass = normal_mass(g[0], g[1], centres_[w].first, spread) *
                          normal_mass(g[2], g[3], centres_[w].second, spread);
      table[t * K + w] = log0(mass);
    }
  return tables_.emplace(spread, std::move(table)).first->second;
}

TypingSpec TypingSpec::parse(const nlohmann::json& doc, const std::string& source) {
  if (!doc.is_object() || doc.value("format", "") != kFormat)
    throw bundle_error(source + ": not a " + kFormat + " file");
  if (!doc.contains("version") || doc["version"] != kVersion)
    throw bundle_error(source + ": " + kFormat + " version " +
                       (doc.contains("version") ? doc["version"].dump() : "none") +
                       " is not supported (re-export)");
  TypingSpec spec;
  const nlohmann::json empty = nlohmann::json::object();
  const auto& ch = doc.contains("channel") ? doc["channel"] : empty;
  const std::string c = source + ": channel";
  ChannelParams& p = spec.channel;
  p.touch_spread = need(ch, "touch_spread", c);
  p.omission = need(ch, "omission", c);
  p.insertion = need(ch, "insertion", c);
  p.doubled = need(ch, "doubled", c);
  p.transposition = need(ch, "transposition", c);
  p.missing_apostrophe = need(ch, "missing_apostrophe", c);
  if (!(p.touch_spread > 0)) throw bundle_error(c + ".touch_spread: must be positive");
  const auto& co = doc.contains("correction") ? doc["correction"] : empty;
  const std::string w = source + ": correction";
  spec.autocorrect_margin = need(co, "autocorrect_margin", w);
  spec.autocorrect_strip_ratio = need(co, "autocorrect_strip_ratio", w);
  spec.completion_bonus = need(co, "completion_bonus", w);
  spec.unlisted_min = need(co, "unlisted_min", w);
  if (!doc.contains("layouts") || !doc["layouts"].is_array() || doc["layouts"].empty())
    throw bundle_error(source + ": layouts: expected a non-empty list");
  for (const auto& l : doc["layouts"]) spec.layouts.push_back(std::make_unique<Layout>(l, source));
  return spec;
}

TypingSpec TypingSpec::load(const std::string& path) {
  return parse(read_json(path), path);
}

const Layout& TypingSpec::layout(const std::string& name) const {
  std::string names;
  for (const auto& l : layouts) {
    if (l->name() == name) return *l;
    names += (names.empty() ? "" : ", ") + l->name();
  }
  throw Error(KBD_LM_ERR_ARGUMENT, "unknown layout \"" + name + "\": use one of " + names);
}

TypedLetters::TypedLetters(const std::u32string& typed, const Layout& layout,
                           const ChannelParams& params, const std::vector<Tap>& taps)
    : t_(lower(typed)), taps_(taps), layout_(layout), params_(params) {
  const size_t n = t_.size();
  if (taps_.empty()) taps_.resize(n);
  if (taps_.size() != n)
    throw Error(KBD_LM_ERR_ARGUMENT, std::to_string(taps.size()) + " taps for " +
                                         std::to_string(n) + " typed letters");
  const double area = layout.key_width() * layout.key_height();
  const double K = static_cast<double>(layout.keys());
  for (size_t a = 0; a < n; a++) {
    const double doubled = a && t_[a] == t_[a - 1] ? params.doubled : 0;
    ins_.push_back(log0(params.insertion / K + doubled) - (taps_[a].has ? std::log(area) : 0));
  }
  log_swap_ = log0(params.transposition);
  fill_headroom();
}

// headroom[a]: the most typed letters a.. can still add (spec 11.3's room)
void TypedLetters::fill_headroom() {
  const ChannelParams& p = params_;
  const size_t n = t_.size(), K = layout_.keys();
  const std::vector<double>& table = layout_.touch_table(p.touch_spread);
  const double peak = -std::log(2 * kPi * p.touch_spread * p.touch_spread);
  const double keep = std::log(1 - std::min(p.omission, p.missing_apostrophe) - p.transposition);
  const double half_swap = 0.5 * log0(p.transposition);
  headroom_.assign(n + 1, 0.0);
  for (size_t a = n; a-- > 0;) {
    double best = 0;  // a character off the layout is typed as itself only: touch 1
    const int key = layout_.index(t_[a]);
    if (key >= 0) {
      best = kNeg;
      for (size_t w = 0; w < K; w++) best = std::max(best, table[key * K + w]);
    }
    const double touch = taps_[a].has ? std::max(peak, best) : best;
    headroom_[a] = headroom_[a + 1] + std::max({keep + touch, half_swap + touch, ins_[a]});
  }
}

// The per-letter values of intended `c` (channel.py's _touch_rows and _rows).
const TypedLetters::Letter& TypedLetters::letter(char32_t c) const {
  auto it = letters_.find(c);
  if (it != letters_.end()) return it->second;
  const ChannelParams& p = params_;
  const size_t n = t_.size(), K = layout_.keys();
  const std::vector<double>& table = layout_.touch_table(p.touch_spread);
  const double s = p.touch_spread;
  Letter got;
  got.lt.assign(n, kNeg);
  const int w = layout_.index(c);
  for (size_t a = 0; a < n; a++) {
    if (w < 0) {
      if (c == t_[a]) got.lt[a] = 0;  // off the layout: typed as itself only
    } else if (taps_[a].has) {
      const auto& [cx, cy] = layout_.centre(w);
      const double dx = taps_[a].x - cx, dy = taps_[a].y - cy;
      const double d2 = dx * dx + dy * dy;
      got.lt[a] = -d2 / (2 * s * s) - std::log(2 * kPi * s * s);
    } else if (layout_.index(t_[a]) >= 0) {
      got.lt[a] = table[layout_.index(t_[a]) * K + w];
    }
  }
  const double skip = c == U'\'' ? p.missing_apostrophe : p.omission;
  got.keep = log0(1 - skip - p.transposition);
  got.log_skip = log0(skip);
  got.step = c != U'\'';
  return letters_.emplace(c, std::move(got)).first->second;
}

Column TypedLetters::first() const {
  const size_t n = t_.size();
  Column col((n + 1) * kCells, kNeg);
  col[0] = 0;
  for (size_t a = 1; a <= n; a++)
    for (int e = 1; e <= kMaxEdits; e++)
      col[a * kCells + e] = col[(a - 1) * kCells + e - 1] + ins_[a - 1];
  return col;
}

Column TypedLetters::next(const Column* before, const Column& last, char32_t prev,
                          char32_t c) const {
  Column out(cells());
  next(before ? before->data() : nullptr, last.data(), prev, c, out.data());
  return out;
}

// The channel's exact values (no cell is cut, spec 11.3), the sums in spec 11.2's order
// (channel.py's next_many).
void TypedLetters::next(const double* before, const double* last, char32_t prev, char32_t c,
                        double* out, size_t from_row) const {
  const size_t n = t_.size();
  const Letter& L = letter(c);
  const bool swap = before != nullptr && prev != 0 && n >= 2;
  const std::vector<double>* lt_prev = swap ? &letter(prev).lt : nullptr;
  // edits ascending: the insertion term reads cells of e - 1 edits, all final by then
  for (int e = 0; e <= kMaxEdits; e++) {
    for (size_t a = from_row; a <= n; a++) {
      double v = a ? last[(a - 1) * kCells + e] + L.keep + L.lt[a - 1] : kNeg;  // typed
      const double from = L.step ? (e ? last[a * kCells + e - 1] : kNeg) : last[a * kCells + e];
      v = logaddexp(v, from + L.log_skip);  // left out
      if (e && a >= 1) v = logaddexp(v, out[(a - 1) * kCells + e - 1] + ins_[a - 1]);  // inserted
      if (e && swap && a >= 2) {
        const double s =
            before[(a - 2) * kCells + e - 1] + log_swap_ + L.lt[a - 2] + (*lt_prev)[a - 1];
        v = logaddexp(v, s);  // swapped
      }
      out[a * kCells + e] = v;
    }
  }
}

double TypedLetters::whole(const double* col) const {
  const size_t at = t_.size() * kCells;
  double s = col[at];
  for (int e = 1; e <= kMaxEdits; e++) s = logaddexp(s, col[at + e]);
  return s;
}

std::pair<double, double> TypedLetters::likelihoods(const std::u32string& intended) const {
  const std::u32string chars = lower(intended);
  Column before, col = first();
  double w = whole(col), best = w;
  auto alive = [](const Column& c) {
    return std::any_of(c.begin(), c.end(), [](double v) { return v > kNeg; });
  };
  for (size_t b = 0; b < chars.size(); b++) {
    Column next_col = next(b ? &before : nullptr, col, b ? chars[b - 1] : 0, chars[b]);
    const bool dead = !alive(next_col) && !alive(col);
    before = std::move(col);
    col = std::move(next_col);
    w = whole(col);
    best = std::max(best, w);
    if (dead) return {kNeg, best};  // every later column is -inf too
  }
  return {w, best};
}

}  // namespace kbd
