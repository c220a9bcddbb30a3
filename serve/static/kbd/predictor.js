// The in-browser predictor: docs/decoding.md implemented on LiteRT.js (WASM CPU).
// A port of kbd_lm/inference/predictor.py, checked against the bundle's conformance vectors.
//
//   import {Predictor} from "./predictor.js";
//   const p = await Predictor.load("v1/bundle/", {wasmDir: "static/vendor/litertjs-core/wasm/"});
//   await p.suggest("see you ", 3);  // [{word: "later", probability: 0.21}, ...]
//   const h = p.newHistory(); h.learn("lunch at Quattro?");
//   await p.suggest("see you at Qu", 3, h);  // the user's history mixed in (history.js)
//   await p.suggest("Dear ", 3, null, "email");  // a field hint (p.hints: what the bundle reads)
//   await p.suggest("see you tomorow", 3, {correct: true});  // typo correction (spec 11)
//   // [{word: "tomorrow", probability: 0.93, kind: "correction", autocorrect: true}, ...]
//
// LiteRT.js cannot run a dynamic batch dimension, so the model runs through the bundle's
// fixed-batch signatures: advance1 / step1 for the context, stepB (the smallest B that holds
// the rows) for the beams. Rows are independent; unused rows are zeros.
//
// Every constant of the search (the beam width, the batch sizes, how much context is read, the
// field hint names, ...) is the bundle's: manifest.json's "decoding" (docs/decoding.md,
// section 0; kbd_lm/inference/decoding.py). Files are found by their role in the manifest's
// "files" (kbd_lm/inference/bundle.py's file table), never by a name of their own.

import {loadAndCompile, loadLiteRt, Tensor} from "@litertjs/core";

import {Lexicon, mixLexicon} from "./lexicon.js";
import {Blocklist} from "./blocklist.js";
import {Corrections, correctable} from "./correction.js";
import {HISTORY_WEIGHTS, mixHistory, UserHistory} from "./history.js";
import {cpLen, splitText, TextRules} from "./text.js";
import {Unigram, WORD_START} from "./tokenizer.js";
import {DEFAULT_LAYOUT, TypingSpec} from "./typing.js";
import {wordLogprobs} from "./wordprob.js";

export const MANIFEST_FILE = "manifest.json"; // the bundle's entry point: it names every other file
// With correction on: the completions of the typed letters that corrections compete with
// (kbd_lm/inference/predictor.py's CORRECTION_CANDIDATES).
const CORRECTION_CANDIDATES = 8;

let liteRt = null; // one WASM runtime per page, shared by every predictor

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

const fetchJson = async (url) => (await fetchOk(url)).json();

const cpSlice = (s, start, end) => Array.from(s).slice(start, end).join("");

/** The name of the bundle's file of `role` (manifest "files"), or null when it has none. */
export function fileFor(manifest, role) {
  const found = Object.entries(manifest.files || {}).find(([, entry]) => entry.role === role);
  return found ? found[0] : null;
}

/** The name of a file every bundle this predictor reads has: a clear error when it is missing. */
function requiredFile(manifest, role) {
  const name = fileFor(manifest, role);
  if (name === null) {
    throw new Error(
      `${MANIFEST_FILE} lists no file of role '${role}': not a bundle this predictor reads (re-export it)`,
    );
  }
  return name;
}

/** Indices of the n largest values of arr, largest first. */
function topIndices(arr, n) {
  const idx = [];
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (idx.length === n && v <= arr[idx[n - 1]]) continue;
    let j = Math.min(idx.length, n - 1);
    if (idx.length < n) idx.push(i);
    while (j > 0 && arr[idx[j - 1]] < v) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  return idx;
}

function index(prefix, exact, key, id) {
  const cps = Array.from(key);
  if (!exact.has(key)) exact.set(key, []);
  exact.get(key).push(id);
  for (let j = 1; j <= cps.length; j++) {
    const p = cps.slice(0, j).join("");
    if (!prefix.has(p)) prefix.set(p, []);
    prefix.get(p).push(id);
  }
}

