// Candidate words for typed letters: the word list's trie walked with the channel's columns,
// a depth at a time (docs/decoding.md 11.3, step 2): a port of kbd_lm/typing/candidates.py.
// Kept in a module of its own: its pruning follows the spec's 11.3 as it stands, and the walk
// visits nodes and notes words in the same order as Python's, so that ties rank alike.
//
//   const trie = new WordTrie([["the", 900], ["tomorrow", 50]]);  // most frequent first
//   trie.walk(new TypedLetters("tomo", layout, params), 8, skip, false, own);
//   // Map: lowercase word -> {word, count, whole, prefix}

import {MAX_EDITS} from "./typing.js";

export const MAX_DROP = 12; // nats under the typed letters' own likelihood (candidates.py)
export const MAX_NODES = 10000; // columns computed per walk, at most (candidates.py)
export const COMPLETIONS = 4; // the most frequent words below a node kept per node
const NEG = -Infinity;

/** A sort comparator putting larger numbers first, -Infinity included (no NaN from -inf - -inf). */
export const descending = (x, y) => (y > x) - (y < x);

/** The k best scores noted, one per word; `threshold` the k-th best (candidates.py's _Best). */
class Best {
  constructor(k) {
    this.k = k;
    this.scores = new Map();
    this.threshold = NEG;
  }

  note(key, score) {
    if (this.k === null || (score <= this.threshold && !this.scores.has(key))) return;
    this.scores.set(key, Math.max(score, this.scores.get(key) ?? NEG));
    if (this.scores.size > this.k) {
      let worst = null; // the first smallest, in insertion order (Python's min)
      for (const [w, s] of this.scores) if (worst === null || s < this.scores.get(worst)) worst = w;
      this.scores.delete(worst);
    }
    if (this.scores.size === this.k) this.threshold = Math.min(...this.scores.values());
  }
}

/** True if some row a < n of `col` (typed letters left) can still reach `floor`: its best
 * cell plus the typed letters' headroom after it (spec 11.3). */
function canReach(typed, col, floor) {
  for (let a = 0; a < typed.n; a++) {
    let m = NEG;
    for (let e = 0; e <= MAX_EDITS; e++) m = Math.max(m, col[a * (MAX_EDITS + 1) + e]);
    if (m + typed.headroom[a] >= floor) return true;
  }
  return false;
}

/** A trie over lowercase words (candidates.py's WordTrie); `items`: [word, count], ranked. */
export class WordTrie {
  constructor(items) {
    this.children = [new Map()]; // node -> letter -> child, in insertion order
    this.word = [-1]; // node -> index of the word ending there, or -1
    this.char = [""]; // node -> the letter that leads to it
    this.words = []; // [display form, count]
    for (const [display, count] of items) {
      let node = 0;
      for (const ch of display.toLowerCase()) {
        let next = this.children[node].get(ch);
        if (next === undefined) {
          next = this.children.length;
          this.children[node].set(ch, next);
          this.children.push(new Map());
          this.word.push(-1);
          this.char.push(ch);
        }
        node = next;
      }
      if (this.word[node] < 0) {
        this.word[node] = this.words.length; // the first (most frequent) casing wins
        this.words.push([display, count]);
      }
    }
    // node -> its COMPLETIONS most frequent words (its own included), by count, ties in
    // order; children come after their parent, so one pass backwards fills them all
    this.top = new Array(this.children.length);
    for (let node = this.children.length - 1; node >= 0; node--) {
      const pool = this.word[node] >= 0 ? [this.word[node]] : [];
      for (const child of this.children[node].values()) pool.push(...this.top[child]);
      pool.sort((x, y) => this.words[y][1] - this.words[x][1]); // stable, as heapq.nlargest
      this.top[node] = pool.slice(0, COMPLETIONS);
    }
    this.logTop = this.top.map((t) => (t.length ? Math.log(this.words[t[0]][1]) : NEG));
  }

  /** The node spelt by lowercase `prefix`, null if no word starts so. */
  node(prefix) {
    let node = 0;
    for (const ch of prefix) {
      node = this.children[node].get(ch);
      if (node === undefined) return null;
    }
    return node;
  }

