// Text rules of kbd_lm/text/normalization.py and the predictor's text split (docs/decoding.md, steps 1-2).
//
// Character classes come from the bundle's tokenizer.json ("text"): they are Python's, for
// the Unicode version its unicodedata is pinned to, so a browser with a newer Unicode still
// drops the characters Python drops. Strings are handled by code point, never by UTF-16 unit.
//
//   const rules = new TextRules(tokenizerJson.text);
//   rules.normalizePrefix("see  you ")            // "see you "
//   splitText(rules, "see yo", manifest.decoding)  // ["see", "yo"]

function hex(cp) {
  return `\\u{${cp.toString(16)}}`;
}

function inRanges(cp, starts, ends) {
  // starts/ends: sorted Int32Arrays of inclusive ranges; binary search for the last start <= cp
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= cp) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi >= 0 && cp <= ends[hi];
}

/** The inside of a RegExp character class ("u" flag) holding exactly the characters of `chars`. */
function charClass(chars) {
  return chars.replace(/[\\\][^-]/g, "\\$&");
}

function split(ranges) {
  return [Int32Array.from(ranges, (r) => r[0]), Int32Array.from(ranges, (r) => r[1])];
}

export class TextRules {
  constructor(tables) {
    if (!tables?.drop || !tables.alnum || !tables.space) {
      throw new Error("tokenizer.json has no 'text' tables (re-export the bundle)");
    }
    for (const key of ["sentence_end", "sentence_closers"]) {
      if (typeof tables[key] !== "string") {
        throw new Error(
          `tokenizer.json has no 'text.${key}': not a bundle this predictor reads (re-export it)`,
        );
      }
    }
    this.unicodeVersion = tables.unicode_version;
    [this.dropStart, this.dropEnd] = split(tables.drop);
    [this.alnumStart, this.alnumEnd] = split(tables.alnum);
    this.space = new Set(tables.space);
    this.apostrophes = new Map(Object.entries(tables.apostrophes));
    // A word character, as Python's [^\W_] / str.isalnum() under the pinned Unicode version;
    // the insides of the two classes, for other patterns (privacy.js).
    this.alnumClass = tables.alnum
      .map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`))
      .join("");
    this.spaceClass = tables.space.map(hex).join("");
    const W = `[${this.alnumClass}]`;
    this.partialRe = new RegExp(`${W}+(?:'${W}*)*$`, "u"); // the word being typed
    this.wordRe = new RegExp(`^${W}+(?:'${W}+)*$`, "u"); // a whole suggestable word
    this.wordsRe = new RegExp(`${W}+(?:'${W}+)*`, "gu"); // every word of a text
    // Where a sentence ends (kbd_lm/text/sentences.py): its marks, and the closing quotes and
    // brackets that may follow one when the next word is capitalised.
    this.sentenceEnd = Array.from(tables.sentence_end);
    this.sentenceEndClass = charClass(tables.sentence_end);
    const closers = charClass(tables.sentence_closers);
    this.atStartRe = new RegExp(
      `(^|[${this.sentenceEndClass}][${closers}]*)[${this.spaceClass}]*$`,
      "u",
    );
  }

  /** sentences.at_sentence_start: whether the context ends a sentence (or is empty). */
  atSentenceStart(context) {
    return this.atStartRe.test(context);
  }

  /**
   * sentences.last_sentence: `text` (right-stripped) after its last sentence mark when that
   * mark ends it or is followed by a space; otherwise all of it ("U.S" is no sentence end).
   */
  lastSentence(text) {
    const body = this.rstrip(text);
    const cut = Math.max(...this.sentenceEnd.map((mark) => body.lastIndexOf(mark)));
    if (cut >= 0 && (cut === body.length - 1 || this.isSpace(body.codePointAt(cut + 1)))) {
      return body.slice(cut + 1);
    }
    return body;
  }

  /** kbd_lm.text.normalization.words: the lowercased words (WORD_RE matches) of a text, in order. */
  words(text) {
    return this.typedWords(text).map((w) => w.toLowerCase());
  }

  /** The words (WORD_RE matches) of a text as typed, casing kept. */
  typedWords(text) {
    return Array.from(text.matchAll(this.wordsRe), (m) => m[0]);
  }

  /** Python's str.rstrip(): `text` without the whitespace (`space` table) at its end. */
  rstrip(text) {
    let end = text.length;
    while (end > 0 && this.isSpace(text.charCodeAt(end - 1))) end--; // spaces are all BMP
    return text.slice(0, end);
  }

  isDropped(cp) {
    return inRanges(cp, this.dropStart, this.dropEnd);
  }

  isAlnum(cp) {
    return inRanges(cp, this.alnumStart, this.alnumEnd);
  }

  isSpace(cp) {
    return this.space.has(cp);
  }

  /** kbd_lm.text.normalization.normalize: NFC, drop, fold apostrophes, collapse whitespace, strip. */
  normalize(text) {
    let out = "";
    let pendingSpace = false;
    for (const ch of text.normalize("NFC")) {
      const cp = ch.codePointAt(0);
      if (this.isDropped(cp)) continue;
      if (this.isSpace(cp)) {
        pendingSpace = true;
        continue;
      }
      if (pendingSpace && out) out += " ";
      pendingSpace = false;
      out += this.apostrophes.get(ch) ?? ch;
    }
    return out;
  }

  /** kbd_lm.text.normalization.normalize_prefix: as normalize, keeping one trailing space. */
  normalizePrefix(text) {
    const body = this.normalize(text);
    if (body && text && this.isSpace(lastCodePoint(text))) return body + " ";
    return body;
  }
}

/** Length in code points, as Python's len(). */
export const cpLen = (s) => Array.from(s).length;

export function lastCodePoint(text) {
  const last = text.codePointAt(text.length - 1);
  // a trailing low surrogate: the code point starts one unit earlier
  if (text.length >= 2 && last >= 0xdc00 && last <= 0xdfff) {
    return text.codePointAt(text.length - 2);
  }
  return last;
}

function rstripSpaces(text) {
  return text.replace(/ +$/u, "");
}

/**
 * Where the predictor starts reading a text of `length` code points:
 * kbd_lm.inference.predictor.context_start (0 up to decoding.max_context_chars, then a multiple
 * of decoding.context_stride leaving at most max_context_chars; the manifest's "decoding").
 */
export function contextStart(length, decoding) {
  const over = length - decoding.max_context_chars;
  const stride = decoding.context_stride;
  return over <= 0 ? 0 : Math.ceil(over / stride) * stride;
}

/**
 * (context before the word being typed, the partial word) of raw text before the cursor:
 * kbd_lm.inference.predictor.Predictor._split, with the bundle's `decoding`.
 */
export function splitText(rules, text, decoding) {
  const cps = Array.from(text || "");
  const start = contextStart(cps.length, decoding);
  let t = rules.normalizePrefix(cps.slice(start).join(""));
  if (start) t = t.slice(t.indexOf(" ") + 1); // less its first, maybe cut, word (all if none)
  if (!t || t.endsWith(" ")) return [rstripSpaces(t), ""];
  const m = rules.partialRe.exec(t);
  if (m === null) return [t, ""]; // ends in punctuation or a symbol: the next word follows
  return [rstripSpaces(t.slice(0, m.index)), m[0]];
}

/** Python's string order (code points), not JavaScript's (UTF-16 units). */
export function cpCompare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i) - b.codePointAt(i);
  }
  return a.length - b.length;
}
