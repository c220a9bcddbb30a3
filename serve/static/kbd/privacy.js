// What a personal history may learn from committed text: a port of kbd_lm/history/privacy.py
// (docs/decoding.md 9.2, "Learning").
//
// Nothing is learned from the fields password, email, url, number and incognito. Inside
// ordinary text ("text"), spans that look like secrets (five or more digits with separators,
// e-mail addresses, URLs and bare domains, letter-and-digit tokens of 8+ characters with 2+
// digits) are cut out with the whole space-separated tokens they touch; what is left is split
// into sentences, and each sentence into runs of words.
//
//   learnableSegments(rules, "Call 555 123 4567. Ok bye")
//   // [{words: ["Call"], sentenceStart: true}, {words: ["Ok", "bye"], sentenceStart: false}]
//   learnableSegments(rules, "my pin", "password")  // []

export const SENSITIVE_FIELDS = new Set(["password", "email", "url", "number", "incognito"]);
export const LEARNED_FIELDS = new Set(["text"]);

const TLDS =
  "com|org|net|edu|gov|mil|int|io|co|uk|us|ca|au|de|fr|es|it|nl|eu|in|me|ly|app|dev|info|biz";
// What Python's (?i:...) lets an ASCII letter match besides its two cases (re's case fixes).
const CASE_FIXES = {i: "\\u{130}\\u{131}", s: "\\u{17f}", k: "\\u{212a}"};
const patterns = new WeakMap(); // TextRules -> {secret, sentenceEnd}

/** An ASCII pattern text matched as Python's (?i:...) does, without JS's `i` flag. */
function anyCase(ascii) {
  return ascii.replace(/[a-z]/g, (ch) => `[${ch}${ch.toUpperCase()}${CASE_FIXES[ch] ?? ""}]`);
}

/**
 * privacy.py's _SECRET_RE and sentences.py's SENTENCE_BREAK_RE with Python's Unicode classes
 * for `rules`' Unicode version: \w = alnum or "_", \d = Nd, \s = the `space` table, \b between them.
 */
function compile(rules) {
  const w = `[${rules.alnumClass}_]`;
  const wChars = `${rules.alnumClass}_`;
  const s = rules.spaceClass;
  const d = "\\p{Nd}"; // normalized text holds no character newer than the pinned version
  const letter = `(?:(?!${d})[${rules.alnumClass}])`; // [^\W\d_]
  const b = `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`; // \b
  const az = `a-zA-Z${CASE_FIXES.i}${CASE_FIXES.s}${CASE_FIXES.k}`; // (?i:[a-z])
  const secret = [
    `${d}(?:[${s}\\-./()]*${d}){4,}`, // five or more digits, separators allowed
    `[${wChars}.+\\-]+@[${wChars}\\-]+(?:\\.[${wChars}\\-]+)+`, // email address
    `(?:[${az}][${az}0-9+.\\-]*://|${anyCase("www")}\\.)[^${s}]+`, // URL with a scheme or www.
    `${b}[${wChars}\\-]+(?:\\.[${wChars}\\-]+)*\\.(?:${anyCase(TLDS)})${b}(?:/[^${s}]*)?`, // domain
    `${b}(?=(?:${letter}*${d}){2})(?=${w}*${letter})${w}{8,}${b}`, // letters+digits id
  ];
  return {
    secret: new RegExp(secret.join("|"), "gu"),
    sentenceEnd: new RegExp(`[${rules.sentenceEndClass}]+(?=[${s}]|$)`, "gu"), // SENTENCE_BREAK_RE
  };
}

function compiled(rules) {
  if (!patterns.has(rules)) patterns.set(rules, compile(rules));
  return patterns.get(rules);
}

/** True if text from `field` may be learned; throws for an unknown field name. */
export function checkField(field) {
  if (!SENSITIVE_FIELDS.has(field) && !LEARNED_FIELDS.has(field)) {
    const known = [...SENSITIVE_FIELDS, ...LEARNED_FIELDS].sort();
    throw new Error(`unknown field ${JSON.stringify(field)}; expected one of ${known.join(", ")}`);
  }
  return LEARNED_FIELDS.has(field);
}

/** True if `token` contains something that must never be learned (privacy.looks_secret). */
export function looksSecret(rules, token) {
  const re = compiled(rules).secret;
  re.lastIndex = 0;
  return re.test(token);
}

/**
 * [start, end, followsASecret] of the parts of normalized `text` between secret spans; a
 * span grows to the whole space-separated token(s) it touches (privacy._pieces).
 */
function pieces(rules, text) {
  const out = [];
  let pos = 0;
  let after = false;
  for (const m of text.matchAll(compiled(rules).secret)) {
    const start = Math.max((m.index > 0 ? text.lastIndexOf(" ", m.index - 1) : -1) + 1, pos);
    let end = text.indexOf(" ", m.index + m[0].length);
    if (end < 0) end = text.length;
    if (start > pos || !out.length) out.push([pos, start, after]);
    pos = Math.max(pos, end);
    after = true;
  }
  out.push([pos, text.length, after]);
  return out;
}

/**
 * The runs of words of `text` a history may learn: [{words (as typed), sentenceStart}]
 * (sentenceStart: the run starts a message or a sentence, not right after a secret); empty
 * for a sensitive field. As privacy.learnable_segments.
 */
export function learnableSegments(rules, text, field = "text") {
  if (!checkField(field)) return [];
  const normal = rules.normalize(text);
  const segments = [];
  for (const [pieceStart, pieceEnd, afterSecret] of pieces(rules, normal)) {
    const piece = normal.slice(pieceStart, pieceEnd); // as Python's pos/endpos
    let sentenceStart = !afterSecret;
    let pos = 0;
    const ends = Array.from(
      piece.matchAll(compiled(rules).sentenceEnd),
      (m) => m.index + m[0].length,
    );
    for (const end of [...ends, piece.length]) {
      const words = rules.typedWords(piece.slice(pos, end));
      if (words.length) segments.push({words, sentenceStart});
      sentenceStart = true;
      pos = end;
    }
  }
  return segments;
}