/** Per-piece tables (kbd_lm.inference.pieces.piece_tables): word starts, continuations, boundaries. */
function pieceTables(tok, rules, eosId) {
  const n = tok.vocabSize;
  const t = {
    text: new Array(n),
    starts: [],
    conts: [],
    boundary: [],
    startPrefix: new Map(),
    startExact: new Map(),
    contPrefix: new Map(),
    contExact: new Map(),
  };
  const alnum = (ch) => rules.isAlnum(ch.codePointAt(0));
  for (let i = 0; i < n; i++) {
    const piece = tok.pieces[i];
    const special = tok.isControlOrUnknown(i) || tok.isByte(i);
    const wordStart = piece.startsWith(WORD_START);
    const body = wordStart ? piece.slice(WORD_START.length) : piece;
    t.text[i] = special ? "" : body;
    if (special) {
      if (i === eosId || tok.isByte(i)) t.boundary.push(i);
      continue;
    }
    const chars = Array.from(body);
    const wordish = chars.length > 0 && chars.every((ch) => ch === "'" || alnum(ch));
    if (wordStart) {
      t.boundary.push(i);
      if (body === "" || (wordish && alnum(chars[0]))) {
        t.starts.push(i);
        index(t.startPrefix, t.startExact, body.toLowerCase(), i);
      }
    } else if (wordish) {
      t.conts.push(i);
      index(t.contPrefix, t.contExact, body.toLowerCase(), i);
    } else {
      t.boundary.push(i); // punctuation and symbols end a word
    }
  }
  return t;
}

/** Throws a clear error when a bundle file lacks one of `paths` ("a.b.c"): re-export it. */
function requireFields(file, doc, paths) {
  for (const path of paths) {
    let node = doc;
    for (const key of path.split("."))
      node = node != null && typeof node === "object" ? node[key] : undefined;
    if (node === undefined || node === null) {
      throw new Error(`${file} has no '${path}': not a bundle this predictor reads (re-export it)`);
    }
  }
}

/** The model's signatures at the bundle's fixed batch sizes, state owned by the caller. */
class StepModel {
  constructor(compiled, manifest) {
    const sigs = manifest.signatures || {};
    this.batches = manifest.decoding.batch_sizes; // ascending, 1 first
    const missing = this.batches.filter((b) => !(`step${b}` in sigs));
    if (missing.length) {
      throw new Error(
        `the bundle has no fixed-batch signature step${missing[0]} (decoding.batch_sizes): re-export it`,
      );
    }
    this.compiled = compiled;
    this.hasAdvance = "advance1" in sigs;
    this.P = sigs.step1.inputs.h.shape[1];
    this.N = sigs.step1.inputs.c.shape[1];
    this.V = sigs.step1.outputs.logprobs.shape[1];
  }

  batchFor(rows) {
    const b = this.batches.find((x) => x >= rows);
    if (b === undefined) throw new Error(`${rows} rows exceed the largest fixed batch`);
    return b;
  }

  /** Runs signature `name` (B rows); returns copies {logp?, h, c} as Float32Arrays. */
  async run(name, b, ids, h, c) {
    const inputs = {
      ids: new Tensor(ids, [b]),
      h: new Tensor(h, [b, this.P]),
      c: new Tensor(c, [b, this.N]),
    };
    let out;
    try {
      out = await this.compiled.run(name, inputs);
    } finally {
      for (const t of Object.values(inputs)) t.delete();
    }
    const res = {h: out.h_out.toTypedArray(), c: out.c_out.toTypedArray()};
    if (out.logprobs) res.logp = out.logprobs.toTypedArray();
    for (const t of Object.values(out)) t.delete();
    return res;
  }

  step(b, ids, h, c) {
    return this.run(`step${b}`, b, ids, h, c);
  }

  advance1(id, h, c) {
    return this.run(this.hasAdvance ? "advance1" : "step1", 1, Int32Array.of(id), h, c);
  }
}

