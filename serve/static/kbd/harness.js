// Entry points for headless runs (Playwright): the conformance vectors and keystroke latency.
// Loaded by harness.html; results go back to Python, which compares and summarises them.

import {UserHistory} from "./history.js";
import {fileFor, Predictor} from "./predictor.js";

const loaded = new Map();
// Why the typo cases are not run (Python's conformance Report prints it).
const SKIP_REASON = "typo cases (conformance version 5): this predictor does not correct typing";

async function predictor(bundleUrl, wasmDir) {
  if (!loaded.has(bundleUrl)) loaded.set(bundleUrl, Predictor.load(bundleUrl, {wasmDir}));
  return loaded.get(bundleUrl);
}

/**
 * Runs every case of the bundle's conformance vectors (the manifest's file of role
 * "conformance", conformance.jsonl) through a fresh predictor, in order
 * (a case's blocklist_add: entries added to the bundle's blocklist for that case only; its
 * learn: messages learned in order into a new, empty UserHistory, with the header's history
 * config and weights, that the suggestion then uses: docs/decoding.md 9.2; its hint: the
 * field hint sent with decodeInput and suggest).
 * Returns {header, results: [{id, context, partial, ids, suggestions}], skipped: [id],
 * skipReason, ms}: this predictor does not correct typing (docs/decoding.md, section 11), so
 * it skips the typo cases (`correct`, conformance version 5) and says why; it runs the others.
 */
async function conformance(bundleUrl, wasmDir) {
  const base = bundleUrl.endsWith("/") ? bundleUrl : bundleUrl + "/";
  const p = await predictor(bundleUrl, wasmDir);
  const file = fileFor(p.manifest, "conformance");
  if (file === null) throw new Error("the bundle's manifest lists no conformance vectors");
  const r = await fetch(base + file);
  if (!r.ok) throw new Error(`${file}: HTTP ${r.status}`);
  const [header, ...cases] = (await r.text())
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
  const t0 = performance.now();
  const results = [];
  const skipped = [];
  const bundled = p.blocklist;
  if (header.history_weights) p.historyWeights = header.history_weights;
  for (const c of cases) {
    if (c.correct) {
      skipped.push(c.id); // a typo case: no correction here
      continue;
    }
    let history = null;
    if (c.learn?.length) {
      history = new UserHistory(p.rules, header.history || {});
      for (const m of c.learn) history.learn(m.text, m.field ?? "text");
    }
    const hint = c.hint ?? null; // a field hint (conformance version 3)
    const {context, partial, ids} = p.decodeInput(c.text, hint);
    if (c.blocklist_add) p.blocklist = bundled.with(c.blocklist_add); // as an app adds words
    try {
      const suggestions = await p.suggest(c.text, c.k, history, hint);
      results.push({id: c.id, context, partial, ids, suggestions});
    } finally {
      p.blocklist = bundled;
    }
  }
  return {header, results, skipped, skipReason: SKIP_REASON, ms: performance.now() - t0};
}

/**
 * Per-keystroke suggest latency in milliseconds: `warm` texts first (not timed), then
 * every text of `texts`, in order, as the bench's keystroke replay.
 */
async function latency(bundleUrl, wasmDir, texts, warm = [], k = 3) {
  const p = await predictor(bundleUrl, wasmDir);
  for (const t of warm) await p.suggest(t, k);
  const ms = new Float64Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t0 = performance.now();
    await p.suggest(texts[i], k);
    ms[i] = performance.now() - t0;
  }
  return Array.from(ms);
}

window.kbdHarness = {conformance, latency, predictor, UserHistory}; // UserHistory: file tests
window.dispatchEvent(new Event("kbd-harness-ready"));
