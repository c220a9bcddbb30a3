// A user's own words and the history mix: ports of kbd_lm/history.py (UserHistory) and
// kbd_lm/history_mix.py (mix_history); docs/decoding.md 9.2.
//
// The history keeps, with recency decay, how often each lowercase word followed each context
// of 0, 1 or 2 lowercase words ("" = the start of a message or sentence). It lives in memory
// (no file here); what it may learn is decided by privacy.js.
//
//   const h = new UserHistory(predictor.rules);
//   h.learn("lunch at Quattro?");                      // 3 (words learned)
//   h.learn("my pin is 48213", "password");            // 0: nothing from a password field
//   await predictor.suggest("see you at Qu", 3, h);    // [{word: "Quattro", ...}, ...]
//   h.forget("Quattro"); h.clear();

import {learnableSegments} from "./privacy.js";
import {cpLen} from "./text.js";

export const START = ""; // the start of a message or sentence, as a context word
// kbd_lm.history.HistoryConfig (snake_case, as in the conformance header's "history").
export const HISTORY_CONFIG = Object.freeze({
  max_order: 3,
  max_entries: 20_000,
  max_bytes: 1_000_000,
  half_life: 2000, // learned messages until a count has halved
  max_word_chars: 40, // longer "words" are not learned
});
// kbd_lm.history_mix.DEFAULT_WEIGHTS (as in the conformance header's "history_weights").
export const HISTORY_WEIGHTS = Object.freeze({
  unigram: 0.05,
  bigram: 0.2,
  trigram: 0.5,
  beta: 32,
  floor: 0,
  candidates: 8,
});
const ORDERS = 3; // P1..P3 of the mix
const RESCALE_AT = 2 ** 20; // stored counts are rescaled before they grow past this factor
const TOP_UNIGRAMS = 16; // most frequent words kept ready as next-word candidates

/** Python's string order (code points), not JavaScript's (UTF-16 units). */
export function cpCompare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i) - b.codePointAt(i);
  }
  return a.length - b.length;
}

/** Python's order of two tuples of strings. */
function tupleCompare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cpCompare(a[i], b[i]);
    if (c) return c;
  }
  return a.length - b.length;
}

/** A context's Map key: () -> "", ("",) -> "\n", ("see", "you") -> "\nsee\nyou". */
const ctxKey = (ctx) => ctx.map((w) => "\n" + w).join("");

