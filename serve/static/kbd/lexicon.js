// The bundle's word list for completions (docs/decoding.md, "The word list"): a port of
// kbd_lm/inference/lexicon.py. The file (role "lexicon" in the manifest, lexicon.txt.gz): gzip of
// "kbd-lm-lexicon 1" then "word<TAB>count" lines.

import {cpCompare, cpLen} from "./text.js";

// kbd_lm/inference/lexicon.py's DEFAULT_WEIGHT and CANDIDATES: part of the spec.
export const LEXICON_WEIGHT = 0.1;
export const LEXICON_CANDIDATES = 8;
// kbd_lm/inference/lexicon.py's UNLISTED: what a completion outside the list keeps of its probability.
export const LEXICON_UNLISTED = 0.001;
const DECIMAL = /^\p{Nd}+$/u; // Python's str.isdecimal()
const MAGIC = "kbd-lm-lexicon 1";

export class Lexicon {
  /** Fetch and parse a lexicon file (gzip, decompressed by the browser). */
  static async load(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    const text = await new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).text();
    const lines = text.split("\n").filter((l) => l);
    if (lines[0] !== MAGIC) throw new Error(`${url}: first line is not ${MAGIC}`);
    return new Lexicon(
      lines
        .slice(1)
        .map((l) => l.split("\t"))
        .map(([w, n]) => [w, Number(n)]),
    );
  }

  /** entries: [word, count] pairs. Kept sorted by lowercase word, as Python's list. */
  constructor(entries) {
    this.entries = entries
      .map(([w, n]) => [w.toLowerCase(), w, n])
      .sort((a, b) => cpCompare(a[0], b[0])); // code points, as Python sorts
    this.counts = new Map(this.entries.map(([key, , n]) => [key, n]));
  }

  /** The count of word (any case), 0 if it is not listed. */
  count(word) {
    return this.counts.get(word.toLowerCase()) ?? 0;
  }

  /** The n most frequent words starting with prefix (any case); ties keep list order. */
  completions(prefix, n) {
    const key = prefix.toLowerCase();
    if (!key) return [];
    const found = this.entries.filter((e) => e[0].startsWith(key));
    return found
      .sort((a, b) => b[2] - a[2]) // stable: equal counts stay in lowercase order
      .slice(0, n)
      .map((e) => [e[1], e[2]]);
  }
}

/**
 * Completions of `partial` from the model (`words`: [word, probability], best first) and the
 * lexicon: P(w) = (1 - weight) g(w) P_model(w) + weight * S * count(w) / (sum of the
 * candidates' counts), S = the model's total probability of the listed words it found (1e-6
 * if none), g(w) = 1 for a listed (or decimal-digit) word, else LEXICON_UNLISTED. As
 * mix_lexicon in Python.
 */
export function mixLexicon(words, lexicon, partial, weight = LEXICON_WEIGHT) {
  if (!partial || !lexicon || weight <= 0) return words;
  // One more than needed: the typed word itself, if listed, is no completion.
  const typed = cpLen(partial);
  const found = lexicon
    .completions(partial, LEXICON_CANDIDATES + 1)
    .filter(([w]) => cpLen(w) > typed)
    .slice(0, LEXICON_CANDIDATES);
  const total = found.reduce((s, [, n]) => s + n, 0);
  if (!total) return words;
  const share = words.map(([w]) => (lexicon.count(w) || DECIMAL.test(w) ? 1 : LEXICON_UNLISTED));
  // Summed in the same order as Python's sum(): the same float.
  let mass = 0;
  words.forEach(([, p], i) => {
    if (share[i] === 1) mass += p;
  });
  mass = mass || 1e-6;
  const mixed = new Map();
  words.forEach(([w, p], i) => {
    mixed.set(w.toLowerCase(), [w, (1 - weight) * share[i] * p]);
  });
  for (const [w, n] of found) {
    const key = w.toLowerCase();
    if (!mixed.has(key)) mixed.set(key, [w, 0]);
    mixed.get(key)[1] += (weight * mass * n) / total;
  }
  return [...mixed.values()].sort((a, b) => b[1] - a[1]);
}
