// The keyboard layouts and the touch-typing channel of docs/decoding.md 11.1-11.2: a port of
// kbd_lm/typing/layouts.py and kbd_lm/typing/channel.py, read from the bundle's typing.json
// (role "typing", kbd_lm/typing/spec.py owns its format).
//
//   const spec = TypingSpec.fromJson(typingJson);
//   const typed = new TypedLetters("teh", spec.layout("qwerty"), spec.channel);
//   typed.likelihoods("the");  // [whole, prefix]: about [-5.54, -5.54]
//
// A column is a Float64Array of (n + 1) * (MAX_EDITS + 1) log-probabilities, cell [a][e] at
// a * (MAX_EDITS + 1) + e: the first a typed letters typed with e edits (spec 11.2).

export const MAX_EDITS = 2; // omissions, insertions and swaps per word (kbd_lm.typing.channel)
export const DEFAULT_LAYOUT = "qwerty"; // kbd_lm.typing.layouts.DEFAULT_LAYOUT
const FORMAT = "kbd-lm-typing"; // kbd_lm/typing/spec.py's FORMAT and VERSION
const VERSION = 1;
const CHANNEL_FIELDS = [
  "touch_spread",
  "omission",
  "insertion",
  "doubled",
  "transposition",
  "missing_apostrophe",
];
const NEG = -Infinity;
const E1 = MAX_EDITS + 1; // cells per row of a column

/** numpy's logaddexp: log(exp(x) + exp(y)) without overflow, the same float. */
export function logaddexp(x, y) {
  if (y === NEG) return x; // (what numpy's formula gives then, without computing it)
  if (x === NEG) return y;
  if (x === y) return x + Math.LN2;
  const d = x - y;
  return d > 0 ? x + Math.log1p(Math.exp(-d)) : y + Math.log1p(Math.exp(d));
}

const log0 = (p) => (p > 0 ? Math.log(p) : NEG);

// erfc(x) for 0 <= x < ERF_SERIES_END is 1 - erf(x) from erf's series of positive terms; past
// it, Laplace's continued fraction, which needs 196 terms at 1 (fewer further out). Measured
// against Python's math.erfc on [0, 26] by steps of 0.005: at most 2.6e-15 relative with the
// switch at 1, 1.1e-14 at 1.5 and 1.6e-13 at 2 (1 - erf loses digits as erfc gets small).
const ERF_SERIES_END = 1;

// exp(-x^2) without the rounding of x^2 (past x = 20, one unit of it would be 1e-13 of the
// result): x^2 = hi + lo exactly (Dekker's product, x split at 2^27 + 1).
function expMinusSquare(x) {
  const c = 134217729 * x;
  const xh = c - (c - x);
  const xl = x - xh;
  const hi = x * x;
  const lo = xh * xh - hi + 2 * xh * xl + xl * xl;
  return Math.exp(-hi) * Math.exp(-lo);
}

/**
 * The complementary error function in double precision (JavaScript has none), within a few
 * units of 1e-15 (relative) of Python's math.erfc where erfc is a normal double (x < 26.5);
 * erfc(-x) = 2 - erfc(x).
 *   erfc(0) = 1, erfc(1) = 0.157299207050285..., erfc(10) = 2.088487583762545e-45
 */
