// log P(word, then a boundary | context) of whole words through the model: the priors of
// typing correction (docs/decoding.md 11.3), a port of Predictor.next_word_logprobs in
// kbd_lm/inference/predictor.py (without an n-gram: the browser predictor reads none).
//
//   await wordLogprobs(predictor, "see you", ["soon", "later"], null);  // [-3.1, -2.7]

import {logSumExp} from "./correction.js";
import {lastCodePoint, splitText} from "./text.js";

/**
 * The model's log P(word | text) of each of `words`, case-insensitive (the word, its lowercase
 * and its capitalised forms summed), each form's pieces its tokenization as a new word, the
 * boundary after it counted. Every form's pieces run together, at most a beam's rows per
 * model run, the shortest first (as Python batches them).
 */
export async function wordLogprobs(p, text, words, hintId) {
  const ends = !text || p.rules.isSpace(lastCodePoint(text)); // ends in whitespace (or empty)
  const [context] = splitText(p.rules, ends ? text : text + " ", p.decoding);
  const ctx = await p._context(context, hintId);
  const seqs = []; // every word's forms' pieces
  const owner = []; // whose they are
  words.forEach((word, i) => {
    const cps = Array.from(word);
    const capital = cps.slice(0, 1).join("").toUpperCase() + cps.slice(1).join("").toLowerCase();
    const forms = [...new Set([word, word.toLowerCase(), capital])];
    const pieces = forms.map((f) => p.tok.encode(f).slice(0, p.decoding.max_word_pieces));
    for (const s of pieces.filter((s) => s.length).slice(0, p.beamWidth)) {
      seqs.push(s);
      owner.push(i);
    }
  });
  const done = new Float64Array(seqs.length).fill(-Infinity);
  const order = seqs.map((_, r) => r).sort((x, y) => seqs[x].length - seqs[y].length);
  for (let at = 0; at < order.length; at += p.beamWidth) {
    const rows = order.slice(at, at + p.beamWidth);
    const got = await runPieces(
      p,
      ctx,
      rows.map((r) => seqs[r]),
    );
    rows.forEach((r, j) => {
      done[r] = got[j];
    });
  }
  const rowsOf = words.map(() => []);
  owner.forEach((i, r) => {
    rowsOf[i].push(done[r]);
  });
  return rowsOf.map((values) => logSumExp(values));
}

// log P(pieces, then a boundary | ctx) of each of `seqs` (at most a beam's rows), one model
// step per piece (Predictor._run_pieces).
async function runPieces(p, ctx, seqs) {
  const {V, P: dimP, N} = p.model;
  const b = p.model.batchFor(seqs.length);
  const scores = seqs.map((s) => ctx.logp[s[0]]);
  let h = new Float32Array(b * dimP);
  let c = new Float32Array(b * N);
  for (let r = 0; r < b; r++) {
    h.set(ctx.h, r * dimP);
    c.set(ctx.c, r * N);
  }
  const done = seqs.map(() => -Infinity);
  const longest = Math.max(...seqs.map((s) => s.length));
  for (let t = 0; t < longest; t++) {
    const ids = new Int32Array(b);
    seqs.forEach((s, r) => {
      ids[r] = s[Math.min(t, s.length - 1)];
    });
    const out = await p.model.step(b, ids, h, c);
    seqs.forEach((s, r) => {
      if (t + 1 < s.length) scores[r] += out.logp[r * V + s[t + 1]];
      else if (t + 1 === s.length) {
        done[r] = scores[r] + logSumExp(p.pieces.boundary.map((i) => out.logp[r * V + i]));
      }
    });
    h = out.h;
    c = out.c;
  }
  return done;
}
