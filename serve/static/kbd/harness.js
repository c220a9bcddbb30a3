// Entry points for headless runs (Playwright): the conformance vectors and keystroke latency.
// Loaded by harness.html; results go back to Python, which compares and summarises them.

import {Predictor} from "./predictor.js";

const loaded = new Map();

async function predictor(bundleUrl, wasmDir) {
  if (!loaded.has(bundleUrl)) loaded.set(bundleUrl, Predictor.load(bundleUrl, {wasmDir}));
  return loaded.get(bundleUrl);
}

/**
 * Runs every case of the bundle's conformance.jsonl through a fresh predictor, in order
 * (a case's blocklist_add: entries added to the bundle's blocklist for that case only),
 * except learn-then-suggest cases: this predictor has no personal history (docs/decoding.md
 * 9.2), so their ids are returned as skipped.
 * Returns {header, results: [{id, context, partial, ids, suggestions}], skipped: [id], ms}.
 */
async function conformance(bundleUrl, wasmDir) {
  const base = bundleUrl.endsWith("/") ? bundleUrl : bundleUrl + "/";
  const r = await fetch(base + "conformance.jsonl");
  if (!r.ok) throw new Error(`conformance.jsonl: HTTP ${r.status}`);
  const [header, ...cases] = (await r.text())
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
  const p = await predictor(bundleUrl, wasmDir);
  const t0 = performance.now();
  const results = [];
  const skipped = [];
  const bundled = p.blocklist;
  for (const c of cases) {
    if (c.learn && c.learn.length) {
      skipped.push(c.id);
      continue;
    }
    const {context, partial, ids} = p.decodeInput(c.text);
    if (c.blocklist_add) p.blocklist = bundled.with(c.blocklist_add); // as an app adds words
    try {
      const suggestions = await p.suggest(c.text, c.k);
      results.push({id: c.id, context, partial, ids, suggestions});
    } finally {
      p.blocklist = bundled;
    }
  }
  return {header, results, skipped, ms: performance.now() - t0};
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

window.kbdHarness = {conformance, latency, predictor};
window.dispatchEvent(new Event("kbd-harness-ready"));