export class Predictor {
  /**
   * Loads manifest.json, then the files it lists by role: the tokenizer as data
   * (tokenizer.json), the model and, when listed, the blocklist, the word list and the typing
   * channel (typing.json: without it the predictor does not correct), from
   * `bundleUrl` (a folder URL). `wasmDir`: LiteRT.js's wasm/ folder. `beamWidth` (default: the
   * bundle's, never more) and `cacheSize` (context states kept; default: the bundle's) as the
   * Python predictor's.
   */
  static async load(bundleUrl, {wasmDir, beamWidth = null, cacheSize = null} = {}) {
    const base = bundleUrl.endsWith("/") ? bundleUrl : bundleUrl + "/";
    const manifest = await fetchJson(base + MANIFEST_FILE);
    checkManifest(manifest);
    const tokJson = await fetchJson(base + requiredFile(manifest, "tokenizer_json"));
    if (manifest.ngram) {
      throw new Error("the bundle mixes in an n-gram: not implemented by the browser predictor");
    }
    // One load per page; a failed one (a WASM fetch that failed) is tried again next time.
    if (!liteRt) {
      liteRt = loadLiteRt(wasmDir).catch((err) => {
        liteRt = null;
        throw err;
      });
    }
    await liteRt;
    const blocklistFile = fileFor(manifest, "blocklist");
    const lexiconFile = fileFor(manifest, "lexicon");
    const typingFile = fileFor(manifest, "typing");
    const [compiled, blocked, lexicon, typing] = await Promise.all([
      loadAndCompile(base + requiredFile(manifest, "model"), {accelerator: "wasm"}),
      blocklistFile ? fetchOk(base + blocklistFile).then((r) => r.text()) : "",
      lexiconFile ? Lexicon.load(base + lexiconFile) : null,
      typingFile ? fetchJson(base + typingFile) : null,
    ]);
    const args = [beamWidth, cacheSize, blocked, lexicon, typing];
    return new Predictor(manifest, tokJson, compiled, ...args);
  }

  constructor(
    manifest,
    tokJson,
    compiled,
    beamWidth = null,
    cacheSize = null,
    blocklistText = "",
    lexicon = null,
    typingJson = null,
  ) {
    checkManifest(manifest);
    requireFields("tokenizer.json", tokJson, [
      "text.apostrophes",
      "normalizer",
      "pieces",
      "special_ids.bos",
      "special_ids.eos",
      "special_ids.unk",
    ]);
    requireFields(MANIFEST_FILE, manifest, [
      "signatures.step1.inputs.h.shape",
      "signatures.step1.inputs.c.shape",
      "signatures.step1.outputs.logprobs.shape",
    ]);
    this.manifest = manifest;
    this.decoding = manifest.decoding; // the search's constants (kbd_lm/inference/decoding.py)
    this.lexicon = lexicon; // the bundle's word list for completions, if it ships one
    this.rules = new TextRules(tokJson.text);
    // Offensive words never suggested (none without the file); an app changes it with
    // predictor.blocklist.add(word) / .remove(word) / .enabled = false.
    this.blocklist = Blocklist.parse(this.rules, blocklistText);
    this.historyWeights = HISTORY_WEIGHTS; // the history mix's mu and beta (history.js)
    this.tok = new Unigram(tokJson);
    this.bosId = tokJson.special_ids.bos;
    // hint -> control id, for the hints the model was trained with (none for older bundles)
    this.hintIds = new Map(Object.entries(tokJson.hints || {}));
    this.model = new StepModel(compiled, manifest);
    this.beamWidth = checkBeamWidth(beamWidth, this.decoding.beam_width);
    this.pieces = pieceTables(this.tok, this.rules, tokJson.special_ids.eos);
    this.cache = new Map(); // context ids (joined) -> {logp, h, c}, least recently used first
    this.cacheSize = cacheSize ?? this.decoding.context_cache;
    this.queue = Promise.resolve(); // calls run one at a time (they share the cache)
    // The layouts, channel and thresholds of correction (typing.js); null: no typing.json, no
    // correction. The word list's trie is built on the first corrected call.
    this.typing = typingJson ? TypingSpec.fromJson(typingJson) : null;
    this.corrections = null;
  }

