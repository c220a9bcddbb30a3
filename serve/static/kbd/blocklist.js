// Words never suggested: kbd_lm/inference/blocklist.py (docs/decoding.md, section 9).
//
// The bundle's blocklist (role "blocklist" in the manifest, blocklist.txt: one entry a line;
// empty lines and lines starting with "#" are skipped) plus what an app changes. Entries and words are compared lowercase, as whole words
// (TextRules.words); an entry of several words blocks its last word only after the others.
//
//   const b = new Blocklist(rules, ["darn", "two girls one cup"]);
//   b.blocks("Darn")                       // true
//   b.blocks("cup", "two girls one")       // true
//   b.blocks("cup", "a")                   // false
//   b.remove("darn"); b.enabled = false;   // an app's settings

const CONTEXT_CHARS = 200; // the phrase check reads the context's last 200 code points

export class Blocklist {
  constructor(rules, entries = [], enabled = true) {
    this.rules = rules;
    this.enabled = enabled;
    this.words = new Set();
    this.phrases = new Map(); // last word -> Map(joined words before it -> [words before])
    for (const entry of entries) this.add(entry);
  }

  /** The entries of a blocklist.txt's text. */
  static parse(rules, text) {
    const lines = text.split(/\r\n|\n|\r/);
    return new Blocklist(
      rules,
      lines.filter((l) => l.trim() && !l.startsWith("#")),
    );
  }

  get size() {
    let n = this.words.size;
    for (const befores of this.phrases.values()) n += befores.size;
    return n;
  }

  /** Block a word (or a phrase's last word after the rest of the phrase). */
  add(entry) {
    const found = this.rules.words(entry);
    if (found.length === 1) {
      this.words.add(found[0]);
    } else if (found.length > 1) {
      const last = found[found.length - 1];
      const before = found.slice(0, -1);
      if (!this.phrases.has(last)) this.phrases.set(last, new Map());
      this.phrases.get(last).set(before.join(" "), before);
    }
  }

  /** Unblock a word or phrase (nothing happens if it was not blocked). */
  remove(entry) {
    const found = this.rules.words(entry);
    if (found.length === 1) this.words.delete(found[0]);
    else if (found.length > 1) {
      this.phrases.get(found[found.length - 1])?.delete(found.slice(0, -1).join(" "));
    }
  }

  /** Every blocked word and phrase (as words joined by spaces). */
  entries() {
    const out = [...this.words];
    for (const [last, befores] of this.phrases) {
      for (const key of befores.keys()) out.push(`${key} ${last}`);
    }
    return out.sort();
  }

  /** A copy with `entries` added (the original is unchanged). */
  with(entries) {
    return new Blocklist(this.rules, [...this.entries(), ...entries], this.enabled);
  }

  /** True if `word` must not be suggested after `context` (the text before it). */
  blocks(word, context = "") {
    if (!this.enabled) return false;
    const key = word.toLowerCase();
    if (this.words.has(key)) return true;
    const befores = this.phrases.get(key);
    if (!befores || befores.size === 0) return false;
    const tail = this.rules.words(Array.from(context).slice(-CONTEXT_CHARS).join(""));
    for (const before of befores.values()) {
      if (before.length > tail.length) continue;
      const start = tail.length - before.length;
      if (before.every((w, i) => tail[start + i] === w)) return true;
    }
    return false;
  }

  /** `candidates` ([word, probability] pairs) without the blocked words, order kept. */
  filter(candidates, context) {
    if (!this.enabled || this.size === 0) return candidates;
    return candidates.filter(([word]) => !this.blocks(word, context));
  }
}
