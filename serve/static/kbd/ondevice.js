// The demo page's "on this device" mode: suggestions computed in this browser by the
// JavaScript predictor on LiteRT.js, from the bundle the server serves; no /v1/predict-next.
// The predictor (model, tokenizer, WASM runtime) loads on first use. A personal history
// (history.js) learns each message sent; it is kept across reloads in this browser's
// localStorage under STORAGE_KEY, as the text of user_history.py's file format, written after
// each learned message ("clear history" deletes it too). Nothing of it goes to the server.
// A damaged stored copy is discarded with a console warning: the history starts empty.
// Typing is corrected on the QWERTY layout (docs/decoding.md 11): the page marks corrections
// and lets space commit the autocorrection; a correction the user undoes teaches the history
// the word typed (learnWord), and a word the history knows is no longer autocorrected.

import {Predictor} from "./predictor.js";
import {UserHistory} from "./history.js";

export const STORAGE_KEY = "kbd-lm.history"; // the stored history file (localStorage)
const LAYOUT = "qwerty"; // the demo's keyboard: a computer's letter rows are QWERTY's
const here = (path) => new URL(path, document.baseURI).href;
let loading = null;
let restoring = null; // a Promise of the page's UserHistory, restored from localStorage
let history = null; // that history, once restored
let saving = Promise.resolve(); // writes to localStorage, in order

function predictor() {
  if (loading === null) {
    loading = Predictor.load(here("v1/bundle/"), {
      wasmDir: here("static/vendor/litertjs-core/wasm/"),
    });
    loading.catch(() => (loading = null)); // a failed load is tried again next time
  }
  return loading;
}

/** The stored history, or an empty one (the stored copy is dropped if it is damaged). */
async function restore(p) {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch (err) {
    console.warn(`kbd-lm: cannot read the stored history (${err.message || err})`);
  }
  if (stored !== null) {
    try {
      return await UserHistory.fromBytes(p.rules, stored, {}, `localStorage ${STORAGE_KEY}`);
    } catch (err) {
      console.warn(`kbd-lm: ${err.message || err}; discarded, starting with an empty history`);
      store(null);
    }
  }
  return p.newHistory();
}

function userHistory() {
  if (restoring === null) {
    restoring = predictor().then(restore);
    restoring.then(
      (h) => (history = h),
      () => (restoring = null),
    );
  }
  return restoring;
}

/** Write `h` (null: delete the stored copy) after the writes before it. */
function store(h) {
  saving = saving.then(async () => {
    try {
      if (h === null) localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, new TextDecoder().decode(await h.toBytes()));
    } catch (err) {
      console.warn(`kbd-lm: the history was not stored (${err.message || err})`);
    }
  });
  return saving;
}

window.kbdOnDevice = {
  /**
   * [{word, probability, kind, autocorrect}]: the strip for `text`, typing corrected; no
   * autocorrection of a partial word the history learned (the user undid its correction).
   */
  async suggest(text, k, hint = null) {
    const [p, h] = await Promise.all([predictor(), userHistory()]);
    // a partial word the history learned is not autocorrected (the predictor's rule)
    return p.suggest(text, k, {history: h, hint, correct: true, layout: LAYOUT});
  },

  /** Learn a word whose correction the user undid (a message of that word), then store it. */
  async learnWord(word) {
    return this.learn(word);
  },

  /** True if the history learned `word` (any case). */
  async knows(word) {
    return (await userHistory()).knows(word);
  },

  /** Learn a sent message into the history, then store it; returns the words learned. */
  async learn(text) {
    const h = await userHistory();
    const n = h.learn(text);
    await store(h);
    return n;
  },

  /** Forget every word the history learned, stored copy included. */
  async clearHistory() {
    (await userHistory()).clear();
    await store(null);
  },

  /** Entries (words and word sequences) the history keeps. */
  get historySize() {
    return history === null ? 0 : history.size;
  },

  /** Resolves when the stored history was read (and after every write so far). */
  async ready() {
    await userHistory();
    await saving;
  },
};