  /**
   * Up to k distinct whole words, best first: [{word, probability, kind, autocorrect}]
   * (kbd_lm.inference.predictor.Predictor.suggest). `history`: the user's UserHistory
   * (history.js), mixed in at word level, or null. `hint`: the kind of text field, one of the
   * bundle's decoding.field_hints, or null. `kind`: "next", "completion" or "correction".
   * Options, as the third argument ({history, hint, correct, layout, taps}) or the fifth:
   * `correct` (off by default: the answers of spec sections 1-9 exactly) also proposes, inside
   * a word, the words the typed letters may be a mistyping of on the bundle's keyboard
   * `layout` ("qwerty" by default), with the touch points `taps` ([x, y] in key units per
   * letter of the partial word) when given; `autocorrect` marks what space commits (spec 11).
   */
  suggest(text, k = 3, history = null, hint = null, options = {}) {
    let opts = {history, hint, ...options};
    if (history !== null && !(history instanceof UserHistory)) opts = {hint, ...history};
    const {correct = false, layout = DEFAULT_LAYOUT, taps = null} = opts;
    const hintId = this._hintId(opts.hint ?? null); // a bad hint throws here, before the queue
    if (correct && this.typing) this.typing.layout(layout); // so does an unknown layout
    const typing = {correct: Boolean(correct), layout, taps};
    const run = this.queue.then(() => this._suggest(text, k, opts.history ?? null, hintId, typing));
    this.queue = run.catch(() => {});
    return run;
  }

  /** The field hints this bundle reads (empty for a bundle trained without them). */
  get hints() {
    return [...this.hintIds.keys()];
  }

  // The control id of a hint: null for no hint or one the bundle was not trained with; a name
  // outside decoding.field_hints is an error (kbd_lm.inference.predictor.Predictor._hint_id).
  _hintId(hint) {
    if (hint === null || hint === undefined) return null;
    const names = this.decoding.field_hints;
    if (!names.includes(hint))
      throw new Error(
        `unknown hint ${JSON.stringify(hint)}: use one of ${names.join(", ")} or none`,
      );
    return this.hintIds.has(hint) ? this.hintIds.get(hint) : null;
  }

  /** A new, empty UserHistory for this predictor's text rules (`config`: HistoryConfig fields). */
  newHistory(config = {}) {
    return new UserHistory(this.rules, config);
  }

  /** {context, partial, ids}: what suggest reads from the text (ids: the model's input). */
  decodeInput(text, hint = null) {
    const [context, partial] = splitText(this.rules, text, this.decoding);
    return {context, partial, ids: this._ids(context, this._hintId(hint))};
  }

  async _suggest(text, k, history, hintId, typing) {
    if (k <= 0) return [];
    const correct = typing.correct && this.typing !== null;
    const n = correct ? Math.max(k, CORRECTION_CANDIDATES) : k;
    const [context, partial] = splitText(this.rules, text, this.decoding);
    const ctx = await this._context(context, hintId);
    // Blocked words leave the search (they neither count towards the k best nor set the
    // floor), and whatever is mixed in later is filtered again (Python's Predictor.suggest).
    const blocked = (word) => this.blocklist.blocks(word, context);
    const searched = await this._search(ctx, partial, n, blocked);
    let words = mixLexicon(searched, this.lexicon, partial);
    if (history) words = mixHistory(words, history, context, partial, this.historyWeights);
    words = this.blocklist.filter(words, context);
    if (correct && this.lexicon && correctable(this.rules, text, partial)) {
      this.corrections ??= new Corrections(this.lexicon);
      return this.corrections.suggest(partial, {
        exact: words,
        prior: async (ws) => {
          const values = await wordLogprobs(this, context, ws, hintId);
          return new Map(ws.map((w, i) => [w, values[i]]));
        },
        k,
        spec: this.typing,
        layout: this.typing.layout(typing.layout),
        taps: typing.taps,
        blocked,
        // a word the history learned is never autocorrected (the user undid its correction)
        learned: Boolean(history?.knows(partial)),
      });
    }
    const atStart = this.rules.atSentenceStart(context);
    return words.slice(0, k).map(([w, probability]) => {
      let word = w;
      // keep what was typed
      if (partial) word = partial + cpSlice(word, cpLen(partial));
      else if (atStart) word = cpSlice(word, 0, 1).toUpperCase() + cpSlice(word, 1);
      return {word, probability, kind: partial ? "completion" : "next", autocorrect: false};
    });
  }

