// A user's own words and the history mix: ports of kbd_lm/history/user_history.py (UserHistory) and
// kbd_lm/history/mix.py (mix_history); docs/decoding.md 9.2.
//
// The history keeps, with recency decay, how often each lowercase word followed each context
// of 0, 1 or 2 lowercase words ("" = the start of a message or sentence); what it may learn
// is decided by privacy.js. It reads and writes user_history.py's file format (its docstring: a JSON
// header line, one [count, word, ...] line per entry, a SHA-256 line), byte for byte: entries
// in user_history.py's order, counts rounded as Python's round(c, 4) (ties to even) and written as
// Python's repr(float) ("1.0", "0.0312"), the header as json.dumps writes it. A file written
// with a user_history.py whose HistoryConfig.half_life is an int (1, not 1.0) says "1" where this
// writes "1.0" in the header (no reader uses it): only then do the bytes differ.
//
//   const h = new UserHistory(predictor.rules);
//   h.learn("lunch at Quattro?");                      // 3 (words learned)
//   h.learn("my pin is 48213", "password");            // 0: nothing from a password field
//   await predictor.suggest("see you at Qu", 3, h);    // [{word: "Quattro", ...}, ...]
//   const bytes = await h.toBytes();                   // the file (a Uint8Array)
//   await UserHistory.fromBytes(predictor.rules, bytes);  // or a HistoryFileError
//   h.forget("Quattro"); h.clear();

import {learnableSegments} from "./privacy.js";
import {sha256Hex} from "./sha256.js";
import {cpCompare, cpLen} from "./text.js";

export const FORMAT_NAME = "kbd-lm-history"; // user_history.FORMAT_NAME
export const FORMAT_VERSION = 1; // user_history.FORMAT_VERSION

export const START = ""; // the start of a message or sentence, as a context word
// kbd_lm.history.user_history.HistoryConfig (snake_case, as in the conformance header's "history").
export const HISTORY_CONFIG = Object.freeze({
  max_order: 3,
  max_entries: 20_000,
  max_bytes: 1_000_000,
  half_life: 2000, // learned messages until a count has halved
  max_word_chars: 40, // longer "words" are not learned
});
// kbd_lm.history.mix.DEFAULT_WEIGHTS (as in the conformance header's "history_weights").
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
const MAX_COUNT = 2 ** 53; // far above any count learning makes; keeps every sum finite
const TOP_UNIGRAMS = 16; // most frequent words kept ready as next-word candidates

/** A history file that cannot be read; the message names the file and the problem. */
export class HistoryFileError extends Error {
  name = "HistoryFileError";
}