function utf8Length(s) {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Bytes of an entry's line in the history file, about (history._entry_bytes). */
const entryBytes = (ctx, word) => 12 + 4 * (ctx.length + 1) + utf8Length(ctx.join("") + word);

/** `items` sorted by `count(item)`, largest first; equal counts keep their order. */
const byCount = (items, count) => items.sort((a, b) => count(b) - count(a));

/**
 * The last `order - 1` lowercase words of the sentence `text` ends in, with START before the
 * first word of a sentence (history.context_key): "Hi. See you" -> ["see", "you"], "" -> [""].
 */
export function contextKey(rules, text, order = ORDERS) {
  if (order <= 1) return [];
  let body = rules.rstrip(text);
  const cut = Math.max(body.lastIndexOf("."), body.lastIndexOf("!"), body.lastIndexOf("?"));
  if (cut >= 0 && (cut === body.length - 1 || rules.isSpace(body.codePointAt(cut + 1)))) {
    body = body.slice(cut + 1);
  }
  const found = rules.words(body);
  if (found.length < order - 1) found.unshift(START);
  return found.slice(-(order - 1));
}

/** Decayed counts of one user's words and word sequences (kbd_lm.history.UserHistory). */
export class UserHistory {
  /** `rules`: the predictor's TextRules; `config`: HistoryConfig fields (snake_case). */
  constructor(rules, config = {}) {
    this.rules = rules;
    this.config = {...HISTORY_CONFIG, ...config};
    const c = this.config;
    if (!(c.max_order >= 1 && c.max_order <= 4)) {
      throw new Error(`max_order must be 1..4, got ${c.max_order}`);
    }
    if (c.max_entries < 1 || c.max_bytes < 256 || c.half_life <= 0) {
      throw new Error("max_entries >= 1, max_bytes >= 256 and half_life > 0 are needed");
    }
    this.clear();
  }

  /** Forget everything. */
  clear() {
    // context key -> {ctx: [words], kids: Map(lowercase word -> stored count), total}
    this._next = new Map([["", {ctx: [], kids: new Map(), total: 0}]]);
    this._display = new Map(); // lowercase -> the user's casing, where it differs
    this._top = []; // the most frequent words, kept as history.py keeps them (null: rebuild)
    this._entries = 0;
    this._bytes = 0;
    this._clock = 0; // messages learned since the stored counts were last rescaled
  }

  /**
   * Learn a committed text; returns how many words were learned (0 for a sensitive field).
   * Throws for an unknown field (privacy.js).
   */
  learn(text, field = "text") {
    const segments = learnableSegments(this.rules, text, field);
    if (!segments.length) return 0;
    this._tick();
    let n = 0;
    const order = this.config.max_order;
    for (const seg of segments) {
      let seq = seg.sentenceStart ? [START] : [];
      seg.words.forEach((typed, i) => {
        if (cpLen(typed) > this.config.max_word_chars) {
          seq = []; // a break: no sequence across an unlearned word
          return;
        }
        const key = typed.toLowerCase();
        this._rememberCase(key, typed, seg.sentenceStart && i === 0);
        seq.push(key);
        for (let size = 1; size <= Math.min(order, seq.length); size++) {
          this._add(seq.slice(seq.length - size, seq.length - 1), key);
        }
        n++;
      });
    }
    this._enforceBounds();
    return n;
  }

  /** Remove a word and every sequence that holds it; true if it was kept. */
  forget(word) {
    const key = word.toLowerCase().trim();
    let found = false;
    for (const node of [...this._next.values()]) {
      if (node.ctx.includes(key)) {
        for (const child of [...node.kids.keys()]) this._remove(node.ctx, child);
        found = true;
      } else if (node.kids.has(key)) {
        this._remove(node.ctx, key);
        found = true;
      }
    }
    this._display.delete(key);
    return found;
  }

  /** Number of entries (all orders). */
  get size() {
    return this._entries;
  }

  /** The file size of this history, about (what max_bytes bounds). */
  get sizeBytes() {
    return this._bytes + 160;
  }

  /** The user's casing of a lowercase word. */
  display(key) {
    return this._display.get(key) ?? key;
  }

  /** Kept words in the user's casing with their decayed counts, most frequent first. */
  words(limit = Infinity) {
    const scale = this._scale();
    const items = [...this._root().kids].sort((a, b) => b[1] - a[1] || cpCompare(a[0], b[0]));
    return items.slice(0, limit).map(([w, c]) => [this.display(w), Math.round((c / scale) * 1e4) / 1e4]);
  }

  /** Every kept sequence ({words, count}: decayed), most frequent first. */
  entries() {
    const scale = this._scale();
    const out = [];
    for (const {ctx, kids} of this._next.values()) {
      for (const [w, c] of kids) out.push({words: [...ctx, w], count: c / scale});
    }
    return out.sort((a, b) => b.count - a.count || tupleCompare(a.words, b.words));
  }

  // ---------------------------------------------------------------- queries (the mix)

  /** Decayed number of times the context `ctx` was followed by a learned word. */
  evidence(ctx) {
    return (this._next.get(ctxKey(ctx))?.total ?? 0) / this._scale();
  }

  /** [Map(word -> count), total] after `ctx`, in stored units (only ratios mean anything). */
  following(ctx) {
    const node = this._next.get(ctxKey(ctx));
    return node && node.kids.size ? [node.kids, node.total] : [new Map(), 0];
  }

  /** Up to n words most often seen after `ctx` (starting with `prefix`); ties: first learned. */
  bestFollowing(ctx, n, prefix = "") {
    const kids = this._next.get(ctxKey(ctx))?.kids ?? new Map();
    const items = [...kids.keys()].filter((w) => w.startsWith(prefix));
    return byCount(items, (w) => kids.get(w)).slice(0, n);
  }

  /** The n most frequent lowercase words (at most 16), most frequent first. */
  frequent(n = TOP_UNIGRAMS) {
    const kids = this._root().kids;
    if (this._top === null) this._top = byCount([...kids.keys()], (w) => kids.get(w)).slice(0, TOP_UNIGRAMS);
    return this._top.slice(0, n);
  }

  /** Up to n most frequent lowercase words that start with `prefix`; ties in code point order. */
  startingWith(prefix, n) {
    const kids = this._root().kids;
    const items = [...kids.keys()].filter((w) => w.startsWith(prefix)).sort(cpCompare);
    return byCount(items, (w) => kids.get(w)).slice(0, n);
  }

  // ---------------------------------------------------------------- internals

  _root() {
    return this._next.get("");
  }

  /** Stored counts are count * scale: one addition of scale per occurrence. */
  _scale() {
    return 2 ** (this._clock / this.config.half_life);
  }

  /** One more message: every count decays (by growing what the next one adds). */
  _tick() {
    this._clock += 1;
    const scale = this._scale();
    if (scale > RESCALE_AT) {
      for (const node of this._next.values()) {
        for (const [w, c] of node.kids) node.kids.set(w, c / scale);
        node.total /= scale;
      }
      this._clock = 0;
    }
  }

  _add(ctx, word, amount = this._scale()) {
    const key = ctxKey(ctx);
    let node = this._next.get(key);
    if (node === undefined) {
      node = {ctx, kids: new Map(), total: 0};
      this._next.set(key, node);
    }
    const kids = node.kids;
    if (!kids.has(word)) {
      kids.set(word, 0);
      this._entries += 1;
      this._bytes += entryBytes(ctx, word);
    }
    kids.set(word, kids.get(word) + amount);
    node.total += amount;
    const top = this._top;
    if (!ctx.length && top !== null) {
      const known = top.includes(word);
      if (known || top.length < TOP_UNIGRAMS || kids.get(word) > kids.get(top[top.length - 1])) {
        if (!known) top.push(word);
        byCount(top, (w) => kids.get(w));
        top.length = Math.min(top.length, TOP_UNIGRAMS);
      }
    }
  }

  _remove(ctx, word) {
    const key = ctxKey(ctx);
    const node = this._next.get(key);
    const count = node.kids.get(word);
    node.kids.delete(word);
    this._entries -= 1;
    this._bytes -= entryBytes(ctx, word);
    if (ctx.length) {
      node.total -= count;
      if (!node.kids.size) this._next.delete(key);
    } else {
      node.total = Math.max(node.total - count, 0);
      this._display.delete(word);
      this._top = null;
    }
  }

  /**
   * Keep the latest casing typed inside a sentence; at a sentence start only a casing that is
   * more than a capital first letter ("iPhone", "NASA").
   */
  _rememberCase(key, typed, initial) {
    const first = String.fromCodePoint(key.codePointAt(0));
    if (initial && typed === first.toUpperCase() + key.slice(first.length)) return;
    if (typed === key) this._display.delete(key);
    else this._display.set(key, typed);
  }

  /** Past max_entries or max_bytes: the smallest counts go (longest first), down to 90 %. */
  _enforceBounds() {
    const cfg = this.config;
    if (this._entries <= cfg.max_entries && this.sizeBytes <= cfg.max_bytes) return;
    const keepEntries = Math.trunc(cfg.max_entries * 0.9);
    const keepBytes = Math.trunc(cfg.max_bytes * 0.9);
    const excess = Math.max(
      this._entries - keepEntries,
      Math.ceil(this._entries * (1 - keepBytes / Math.max(this.sizeBytes, 1))),
    );
    const ranked = [];
    for (const {ctx, kids} of this._next.values()) {
      for (const [w, c] of kids) ranked.push([c, ctx, w]);
    }
    // As Python's tuples (count, -len(ctx), ctx, word), smallest first.
    ranked.sort(
      (a, b) => a[0] - b[0] || b[1].length - a[1].length || tupleCompare(a[1], b[1]) || cpCompare(a[2], b[2]),
    );
    for (const [, ctx, w] of ranked.slice(0, Math.max(excess + 16, 0))) {
      if (this._entries <= keepEntries && this.sizeBytes <= keepBytes) break;
      if (this._next.get(ctxKey(ctx))?.kids.has(w)) this._remove(ctx, w);
    }
    if (this._entries > keepEntries || this.sizeBytes > keepBytes) this._enforceBounds();
  }
}

/** "i" and "i'm" are capitalised even when only seen lowercase (history_mix._default_case). */
const defaultCase = (word) => (word === "i" || word.startsWith("i'") ? "I" + word.slice(1) : word);

/**
 * The model's [word, probability] list mixed with `history` for the word after `context`
 * starting with `partial` (docs/decoding.md 9.2, history_mix.mix_history), best first:
 * P(w) = (1 - sum lambda_i) P_model(w) + sum lambda_i P_i(w), lambda_i = mu_i T_i / (T_i + beta).
 * `weights`: HISTORY_WEIGHTS fields.
 */
export function mixHistory(modelWords, history, context, partial, weights = HISTORY_WEIGHTS) {
  if (history.size === 0) return modelWords;
  const {unigram, bigram, trigram, beta, floor, candidates} = {...HISTORY_WEIGHTS, ...weights};
  const prefix = partial.toLowerCase();
  const key = contextKey(history.rules, context, ORDERS);
  const contexts = [[], key.slice(-1), key.length >= 2 ? key.slice(-2) : null];
  // Candidates, each once: the model's words, the history's frequent ones, its best after C2, C3.
  const model = new Map();
  for (const [display, p] of modelWords) {
    const lower = display.toLowerCase();
    if (!model.has(lower)) model.set(lower, [display, p]);
  }
  const found = new Set(model.keys());
  const add = (words) => words.forEach((w) => found.add(w));
  add(prefix ? history.startingWith(prefix, candidates) : history.frequent(candidates));
  for (const ctx of contexts.slice(1)) if (ctx) add(history.bestFollowing(ctx, candidates, prefix));
  if (prefix) found.delete(prefix); // the typed word is no completion (kbd_lm.text.completes)
  // Features: the history's P_i(w) and evidence T_i per context; the mix.
  const follows = contexts.map((ctx) => (ctx ? history.following(ctx) : [new Map(), 0]));
  const lambda = [unigram, bigram, trigram].map((mu, i) => {
    const t = contexts[i] ? history.evidence(contexts[i]) : 0;
    return mu * (t / (t + beta));
  });
  const modelShare = 1 - (lambda[0] + lambda[1] + lambda[2]);
  const modelMin = model.size ? Math.min(...[...model.values()].map(([, p]) => p)) : 0;
  const mixed = [...found].map((w) => {
    const m = model.get(w);
    let own = 0;
    follows.forEach(([counts, total], i) => {
      own += lambda[i] * (total > 0 ? (counts.get(w) ?? 0) / total : 0);
    });
    const pModel = m ? m[1] : floor * modelMin;
    return [m ? m[0] : defaultCase(history.display(w)), modelShare * pModel + own];
  });
  return mixed.filter(([, p]) => p > 0).sort((a, b) => b[1] - a[1]);
}