export function erfc(x) {
  if (Number.isNaN(x)) return x;
  if (x < 0) return 2 - erfc(-x);
  if (x === Infinity) return 0;
  if (x < ERF_SERIES_END) {
    // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)), every term positive
    let term = x;
    let sum = x;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * expMinusSquare(x) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
  // evaluated from the front by the modified Lentz method
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return expMinusSquare(x) / Math.sqrt(Math.PI) / f;
}

/** P(lo <= X < hi) for X ~ Normal(mean, spread^2), from the nearer tail (channel.py's _normal_mass). */
export function normalMass(lo, hi, mean, spread) {
  const a = (lo - mean) / spread;
  const b = (hi - mean) / spread;
  if (a > 0) return 0.5 * (erfc(a / Math.SQRT2) - erfc(b / Math.SQRT2));
  return 0.5 * (erfc(-b / Math.SQRT2) - erfc(-a / Math.SQRT2));
}

/** A keyboard's letter rows in key units (spec 11.1; kbd_lm/typing/layouts.py's format). */
export class Layout {
  constructor(doc) {
    if (doc?.format !== "kbd-lm-layout" || doc.version !== 1) {
      throw new Error("typing.json: a layout that is not kbd-lm-layout version 1");
    }
    this.name = String(doc.name);
    this.keyWidth = doc.key_width ?? 1;
    this.keyHeight = doc.key_height ?? 1;
    this.rows = doc.rows.map((r) => ({keys: Array.from(r.keys), offset: r.offset ?? 0}));
    this.index = new Map(); // key -> its number, in reading order
    this.centres = []; // [x, y] by number
    this.regions = []; // [x0, x1, y0, y1] by number: rectangles stretched at the edges
    const last = this.rows.length - 1;
    this.rows.forEach((row, r) => {
      const y0 = r === 0 ? -Infinity : r * this.keyHeight;
      const y1 = r === last ? Infinity : (r + 1) * this.keyHeight;
      row.keys.forEach((key, i) => {
        this.index.set(key, this.centres.length);
        this.centres.push([row.offset + (i + 0.5) * this.keyWidth, (r + 0.5) * this.keyHeight]);
        const x0 = i === 0 ? -Infinity : row.offset + i * this.keyWidth;
        const x1 = i === row.keys.length - 1 ? Infinity : row.offset + (i + 1) * this.keyWidth;
        this.regions.push([x0, x1, y0, y1]);
      });
    });
    this.tables = new Map(); // spread -> touch table
  }

  get width() {
    return Math.max(...this.rows.map((r) => r.offset + r.keys.length * this.keyWidth));
  }

  get height() {
    return this.rows.length * this.keyHeight;
  }

  /** The key under (x, y), a point off the keys taken by the nearest key of the nearest row. */
  nearestKey(x, y) {
    const r = Math.min(Math.max(Math.floor(y / this.keyHeight), 0), this.rows.length - 1);
    const row = this.rows[r];
    const i = Math.floor((x - row.offset) / this.keyWidth);
    return row.keys[Math.min(Math.max(i, 0), row.keys.length - 1)];
  }

  /** log P(typed key t | intended key w) at `spread`, as table[t * K + w] (channel.py's touch_table). */
  touchTable(spread) {
    let table = this.tables.get(spread);
    if (table) return table;
    const K = this.centres.length;
    table = new Float64Array(K * K);
    this.centres.forEach(([cx, cy], w) => {
      this.regions.forEach(([x0, x1, y0, y1], t) => {
        const mass = normalMass(x0, x1, cx, spread) * normalMass(y0, y1, cy, spread);
        table[t * K + w] = log0(mass);
      });
    });
    this.tables.set(spread, table);
    return table;
  }
}

/** The bundle's typing.json: layouts, channel parameters and thresholds (kbd_lm/typing/spec.py). */
export class TypingSpec {
  static fromJson(doc, source = "typing.json") {
    if (!doc || doc.format !== FORMAT) throw new Error(`${source}: not a ${FORMAT} file`);
    if (doc.version !== VERSION) {
      throw new Error(`${source}: ${FORMAT} version ${doc.version} is not supported (re-export)`);
    }
    const need = (obj, name, where) => {
      const v = obj?.[name];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new Error(`${source}: ${where}.${name}: missing or not a number`);
      }
      return v;
    };
    const channel = {};
    for (const f of CHANNEL_FIELDS) channel[f] = need(doc.channel, f, "channel");
    if (!Array.isArray(doc.layouts) || !doc.layouts.length) {
      throw new Error(`${source}: layouts: expected a non-empty list`);
    }
    return new TypingSpec(
      doc.layouts.map((l) => new Layout(l)),
      channel,
      {
        autocorrectMargin: need(doc.correction, "autocorrect_margin", "correction"),
        autocorrectStripRatio: need(doc.correction, "autocorrect_strip_ratio", "correction"),
        completionBonus: need(doc.correction, "completion_bonus", "correction"),
        unlistedMin: need(doc.correction, "unlisted_min", "correction"),
      },
    );
  }

  constructor(layouts, channel, correction) {
    this.layouts = layouts;
    this.channel = channel; // ChannelParams' fields, by their Python names
    this.autocorrectMargin = correction.autocorrectMargin; // nats
    this.autocorrectStripRatio = correction.autocorrectStripRatio; // a ratio of probabilities
    this.completionBonus = correction.completionBonus; // nats
    this.unlistedMin = correction.unlistedMin; // a probability
  }

  /** The layout `name`; an error lists the names for any other. */
  layout(name) {
    const found = this.layouts.find((l) => l.name === name);
    if (found) return found;
    const names = this.layouts.map((l) => l.name).join(", ");
    throw new Error(`unknown layout ${JSON.stringify(name)}: use one of ${names}`);
  }
}