/** Python's repr() of a float: the shortest round-trip digits, "1.0", "1e-05", "1e+16". */
export function pyFloatRepr(x) {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e"); // shortest, as String(x)
  const digits = mantissa.replace(".", "");
  const point = Number(exp) + 1; // x = 0.<digits> * 10^point
  let s;
  if (point <= -4 || point > 16) {
    const e = point - 1;
    const rest = digits.length > 1 ? "." + digits.slice(1) : "";
    s = `${digits[0]}${rest}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  } else if (point <= 0) s = "0." + "0".repeat(-point) + digits;
  else if (point >= digits.length) s = digits + "0".repeat(point - digits.length) + ".0";
  else s = digits.slice(0, point) + "." + digits.slice(point);
  return x < 0 ? "-" + s : s;
}

/**
 * Python's round(x, ndigits) of a float: the double nearest to x correctly rounded to ndigits
 * decimals, exact ties to even. toFixed rounds the exact value too, but ties away from zero;
 * a double is an exact tie only when it is an odd multiple of 2^-(ndigits + 1).
 */
export function pyRound(x, ndigits) {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  const odd = a * 2 ** (ndigits + 1); // exact (a power of two)
  let r;
  if (
    Number.isInteger(odd) &&
    !Number.isInteger(a * 2 ** ndigits) &&
    odd * 5 ** ndigits < 2 ** 53
  ) {
    const n = odd * 5 ** ndigits; // a * 10^ndigits = n / 2 exactly, n odd
    const even = ((n - 1) / 2) % 2 === 0 ? (n - 1) / 2 : (n + 1) / 2;
    r = Number(`${even}e-${ndigits}`);
  } else {
    r = Number(a.toFixed(ndigits));
  }
  return x < 0 ? -r : r;
}

/** Python's str.splitlines() (the file is split by it). */
function splitLines(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: \x1c-\x1e and \x85 end lines in Python
  const lines = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/u);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const show = (v) => (v === undefined ? "None" : JSON.stringify(v)); // a value in a message

/** The entries ([count, words]) of a history file (user_history._parse), or HistoryFileError. */
async function parseFile(rules, data, name, maxOrder) {
  const fail = (line, problem) => {
    const where = line ? `${name}: line ${line}` : name;
    return new HistoryFileError(`${where}: ${problem} (not a readable ${FORMAT_NAME} file)`);
  };
  let end = data.length;
  while (end > 0 && data[end - 1] === 0x0a) end--;
  const cut = end > 0 ? data.lastIndexOf(0x0a, end - 1) : -1;
  if (cut < 0) throw fail(null, "no header and entries");
  let digest;
  try {
    const trailer = JSON.parse(
      new TextDecoder("utf-8", {fatal: true}).decode(data.subarray(cut + 1, end)),
    );
    if (!isObject(trailer) || !("sha256" in trailer)) throw new TypeError("no sha256");
    digest = trailer.sha256;
  } catch {
    throw fail(null, "last line is not the checksum line: truncated?");
  }
  const body = data.subarray(0, cut + 1);
  if (digest !== (await sha256Hex(body))) {
    throw fail(null, "checksum does not match: the file was altered or damaged");
  }
  let text;
  try {
    text = new TextDecoder("utf-8", {fatal: true, ignoreBOM: true}).decode(body);
  } catch {
    throw fail(null, "not UTF-8");
  }
  const lines = splitLines(text);
  let header;
  try {
    header = JSON.parse(lines[0]);
  } catch {
    throw fail(1, "header is not JSON");
  }
  if (!isObject(header) || header.format !== FORMAT_NAME) {
    throw fail(1, `header does not say format '${FORMAT_NAME}'`);
  }
  if (header.version !== FORMAT_VERSION) {
    throw fail(1, `format version ${show(header.version)}; this reader knows ${FORMAT_VERSION}`);
  }
  if (header.entries !== lines.length - 1) {
    throw fail(1, `header says ${show(header.entries)} entries, found ${lines.length - 1}`);
  }
  let items;
  try {
    items = JSON.parse("[" + lines.slice(1).join(",") + "]"); // one call; per line to name one
  } catch {
    lines.slice(1).forEach((line, i) => {
      try {
        JSON.parse(line);
      } catch {
        throw fail(i + 2, "entry is not JSON");
      }
    });
    throw fail(null, "entries are not JSON");
  }
  const isWord = (w) => rules.wordRe.test(w);
  return items.map((item, i) => {
    const n = i + 2;
    if (!(Array.isArray(item) && item.length >= 2 && item.length <= maxOrder + 1)) {
      throw fail(n, `an entry is [count, word, ...] with 1 to ${maxOrder} words`);
    }
    const [count, ...words] = item;
    if (!(typeof count === "number" && count > 0 && count <= MAX_COUNT)) {
      throw fail(n, `count ${show(count)} is not a positive number up to 2^53`);
    }
    if (!words.every((w) => typeof w === "string")) throw fail(n, "words must be strings");
    if (
      !isWord(words[words.length - 1]) ||
      words.slice(0, -1).some((w) => w !== START && !isWord(w))
    ) {
      throw fail(n, "an entry holds something that is not a word");
    }
    if (words.slice(1).includes(START)) throw fail(n, "the sentence start may only come first");
    return [count, words.length === 1 ? words : words.map((w) => w.toLowerCase())];
  });
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

/** Bytes of an entry's line in the history file, about (user_history._entry_bytes). */
const entryBytes = (ctx, word) => 12 + 4 * (ctx.length + 1) + utf8Length(ctx.join("") + word);

/** `items` sorted by `count(item)`, largest first; equal counts keep their order. */
const byCount = (items, count) => items.sort((a, b) => count(b) - count(a));

/**
 * The last `order - 1` lowercase words of the sentence `text` ends in, with START before the
 * first word of a sentence (user_history.context_key): "Hi. See you" -> ["see", "you"], "" -> [""].
 */
export function contextKey(rules, text, order = ORDERS) {
  if (order <= 1) return [];
  const found = rules.words(rules.lastSentence(text));
  if (found.length < order - 1) found.unshift(START);
  return found.slice(-(order - 1));
}

/** Decayed counts of one user's words and word sequences (kbd_lm.history.user_history.UserHistory). */
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
    this._top = []; // the most frequent words, kept as user_history.py keeps them (null: rebuild)
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
        const key = typed.toLowerCase();
        // Too long, or no longer a word once lowercased ("İstanbul" -> "i̇stanbul", an i and a
        // combining dot, which the file format would refuse): not learned, and a break.
        if (cpLen(typed) > this.config.max_word_chars || !this.rules.wordRe.test(key)) {
          seq = [];
          return;
        }
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
    if (!key) return false; // "" is the sentence start (START), never a kept word
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
    return items.slice(0, limit).map(([w, c]) => [this.display(w), pyRound(c / scale, 4)]);
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
    return node?.kids.size ? [node.kids, node.total] : [new Map(), 0];
  }

  /**
   * True if the history learned `word` (any case): one of the words it counts, whatever
   * came before them. The predictor never autocorrects such a partial word (spec 11.3).
   */
  knows(word) {
    return this.following([])[0].has(word.toLowerCase());
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
    if (this._top === null)
      this._top = byCount([...kids.keys()], (w) => kids.get(w)).slice(0, TOP_UNIGRAMS);
    return this._top.slice(0, n);
  }

  /** Up to n most frequent lowercase words that start with `prefix`; ties in code point order. */
  startingWith(prefix, n) {
    const kids = this._root().kids;
    const items = [...kids.keys()].filter((w) => w.startsWith(prefix)).sort(cpCompare);
    return byCount(items, (w) => kids.get(w)).slice(0, n);
  }

  // ---------------------------------------------------------------- file format

  /** The history in user_history.py's file format (a Uint8Array), the bytes it writes. */
  async toBytes() {
    const scale = this._scale();
    const lines = [];
    for (const {ctx, kids} of this._next.values()) {
      for (const [w, c] of kids) {
        const count = pyRound(c / scale, 4);
        if (count > 0) {
          const words = (ctx.length ? [...ctx, w] : [this.display(w)]).join('", "');
          lines.push(`[${pyFloatRepr(count)}, "${words}"]`); // words need no JSON escaping
        }
      }
    }
    const c = this.config;
    const header =
      `{"format": "${FORMAT_NAME}", "version": ${FORMAT_VERSION}, "order": ${c.max_order}, ` +
      `"half_life": ${pyFloatRepr(c.half_life)}, "entries": ${lines.length}}`;
    const body = new TextEncoder().encode([header, ...lines].join("\n") + "\n");
    const trailer = new TextEncoder().encode(`{"sha256": "${await sha256Hex(body)}"}\n`);
    const out = new Uint8Array(body.length + trailer.length);
    out.set(body);
    out.set(trailer, body.length);
    return out;
  }

  /**
   * A history read from the file format (a Uint8Array, an ArrayBuffer or the file's text), as
   * user_history.py's from_bytes: counts as written, the clock at 0, bounds applied. Rejects with a
   * HistoryFileError naming `name`, the line and the problem (a damaged or truncated file, an
   * unknown version); the caller then starts with an empty history.
   */
  static async fromBytes(rules, data, config = {}, name = "history") {
    if (typeof data === "string") data = new TextEncoder().encode(data);
    else if (!(data instanceof Uint8Array)) data = new Uint8Array(data);
    const history = new UserHistory(rules, config);
    history._loadEntries(await parseFile(rules, data, name, history.config.max_order));
    return history;
  }

  // ---------------------------------------------------------------- internals

  _loadEntries(entries) {
    this._top = null;
    for (const [count, words] of entries) {
      const ctx = words.slice(0, -1);
      const word = words[words.length - 1];
      const key = ctx.length ? word : word.toLowerCase();
      if (!ctx.length && word !== key) this._display.set(key, word);
      this._add(ctx, key, count);
    }
    this._enforceBounds();
  }

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
      (a, b) =>
        a[0] - b[0] ||
        b[1].length - a[1].length ||
        tupleCompare(a[1], b[1]) ||
        cpCompare(a[2], b[2]),
    );
    for (const [, ctx, w] of ranked.slice(0, Math.max(excess + 16, 0))) {
      if (this._entries <= keepEntries && this.sizeBytes <= keepBytes) break;
      if (this._next.get(ctxKey(ctx))?.kids.has(w)) this._remove(ctx, w);
    }
    if (this._entries > keepEntries || this.sizeBytes > keepBytes) this._enforceBounds();
  }
}

/** "i" and "i'm" are capitalised even when only seen lowercase (kbd_lm/history/mix.py's _default_case). */
const defaultCase = (word) => (word === "i" || word.startsWith("i'") ? "I" + word.slice(1) : word);

/**
 * The model's [word, probability] list mixed with `history` for the word after `context`
 * starting with `partial` (docs/decoding.md 9.2, kbd_lm.history.mix.mix_history), best first:
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
  const add = (words) => {
    for (const w of words) found.add(w);
  };
  add(prefix ? history.startingWith(prefix, candidates) : history.frequent(candidates));
  for (const ctx of contexts.slice(1)) if (ctx) add(history.bestFollowing(ctx, candidates, prefix));
  if (prefix) found.delete(prefix); // the typed word is no completion (kbd_lm.text.normalization.completes)
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
