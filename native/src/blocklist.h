// Words never suggested (docs/decoding.md section 9.1, kbd_lm/inference/blocklist.py): the
// bundle's blocklist.txt plus what an app adds or removes.
//
//   Blocklist b;
//   b.add(U"two girls one cup", rules);
//   b.blocks(U"cup", U"two girls one ", rules)   // true
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "text.h"

namespace kbd {

class Blocklist {
 public:
  // UTF-8, one entry a line; empty lines and lines starting with '#' are skipped.
  static Blocklist load(const std::string& path, const TextRules& rules);
  void add(const std::u32string& entry, const TextRules& rules);
  void remove(const std::u32string& entry, const TextRules& rules);
  bool blocks(const std::u32string& word, const std::u32string& context,
              const TextRules& rules) const;
  bool empty() const { return words_.empty() && phrases_.empty(); }
  bool enabled = true;

 private:
  static bool phrase_of(const std::u32string& entry, const TextRules& rules,
                        std::u32string* last, std::vector<std::u32string>* before);
  std::set<std::u32string> words_;
  std::map<std::u32string, std::set<std::vector<std::u32string>>> phrases_;  // last -> before
};

}  // namespace kbd
