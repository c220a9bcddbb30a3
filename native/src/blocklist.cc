#include "blocklist.h"

#include "error.h"
#include "files.h"
#include "unicode.h"

namespace kbd {

namespace {
// Words of the context's end a phrase is matched against (blocklist.py: context[-200:]).
constexpr size_t kContextChars = 200;
}  // namespace

Blocklist Blocklist::load(const std::string& path, const TextRules& rules) {
  std::u32string text;
  if (!decode_utf8(read_file(path), &text)) throw bundle_error(path + ": not UTF-8 text");
  Blocklist b;
  // str.splitlines(): lines end at \n, \r, \r\n and the other line boundaries below
  const std::u32string breaks = U"\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029";
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find_first_of(breaks, pos);
    if (end == std::u32string::npos) end = text.size();
    std::u32string line = text.substr(pos, end - pos);
    pos = end + (text.compare(end, 2, U"\r\n") == 0 ? 2 : 1);
    if (!rules.rstrip(line).empty() && line[0] != U'#') b.add(line, rules);
  }
  return b;
}

// An entry's words, lowercased: (its last word, the words before it); false when it has none.
bool Blocklist::phrase_of(const std::u32string& entry, const TextRules& rules,
                          std::u32string* last, std::vector<std::u32string>* before) {
  *before = rules.words(entry);
  if (before->empty()) return false;
  *last = std::move(before->back());
  before->pop_back();
  return true;
}

void Blocklist::add(const std::u32string& entry, const TextRules& rules) {
  std::u32string last;
  std::vector<std::u32string> before;
  if (!phrase_of(entry, rules, &last, &before)) return;
  if (before.empty())
    words_.insert(last);
  else
    phrases_[last].insert(before);
}

void Blocklist::remove(const std::u32string& entry, const TextRules& rules) {
  std::u32string last;
  std::vector<std::u32string> before;
  if (!phrase_of(entry, rules, &last, &before)) return;
  if (before.empty()) {
    words_.erase(last);
    return;
  }
  auto it = phrases_.find(last);
  if (it != phrases_.end()) {
    it->second.erase(before);
    if (it->second.empty()) phrases_.erase(it);
  }
}

bool Blocklist::blocks(const std::u32string& word, const std::u32string& context,
                       const TextRules& rules) const {
  if (!enabled) return false;
  std::u32string key = lower(word);
  if (words_.count(key)) return true;
  auto it = phrases_.find(key);
  if (it == phrases_.end()) return false;
  std::u32string end =
      context.size() > kContextChars ? context.substr(context.size() - kContextChars) : context;
  std::vector<std::u32string> tail = rules.words(end);
  for (const auto& before : it->second)
    if (before.size() <= tail.size() &&
        std::equal(before.begin(), before.end(), tail.end() - before.size()))
      return true;
  return false;
}

}  // namespace kbd