  _ids(context, hintId = null) {
    const start = hintId === null ? [this.bosId] : [this.bosId, hintId];
    const ids = context ? [...start, ...this.tok.encode(context)] : start;
    const {max_context_tokens: most, short_context_tokens: short} = this.decoding;
    return ids.length > most ? ids.slice(-short) : ids;
  }

  async _context(context, hintId = null) {
    const key = this._ids(context, hintId);
    let start = 0;
    let state = null;
    for (let n = key.length; n > 0; n--) {
      const k = key.slice(0, n).join(",");
      state = this.cache.get(k);
      if (state) {
        start = n;
        this.cache.delete(k); // most recently used goes last
        this.cache.set(k, state);
        break;
      }
    }
    if (start === key.length) return state;
    let h = state ? state.h : new Float32Array(this.model.P);
    let c = state ? state.c : new Float32Array(this.model.N);
    for (const id of key.slice(start, -1)) ({h, c} = await this.model.advance1(id, h, c));
    const out = await this.model.step(1, Int32Array.of(key[key.length - 1]), h, c);
    this.cache.set(key.join(","), out);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value);
    return out;
  }

  _matching(prefix, exact, want, have) {
    const rest = Array.from(want).slice(cpLen(have));
    const out = [...(prefix.get(rest.join("")) || [])];
    for (let j = 0; j < rest.length; j++) out.push(...(exact.get(rest.slice(0, j).join("")) || []));
    return out;
  }

  // The k-th best word so far, and never less than minRatio times the best word or the typed
  // letters as a whole word (`typed`, a log-probability), whichever is likelier.
  static _floor(finals, k, typed, minRatio) {
    const probs = [...finals.values()].map((f) => f[2]).sort((a, b) => b - a);
    const best = Math.max(probs.length ? probs[0] : 0, Math.exp(typed));
    if (best <= 0) return -Infinity;
    const relative = Math.log(best * minRatio);
    return probs.length >= k ? Math.max(Math.log(probs[k - 1]), relative) : relative;
  }

  async _search(ctx, partial, k, blocked = () => false) {
    const P = this.pieces;
    const {V, P: dimP, N} = this.model;
    const width = this.beamWidth;
    const D = this.decoding;
    const want = partial.toLowerCase();
    const wantLen = cpLen(want);
    const first = want ? this._matching(P.startPrefix, P.startExact, want, "") : P.starts;
    if (first.length === 0) return [];
    let beams = topIndices(
      first.map((i) => ctx.logp[i]),
      width,
    ).map((j) => ({
      text: P.text[first[j]],
      score: ctx.logp[first[j]],
      piece: first[j],
      h: ctx.h,
      c: ctx.c,
    }));
    const finals = new Map(); // lowercase word -> [best display, best logp, total probability]
    // log P(the typed letters are the whole word): no suggestion, but it bounds the search.
    let typed = -Infinity;
    for (let step = 0; step < D.max_word_pieces && beams.length; step++) {
      const n = beams.length;
      const b = this.model.batchFor(n);
      const ids = new Int32Array(b);
      const h = new Float32Array(b * dimP);
      const c = new Float32Array(b * N);
      beams.forEach((beam, r) => {
        ids[r] = beam.piece;
        h.set(beam.h, r * dimP);
        c.set(beam.c, r * N);
      });
      const out = await this.model.step(b, ids, h, c);
      const logp = out.logp; // [b * V]
      const short = beams.map((beam) => cpLen(beam.text) < wantLen);
      for (let r = 0; r < n; r++) {
        const text = beams[r].text;
        // Only words longer than the typed letters are suggestions; the typed letters as a whole
        // word only raise the floor.
        const len = cpLen(text);
        if (len < Math.max(wantLen, 1) || !this.rules.wordRe.test(text) || blocked(text)) continue;
        let end = 0; // P(word ends here): the boundary pieces' probabilities
        for (const i of P.boundary) end += Math.exp(logp[r * V + i]);
        const whole = beams[r].score + Math.log(Math.max(end, D.min_boundary_prob));
        if (len > wantLen) addFinal(finals, text, whole);
        else typed = Math.max(typed, whole);
      }
      const floor = Predictor._floor(finals, k, typed, D.min_ratio);
      const live = [];
      for (let r = 0; r < n; r++) if (beams[r].score > floor) live.push(r);
      if (!live.length) break;
      let cand = [];
      if (live.some((r) => short[r])) {
        for (const r of live) {
          const nxt = short[r]
            ? this._matching(P.contPrefix, P.contExact, want, beams[r].text.toLowerCase())
            : P.conts;
          const sc = nxt.map((i) => beams[r].score + logp[r * V + i]);
          for (const j of topIndices(sc, width)) cand.push([sc[j], r, nxt[j]]);
        }
        cand.sort((x, y) => y[0] - x[0] || y[1] - x[1] || y[2] - x[2]);
        cand = cand.slice(0, width).filter((x) => x[0] > floor);
      } else {
        const C = P.conts.length;
        const sc = new Float64Array(live.length * C); // [live, continuation pieces]
        live.forEach((r, a) => {
          for (let j = 0; j < C; j++) sc[a * C + j] = beams[r].score + logp[r * V + P.conts[j]];
        });
        for (const f of topIndices(sc, width)) {
          if (sc[f] > floor) cand.push([sc[f], live[Math.floor(f / C)], P.conts[f % C]]);
        }
      }
      if (live.every((r) => short[r])) cand = cand.slice(0, D.covering_width);
      beams = cand.map(([score, r, i]) => ({
        text: beams[r].text + P.text[i],
        score,
        piece: i,
        h: out.h.subarray(r * dimP, (r + 1) * dimP),
        c: out.c.subarray(r * N, (r + 1) * N),
      }));
    }
    return [...finals.values()].sort((x, y) => y[2] - x[2]).map((f) => [f[0], f[2]]);
  }
}