/**
 * The typed letters of one word, for the dynamic programme over intended letters (spec 11.2;
 * channel.py's TypedLetters): first() is the column before any intended letter, next() reads
 * one more, whole() of a word's column is its likelihood. `taps`: [x, y] or null per letter.
 */
export class TypedLetters {
  constructor(typed, layout, params, taps = null) {
    this.t = Array.from(typed.toLowerCase());
    const n = this.t.length;
    this.n = n;
    if (taps && taps.length !== n) throw new Error(`${taps.length} taps for ${n} typed letters`);
    this.taps = taps ? taps.map((p) => p ?? null) : new Array(n).fill(null);
    this.layout = layout;
    this.params = params;
    const area = layout.keyWidth * layout.keyHeight;
    const K = layout.centres.length;
    const t = this.t;
    // ins[a]: log-likelihood of typed letter a as an inserted (or doubled) one
    this.ins = t.map(
      (ch, a) =>
        log0(params.insertion / K + (a && ch === t[a - 1] ? params.doubled : 0)) -
        (this.taps[a] !== null ? Math.log(area) : 0),
    );
    this.logSwap = log0(params.transposition);
    this.letters = new Map(); // intended letter -> {lt, keep, logSkip, step}
    this.headroom = this._headroom();
  }

  // headroom[a]: the most typed letters a.. can still add (spec 11.3's room)   [n + 1]
  _headroom() {
    const p = this.params;
    const {index} = this.layout;
    const K = this.layout.centres.length;
    const table = this.layout.touchTable(p.touch_spread);
    const peak = -Math.log(2 * Math.PI * p.touch_spread ** 2);
    const keep = Math.log(1 - Math.min(p.omission, p.missing_apostrophe) - p.transposition);
    const halfSwap = 0.5 * log0(p.transposition);
    const room = new Float64Array(this.n + 1);
    for (let a = this.n - 1; a >= 0; a--) {
      let best = 0; // a character off the layout is typed as itself only: touch 1
      if (index.has(this.t[a])) {
        const row = index.get(this.t[a]) * K;
        best = NEG;
        for (let w = 0; w < K; w++) best = Math.max(best, table[row + w]);
      }
      const touch = this.taps[a] !== null ? Math.max(peak, best) : best;
      room[a] = room[a + 1] + Math.max(keep + touch, halfSwap + touch, this.ins[a]);
    }
    return room;
  }

