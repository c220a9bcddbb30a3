// The demo page's "on this device" mode: suggestions computed in this browser by the
// JavaScript predictor on LiteRT.js, from the bundle the server serves; no /v1/predict-next.
// The predictor (model, tokenizer, WASM runtime) loads on first use.

import {Predictor} from "./predictor.js";

const here = (path) => new URL(path, document.baseURI).href;
let loading = null;

window.kbdOnDevice = {
  async suggest(text, k) {
    if (loading === null) {
      loading = Predictor.load(here("v1/bundle/"), {
        wasmDir: here("static/vendor/litertjs-core/wasm/"),
      });
      loading.catch(() => (loading = null)); // a failed load is tried again next time
    }
    return (await loading).suggest(text, k);
  },
};