  /**
   * The words within maxDrop nats of the typed letters' own likelihood `own` (spec 11.3):
   * Map lowercase word -> {word, count, whole, prefix}; `skip(word)` true leaves a word out;
   * with `k`, a child is read only when its bound reaches the k-th best rank found; without
   * `completions`, never below the node the typed letters spell.
   */
  walk(typed, k = null, skip = null, completions = true, own = null, maxNodes = MAX_NODES) {
    const ownWhole = own ?? typed.likelihoods(typed.t.join(""))[0];
    const floor = ownWhole - MAX_DROP;
    const typedNode = completions ? -1 : (this.node(typed.t) ?? -1);
    const st = {found: new Map(), best: new Best(k), skipped: new Map(), skip};
    const gain = typed.headroom;
    const spread = Math.log(MAX_EDITS + 1); // whole() sums MAX_EDITS + 1 cells
    const n = typed.n;
    const start = typed.first();
    // the frontier, one depth: its nodes, their columns and their parents', the best prefix
    let front = [{node: 0, col: start, before: null, prefix: typed.whole(start)}];
    let read = 0;
    while (front.length && read < maxNodes) {
      const threshold = st.best.threshold;
      const kids = []; // {kid, parent (in front), bound}
      front.forEach((f, i) => {
        // the most f's column can still give: best cell of a row plus the headroom after it
        let future = NEG;
        for (let a = 0; a <= n; a++) {
          let m = NEG;
          for (let e = 0; e <= MAX_EDITS; e++) m = Math.max(m, f.col[a * (MAX_EDITS + 1) + e]);
          future = Math.max(future, m + gain[a]);
        }
        future = Math.max(f.prefix, future + spread);
        for (const kid of this.children[f.node].values()) {
          const bound = this.logTop[kid] + future;
          if (bound >= threshold && kid !== typedNode) kids.push({kid, parent: i, bound});
        }
      });
      let chosen = kids;
      if (kids.length > maxNodes - read) {
        // the budget: the best bounds first (ties in trie order), then back in trie order
        const order = kids
          .map((_, i) => i)
          .sort((x, y) => descending(kids[x].bound, kids[y].bound));
        chosen = order
          .slice(0, maxNodes - read)
          .sort((x, y) => x - y)
          .map((i) => kids[i]);
      }
      if (!chosen.length) break;
      read += chosen.length;
      const depth = chosen.map(({kid, parent}) => {
        const f = front[parent];
        const prev = f.before !== null ? this.char[f.node] : null;
        const col = typed.next(f.before, f.col, prev, this.char[kid]);
        const whole = typed.whole(col);
        return {kid, f, col, whole, reach: Math.max(f.prefix, whole)};
      });
      this._noteDepth(st, depth, floor, k === null);
      // a cell with typed letters left to read that can still reach the floor: the child
      // is in the next frontier
      front = depth
        .filter((d) => canReach(typed, d.col, floor))
        .map((d) => ({node: d.kid, col: d.col, before: d.f.col, prefix: d.reach}));
    }
    return st.found;
  }

  // Notes a depth's words: each child whose whole reaches the floor gives its own word (with
  // the best whole down its path) and its most frequent words below (with its whole).
  _noteDepth(st, depth, floor, everyTop) {
    const threshold = st.best.threshold; // (before this depth's words)
    const tops = depth.map((d) => everyTop || this.logTop[d.kid] + d.whole >= threshold);
    depth.forEach((d, i) => {
      if (!(d.whole >= floor)) return;
      if (this.word[d.kid] >= 0) this._add(st, this.word[d.kid], d.whole, d.reach);
      if (tops[i]) for (const w of this.top[d.kid]) this._add(st, w, NEG, d.whole);
    });
  }

  // Notes word `index` with these likelihoods (each kept at its best) unless skip leaves it out.
  _add(st, index, whole, prefix) {
    const [display, count] = this.words[index];
    if (st.skip !== null) {
      if (!st.skipped.has(index)) st.skipped.set(index, st.skip(display));
      if (st.skipped.get(index)) return;
    }
    const key = display.toLowerCase();
    let entry = st.found.get(key);
    if (entry === undefined) {
      entry = {word: display, count, whole, prefix};
      st.found.set(key, entry);
    } else {
      entry.whole = Math.max(entry.whole, whole);
      entry.prefix = Math.max(entry.prefix, prefix);
    }
    st.best.note(key, Math.log(count) + entry.prefix);
  }
}
