// Typo-tolerant suggestions for a partial word: the model's prior times the touch channel
// (docs/decoding.md 11 and 11.3): a port of kbd_lm/inference/correction.py.
//
// The hypotheses: the model's completions of the typed letters (prior: their probability),
// corrections from the word list's trie walk (candidates.js; prior: the model's log P of the
// word, then a boundary), and the typed letters as a whole word (never suggested). Each
// hypothesis' raw score is prior + log P(typed | start of the word), its strip score that plus
// the completion bonus for a completion; the autocorrection (what space commits) is decided on
// whole words.
//
//   const fix = new Corrections(lexicon);
//   await fix.suggest("tomorow", {exact, prior, k: 3, spec, layout});
//   // [{word: "tomorrow", probability: 0.97, kind: "correction", autocorrect: true}, ...]

import {descending, WordTrie} from "./candidates.js";
import {cpLen} from "./text.js";
import {TypedLetters} from "./typing.js";

export const CANDIDATES = 8; // corrections from the word list scored by the model per call
// What may stand before the partial word in its whitespace-separated token (correction.py's OPENERS).
const OPENERS = "\"'([{";
// Python's str.isdigit() (Unicode 14, Python 3.11): the decimal digits and these others,
// superscripts, circled and parenthesised digits among them.
const DIGIT =
  /[\p{Nd}\u{B2}-\u{B3}\u{B9}\u{1369}-\u{1371}\u{19DA}\u{2070}\u{2074}-\u{2079}\u{2080}-\u{2089}\u{2460}-\u{2468}\u{2474}-\u{247C}\u{2488}-\u{2490}\u{24EA}\u{24F5}-\u{24FD}\u{24FF}\u{2776}-\u{277E}\u{2780}-\u{2788}\u{278A}-\u{2792}\u{10A40}-\u{10A43}\u{10E60}-\u{10E68}\u{11052}-\u{1105A}\u{1F100}-\u{1F10A}]/u;

const cpSlice = (s, start, end) => Array.from(s).slice(start, end).join("");

/**
 * True if the partial word at the end of raw `text` may be corrected: no digit, and its
 * whitespace-separated token holds nothing but opening quotes or brackets before it.
 *   correctable(rules, "see you tomorow", "tomorow") === true
 *   correctable(rules, "mail me@exampl", "exampl") === false
 */
export function correctable(rules, text, partial) {
  if (!partial || DIGIT.test(partial)) return false;
  const cps = Array.from(rules.rstrip(text));
  let i = cps.length;
  while (i > 0 && !rules.isSpace(cps[i - 1].codePointAt(0))) i--;
  const token = cps.slice(i); // the last token (none when the text is all whitespace)
  const n = cpLen(partial);
  if (token.length < n || token.slice(token.length - n).join("") !== partial) return false;
  return token.slice(0, token.length - n).every((ch) => OPENERS.includes(ch));
}

// Python's str.isupper(): a cased character, and none in lowercase.
const isUpper = (s) => s.toUpperCase() === s && s.toLowerCase() !== s;

/** `word` in the case typed: all capitals when more than one letter was typed and all were. */
export function typedCase(word, typed) {
  if (cpLen(typed) > 1 && isUpper(typed)) return word.toUpperCase();
  if (isUpper(cpSlice(typed, 0, 1))) return cpSlice(word, 0, 1).toUpperCase() + cpSlice(word, 1);
  return word;
}

/** Corrections over one word list (its trie built once), as correction.py's Corrections. */
export class Corrections {
  constructor(lexicon) {
    this.lexicon = lexicon;
    // the word list ranked as Lexicon.items(): most frequent first, ties by lowercase word
    const ranked = lexicon.entries.map(([, w, n]) => [w, n]);
    ranked.sort((x, y) => y[1] - x[1]); // stable: entries are sorted by lowercase word
    this.trie = new WordTrie(ranked);
  }

