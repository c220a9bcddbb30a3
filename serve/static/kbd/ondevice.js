// The demo page's "on this device" mode: suggestions computed in this browser by the
// JavaScript predictor on LiteRT.js, from the bundle the server serves; no /v1/predict-next.
// The predictor (model, tokenizer, WASM runtime) loads on first use. A personal history
// (history.js) lives in this page only: it learns each message sent, and is gone on reload.

import {Predictor} from "./predictor.js";

const here = (path) => new URL(path, document.baseURI).href;
let loading = null;
let history = null; // the UserHistory of the messages sent in this page

function predictor() {
  if (loading === null) {
    loading = Predictor.load(here("v1/bundle/"), {
      wasmDir: here("static/vendor/litertjs-core/wasm/"),
    });
    loading.catch(() => (loading = null)); // a failed load is tried again next time
  }
  return loading;
}

window.kbdOnDevice = {
  async suggest(text, k) {
    return (await predictor()).suggest(text, k, history);
  },

  /** Learn a sent message into the page's history; returns how many words were learned. */
  async learn(text) {
    const p = await predictor();
    if (history === null) history = p.newHistory();
    return history.learn(text);
  },

  /** Forget every word the history learned. */
  clearHistory() {
    if (history !== null) history.clear();
  },

  /** Entries (words and word sequences) the history keeps. */
  get historySize() {
    return history === null ? 0 : history.size;
  },
};
