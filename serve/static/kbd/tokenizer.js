// sentencepiece's unigram encoder over the bundle's tokenizer.json (docs/decoding.md, step 3).
//
// Same result as SentencePieceProcessor.encode on already-normalised text: whitespace escaped
// to "▁" with a dummy prefix, a Viterbi over the pieces' float32 scores in which, for each end
// position, the first best candidate wins (start positions ascending, then shorter pieces
// first), an unknown character scoring min(score) - 10 and falling back to its UTF-8 bytes.
//
//   const tok = new Unigram(tokenizerJson);
//   tok.encode("see you")  // [ids...], no BOS/EOS

export const WORD_START = "\u2581";
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;
const BYTE = 6;

export class Unigram {
  constructor(json) {
    if (json.format !== "kbd-lm-tokenizer" || json.type !== "sentencepiece-unigram") {
      throw new Error("not a kbd-lm sentencepiece-unigram tokenizer.json");
    }
    const norm = json.normalizer;
    if (
      norm.treat_whitespace_as_suffix ||
      norm.remove_extra_whitespaces ||
      norm.name !== "identity"
    ) {
      throw new Error(`unsupported sentencepiece normaliser settings: ${JSON.stringify(norm)}`);
    }
    this.addDummyPrefix = norm.add_dummy_prefix;
    this.escapeWhitespaces = norm.escape_whitespaces;
    this.byteFallback = norm.byte_fallback;
    this.unkScore = Math.fround(norm.unk_score);
    this.specialIds = json.special_ids;
    this.unkId = json.special_ids.unk;
    const n = json.pieces.length;
    this.pieces = new Array(n);
    this.types = new Uint8Array(n);
    this.scores = new Float32Array(n);
    this.ids = new Map(); // piece -> id, for the pieces sentencepiece matches in text
    this.byteIds = new Int32Array(256).fill(-1);
    this.maxLen = 1;
    json.pieces.forEach(([piece, score, type], id) => {
      this.pieces[id] = piece;
      this.types[id] = type;
      this.scores[id] = score;
      if (type === USER_DEFINED) throw new Error("user-defined pieces are not supported");
      if (type === NORMAL || type === UNUSED) {
        this.ids.set(piece, id);
        this.maxLen = Math.max(this.maxLen, Array.from(piece).length);
      } else if (type === BYTE) {
        this.byteIds[parseInt(piece.slice(3, 5), 16)] = id;
      }
    });
    if (this.byteFallback && this.byteIds.includes(-1)) {
      throw new Error("tokenizer.json: byte fallback without all 256 byte pieces");
    }
  }

  get vocabSize() {
    return this.pieces.length;
  }

  isByte(id) {
    return this.types[id] === BYTE;
  }

  isControlOrUnknown(id) {
    return this.types[id] === CONTROL || this.types[id] === UNKNOWN;
  }

  /** Piece ids of normalised text, without BOS/EOS. */
  encode(text) {
    if (!text) return [];
    let s = this.escapeWhitespaces ? text.replaceAll(" ", WORD_START) : text;
    if (this.addDummyPrefix) s = WORD_START + s;
    const cps = Array.from(s);
    const n = cps.length;
    const best = new Float64Array(n + 1); // float32 values: best path score ending here
    const from = new Int32Array(n + 1).fill(-1); // where the last piece of that path starts
    const last = new Int32Array(n + 1); // its id
    for (let i = 0; i < n; i++) {
      const base = best[i];
      let single = false;
      let piece = "";
      for (let len = 1; len <= this.maxLen && i + len <= n; len++) {
        piece += cps[i + len - 1];
        const id = this.ids.get(piece);
        if (id === undefined || this.types[id] === UNUSED) continue;
        const score = Math.fround(this.scores[id] + base);
        const end = i + len;
        if (from[end] === -1 || score > best[end]) {
          best[end] = score;
          from[end] = i;
          last[end] = id;
        }
        if (len === 1) single = true;
      }
      if (!single) {
        const score = Math.fround(this.unkScore + base);
        if (from[i + 1] === -1 || score > best[i + 1]) {
          best[i + 1] = score;
          from[i + 1] = i;
          last[i + 1] = this.unkId;
        }
      }
    }
    const path = [];
    for (let end = n; end > 0; end = from[end]) path.push([from[end], end, last[end]]);
    path.reverse();
    const out = [];
    const utf8 = new TextEncoder();
    for (const [start, end, id] of path) {
      if (id === this.unkId && this.byteFallback) {
        for (const b of utf8.encode(cps.slice(start, end).join(""))) out.push(this.byteIds[b]);
      } else {
        out.push(id);
      }
    }
    return out;
  }
}