  /**
   * The k best suggestions for the typed `partial`: [{word, probability, kind, autocorrect}].
   * `exact`: the completions without correction, [word, probability] best first; `prior`:
   * async (words) -> Map word -> log P(word, then a boundary | context); `blocked(word)`: true
   * for a word never to propose; `spec`: the bundle's TypingSpec; `layout` one of its layouts;
   * `learned`: the user's history has the typed letters as a word (no autocorrection).
   */
  async suggest(
    partial,
    {exact, prior, k, spec, layout, taps = null, blocked = null, learned = false},
  ) {
    const typed = new TypedLetters(partial, layout, spec.channel, taps);
    const want = partial.toLowerCase();
    const skip = (word) => word.toLowerCase().startsWith(want) || Boolean(blocked?.(word));
    const hyps = new Map(); // lowercase word -> {word, kind, prior, prefix, whole}
    for (const [word, p] of exact) {
      const key = word.toLowerCase();
      if (p > 0 && !hyps.has(key)) hyps.set(key, hyp(word, "completion", Math.log(p)));
    }
    for (const h of hyps.values()) [h.whole, h.prefix] = typed.likelihoods(h.word);
    const ownWhole = typed.likelihoods(partial)[0];
    const walked = this.trie.walk(typed, CANDIDATES, skip, false, ownWhole);
    const rank = (f) => Math.log(f.count) + Math.max(f.whole, f.prefix);
    const found = [...walked.values()].sort((x, y) => descending(rank(x), rank(y)));
    const chosen = found.slice(0, CANDIDATES).map((f) => f.word);
    const priors = await prior([...chosen, partial]); // the model scores them together
    for (const word of chosen) {
      // their likelihoods in full (the walk may stop before a candidate's own node)
      const h = hyp(word, "correction", priors.get(word));
      [h.whole, h.prefix] = typed.likelihoods(word);
      hyps.set(word.toLowerCase(), h);
    }
    const asTyped = priors.get(partial) + ownWhole;
    const strip = (h) => raw(h) + (h.kind === "completion" ? spec.completionBonus : 0);
    const rawTotal = hyps.size ? logSumExp([...hyps.values()].map(raw)) : 0;
    const ranked = [...hyps.values()].sort((x, y) => descending(strip(x), strip(y)));
    const total = logSumExp([...ranked.map(strip), asTyped]);
    let best = null; // the first best by prior + whole likelihood
    let first = null; // the first best by raw score
    for (const h of ranked) {
      if (best === null || h.prior + h.whole > best.prior + best.whole) best = h;
      if (first === null || raw(h) > raw(first)) first = h;
    }
    const auto = !learned && best !== null && autocorrects(best, first, asTyped, spec);
    if (auto) ranked.splice(0, 0, ...ranked.splice(ranked.indexOf(best), 1));
    const out = [];
    for (const h of ranked) {
      const probability = Math.exp(strip(h) - total);
      const completion = h.kind === "completion";
      const share = Math.exp(raw(h) - rawTotal); // unlisted_min is a share of the raw scores
      if (completion && share < spec.unlistedMin && !this.lexicon.count(h.word)) continue;
      const word = completion
        ? partial + cpSlice(h.word, cpLen(partial))
        : typedCase(h.word, partial);
      out.push({word, probability, kind: h.kind, autocorrect: auto && !out.length});
      if (out.length === k) break;
    }
    return out;
  }
}

const hyp = (word, kind, prior) => ({word, kind, prior, prefix: 0, whole: 0});

/**
 * log sum exp of `values` without overflow (the largest taken out first), as correction.py's
 * _logsumexp on finite values; -Infinity for none, or when every value is -Infinity.
 *   logSumExp([Math.log(1), Math.log(3)]) === Math.log(4)
 */
export function logSumExp(values) {
  const top = Math.max(...values);
  if (top === -Infinity) return top;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - top);
  return top + Math.log(sum);
}

// Whether space commits `best` (the best by prior + whole likelihood): it beats the typed
// letters as a word by spec.autocorrectMargin, and its raw score is at least
// spec.autocorrectStripRatio times the best raw score (`first`'s).
function autocorrects(best, first, asTyped, spec) {
  if (best.prior + best.whole - asTyped <= spec.autocorrectMargin) return false;
  return raw(best) - raw(first) >= Math.log(spec.autocorrectStripRatio);
}

const raw = (h) => h.prior + h.prefix;