  // The per-letter values of intended `char`: lt[a] = log touch(typed a | char), and log keep,
  // log skip and the edits of leaving it out (channel.py's _touch_rows and _rows).
  _letter(char) {
    let got = this.letters.get(char);
    if (got) return got;
    const p = this.params;
    const {index, centres} = this.layout;
    const K = centres.length;
    const table = this.layout.touchTable(p.touch_spread);
    const s = p.touch_spread;
    const lt = new Float64Array(this.n).fill(NEG);
    const w = index.get(char);
    for (let a = 0; a < this.n; a++) {
      const tap = this.taps[a];
      if (w === undefined) {
        if (char === this.t[a]) lt[a] = 0; // off the layout: typed as itself only
      } else if (tap !== null) {
        const [cx, cy] = centres[w];
        const d2 = (tap[0] - cx) ** 2 + (tap[1] - cy) ** 2;
        lt[a] = -d2 / (2 * s * s) - Math.log(2 * Math.PI * s * s);
      } else if (index.has(this.t[a])) {
        lt[a] = table[index.get(this.t[a]) * K + w];
      }
    }
    const skip = char === "'" ? p.missing_apostrophe : p.omission;
    got = {lt, keep: log0(1 - skip - p.transposition), logSkip: log0(skip), step: char !== "'"};
    this.letters.set(char, got);
    return got;
  }

  /** The column before any intended letter: only insertions. */
  first() {
    const col = new Float64Array((this.n + 1) * E1).fill(NEG);
    col[0] = 0;
    for (let a = 1; a <= this.n; a++) {
      for (let e = 1; e <= MAX_EDITS; e++)
        col[a * E1 + e] = col[(a - 1) * E1 + e - 1] + this.ins[a - 1];
    }
    return col;
  }

  /**
   * The column after reading intended `char` from `last` (the column before it) and `before`
   * (the one before that, null at the first letter), `prev` the letter between them: the
   * channel's exact values (no cell is cut, spec 11.3), the sums in spec 11.2's order
   * (channel.py's next_many).
   */
  next(before, last, prev, char) {
    const n = this.n;
    const out = new Float64Array((n + 1) * E1);
    const {lt, keep, logSkip, step} = this._letter(char);
    const swap = before !== null && prev !== null && n >= 2;
    const ltPrev = swap ? this._letter(prev).lt : null;
    // edits ascending: the insertion term reads cells of e - 1 edits, all final by then
    for (let e = 0; e <= MAX_EDITS; e++) {
      for (let a = 0; a <= n; a++) {
        let v = a ? last[(a - 1) * E1 + e] + keep + lt[a - 1] : NEG; // typed
        const from = step ? (e ? last[a * E1 + e - 1] : NEG) : last[a * E1 + e];
        v = logaddexp(v, from + logSkip); // left out
        if (e && a >= 1) v = logaddexp(v, out[(a - 1) * E1 + e - 1] + this.ins[a - 1]); // inserted
        if (e && swap && a >= 2) {
          const s = before[(a - 2) * E1 + e - 1] + this.logSwap + lt[a - 2] + ltPrev[a - 1];
          v = logaddexp(v, s); // swapped
        }
        out[a * E1 + e] = v;
      }
    }
    return out;
  }

  /** log P(every typed letter | the intended letters read): the last row's sum. */
  whole(col) {
    const at = this.n * E1;
    let s = col[at];
    for (let e = 1; e <= MAX_EDITS; e++) s = logaddexp(s, col[at + e]);
    return s;
  }

  /** [whole, prefix]: log P(the typed letters | `intended` as a whole word, | its start). */
  likelihoods(intended) {
    const chars = Array.from(intended.toLowerCase());
    let before = null;
    let col = this.first();
    let whole = this.whole(col);
    let best = whole;
    for (let b = 0; b < chars.length; b++) {
      const next = this.next(b ? before : null, col, b ? chars[b - 1] : null, chars[b]);
      const dead = !next.some((v) => v > NEG) && !col.some((v) => v > NEG);
      before = col;
      col = next;
      whole = this.whole(next);
      best = Math.max(best, whole);
      if (dead) return [NEG, best]; // every later column is -inf too
    }
    return [whole, best];
  }
}