/** A clear error for a manifest without the parts this predictor reads (format 2 and older). */
function checkManifest(manifest) {
  if (!manifest || typeof manifest.decoding !== "object" || manifest.decoding === null) {
    const version = manifest?.format_version ? ` (bundle format ${manifest.format_version})` : "";
    throw new Error(
      `${MANIFEST_FILE} has no 'decoding'${version}: not a bundle this predictor reads (re-export it)`,
    );
  }
  requireFields(MANIFEST_FILE, manifest, ["files", ...DECODING_FIELDS.map((f) => `decoding.${f}`)]);
}

// What the search reads of manifest.json's "decoding" (kbd_lm/inference/decoding.py).
const DECODING_FIELDS = [
  "beam_width",
  "batch_sizes",
  "max_context_chars",
  "context_stride",
  "max_context_tokens",
  "short_context_tokens",
  "max_word_pieces",
  "min_ratio",
  "covering_width",
  "min_boundary_prob",
  "context_cache",
  "field_hints",
];

/** The beam width asked for (null: the bundle's); more than the bundle's is a clear error. */
function checkBeamWidth(asked, bundles) {
  if (asked === null || asked === undefined) return bundles;
  if (!(Number.isInteger(asked) && asked >= 1 && asked <= bundles)) {
    throw new Error(
      `a beam width of ${asked} is not possible with this bundle, whose beam width is ${bundles} (decoding.beam_width); use 1 to ${bundles}`,
    );
  }
  return asked;
}

function addFinal(finals, text, logp) {
  const key = text.toLowerCase();
  const entry = finals.get(key);
  if (entry === undefined) {
    finals.set(key, [text, logp, Math.exp(logp)]);
  } else {
    if (logp > entry[1]) {
      entry[0] = text;
      entry[1] = logp;
    }
    entry[2] += Math.exp(logp);
  }
}
