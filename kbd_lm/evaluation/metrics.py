"""Keyboard metrics for any :class:`~kbd_lm.inference.suggestion.Suggester`, and the system
comparison.

The definitions below are the contract; every system (the bundle, n-gram baselines) is
measured by the same code on the same sample of test units.

- Words: one unit (utterance) at a time; the context never crosses a unit. A word is a
  :data:`kbd_lm.text.normalization.WORD_RE` match, compared lowercased; punctuation is neither
  predicted nor counted. The context of a word is the unit's normalised text up to the start of that
  word, exactly as typed (``"Hi, how"`` -> the context of ``how`` is ``"Hi, "``).
- top-1 / top-3: the word is first / among ``suggest(context, k=3)``. Every word counts.
- KSR (keystroke savings, three suggestions): a word of length L costs j + 1 keys for the
  smallest j in 0..L-1 such that ``suggest(context + word[:j], k=3)`` holds it (the tap types
  the space too), else L + 1. KSR = 1 - sum(cost) / sum(L + 1).
- Perplexity: exp(-mean ``next_word_logprob(context, word)``).
- Completion top-3 after j = 1, 2, 3 typed letters (words longer than j letters only).
- Latency: median and p99 of each ``suggest`` call, next-word (j = 0) and completion (j >= 1).

>>> class Parrot:  # always suggests "hello"
...     def suggest(self, text, k=3): return [Suggestion("hello", 1.0)]
...     def next_word_logprob(self, text, word): return 0.0 if word == "hello" else -1.0
>>> r = evaluate_system(Parrot(), ["hello there"])
>>> r["words"], r["top1"], round(r["ksr"], 4)  # costs 1 + 6 keys instead of 6 + 6
(2, 0.5, 0.4167)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import Progress, atomic_write_text
from kbd_lm.common.stats import PERCENTILE_METHOD, percentiles
from kbd_lm.evaluation.keystrokes import KINDS, typed_words
from kbd_lm.inference.suggestion import Suggester, Suggestion  # noqa: F401  (Suggestion: doctest)
from kbd_lm.text.normalization import WORD_RE

log = logging.getLogger(__name__)

COMPLETION_LETTERS = (1, 2, 3)
FULL_NGRAM_NAME = "KN trigram (full)"


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate on, for ``kbd_lm.common.config.load_config(EvalConfig, ...)``.

    ``ngram_train_splits`` are the corpus splits the n-gram baselines are trained on.
    """

    corpus: str = "chitchat"
    split: str = "test"
    max_words: int = 5000
    seed: int = 0
    ngram_budget_bytes: int = 1_500_000
    ngram_min_count: int = 1
    ngram_train_splits: tuple[str, ...] = ("train",)
    cache_dir: str = "data"


def count_words(unit: str) -> int:
    """Number of evaluated words in a unit.

    >>> count_words("Don't stop, it's 5 o'clock!")
    5
    """
    return sum(1 for _ in WORD_RE.finditer(unit))


def sample_words(units: Iterable[str], max_words: int = 5000, seed: int = 0) -> list[str]:
    """Whole units picked at random (seeded) until they hold about ``max_words`` words.

    Units without any word are never picked. The picked units come back in corpus order; the
    last one may take the total a little over ``max_words``.

    >>> sample_words(["a b", "c", "d e f", "!!"], max_words=3, seed=1)
    ['c', 'd e f']
    """
    pool = [u for u in units if WORD_RE.search(u)]
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    picked: list[int] = []
    total = 0
    for i in order:
        if total >= max_words:
            break
        picked.append(i)
        total += count_words(pool[i])
    return [pool[i] for i in sorted(picked)]


def evaluate_system(
    system: Suggester, units: list[str], progress_label: str = "", records: list | None = None
) -> dict:
    """Keyboard metrics of ``system`` on ``units`` (see the module docstring).

    With a ``records`` list, one dict per word is appended to it (``unit`` index, ``top1``,
    ``top3``, ``keys``, ``full_keys``, ``logprob``): the paired comparisons resample them.

    Returns ``{"words", "top1", "top3", "ksr", "perplexity", "completion_top3": {"1", "2",
    "3"}, "latency_ms": {"next_word": {"p50", "p99"}, "completion": {"p50", "p99"}}}``;
    ratios are fractions in [0, 1], perplexity may be ``inf`` if a word got probability 0.
    """
    total_words = sum(count_words(u) for u in units)
    progress = Progress(f"{progress_label} words".strip(), total=total_words, logger=log)
    n = top1 = top3 = 0
    cost = full_cost = 0
    logprob_sum = 0.0
    comp_hits = dict.fromkeys(COMPLETION_LETTERS, 0)
    comp_total = dict.fromkeys(COMPLETION_LETTERS, 0)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}  # next word, completion
    max_letters = max(COMPLETION_LETTERS)

    def suggested(key) -> list[str]:
        start = time.perf_counter()
        result = system.suggest(key.text, k=3)
        times[key.kind].append(time.perf_counter() - start)
        return [s.word.lower() for s in result[:3]]

    for unit_index, unit in enumerate(units):
        for typed in typed_words(unit):
            context, word = typed.context, typed.word
            target, length = word.lower(), len(word)
            got = suggested(typed.keys[0])
            n += 1
            top1 += got[:1] == [target]
            top3 += target in got
            keys = 1 if target in got else None
            for j in range(1, length):
                if keys is not None and j > max_letters:
                    break
                hit = target in suggested(typed.keys[j])  # context + word[:j]
                if j in comp_hits:
                    comp_hits[j] += hit
                    comp_total[j] += 1
                if hit and keys is None:
                    keys = j + 1
            keys = length + 1 if keys is None else keys
            cost += keys
            full_cost += length + 1
            logprob = system.next_word_logprob(context, word)
            logprob_sum += logprob
            if records is not None:
                records.append(
                    {
                        "unit": unit_index,
                        "top1": got[:1] == [target],
                        "top3": target in got,
                        "keys": keys,
                        "full_keys": length + 1,
                        "logprob": logprob,
                    }
                )
            progress.update()
    if n:
        log.info(progress.line())
    return {
        "words": n,
        "top1": top1 / n if n else None,
        "top3": top3 / n if n else None,
        "ksr": 1.0 - cost / full_cost if full_cost else None,
        "perplexity": _perplexity(logprob_sum, n),
        "completion_top3": {
            str(j): comp_hits[j] / comp_total[j] if comp_total[j] else None
            for j in COMPLETION_LETTERS
        },
        "latency_ms": {kind: percentiles(np.asarray(t) * 1000.0) for kind, t in times.items()},
    }


def _perplexity(logprob_sum: float, n: int) -> float | None:
    if not n:
        return None
    try:
        return math.exp(-logprob_sum / n)
    except OverflowError:
        return math.inf


def _fmt_size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.2f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def format_table(results: Mapping[str, dict]) -> str:
    """A Markdown table, one row per system (ratios as fractions, times in ms).

    >>> print(format_table({"x": {"size_bytes": 1_500_000, "top1": 0.2, "top3": 0.3,
    ...     "ksr": 0.5, "perplexity": 99.0, "completion_top3": {"1": 0.4},
    ...     "latency_ms": {"next_word": {"p50": 0.1, "p99": 0.5}}}}).splitlines()[2])
    | x | 1.50 MB | 0.200 | 0.300 | 0.500 | 99.0 | 0.400 | - | - | 0.10 / 0.50 | - / - |
    """
    head = (
        "| System | Size | Top-1 | Top-3 | KSR | Perplexity | Compl@1 | Compl@2 | Compl@3 "
        "| Next-word p50 / p99 ms | Completion p50 / p99 ms |"
    )
    lines = [head, "|" + "---|" * 11]
    for name, r in results.items():
        comp = r.get("completion_top3") or {}
        lat = r.get("latency_ms") or {}
        cells = [
            name,
            _fmt_size(r.get("size_bytes")),
            _fmt(r.get("top1")),
            _fmt(r.get("top3")),
            _fmt(r.get("ksr")),
            _fmt(r.get("perplexity"), 1),
            *(_fmt(comp.get(str(j))) for j in COMPLETION_LETTERS),
            *(
                " / ".join(_fmt((lat.get(kind) or {}).get(p), 2) for p in ("p50", "p99"))
                for kind in ("next_word", "completion")
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _bundle_size(predictor) -> int:
    """Bytes a phone ships: the manifest's shipped files (model, tokenizer, n-gram if any)."""
    return predictor.bundle.manifest.shipped_bytes


def _json_safe(value):
    """JSON has no inf/nan: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def run_eval(config: EvalConfig, bundle_dir: Path | None, out_dir: Path) -> dict:
    """Compare the bundle (if given) with the full and size-matched KN trigrams.

    Trains the n-gram on ``config.ngram_train_splits`` and prunes a copy to
    ``config.ngram_budget_bytes`` (:func:`kbd_lm.evaluation.baseline.ngram_baseline`, cached in
    ``config.cache_dir``), samples ``config.max_words`` words of ``config.split`` once
    (seeded) and evaluates every system on that sample. Writes ``eval.json`` (config, sample,
    n-gram details, per-system results) and ``eval.md`` (the table) into ``out_dir``; with a
    bundle, also records its figures in its manifest. The bundle's row is named by its model
    (``"GRU 780 bundle"``). Returns what ``eval.json`` holds.
    """
    from kbd_lm.dataset.corpus import prepare
    from kbd_lm.evaluation.baseline import ngram_baseline

    systems: dict[str, Suggester] = {}
    sizes: dict[str, int] = {}
    if bundle_dir is not None:
        from kbd_lm.inference.predictor import Predictor  # loaded first: a bad bundle fails fast

        predictor = Predictor.load(bundle_dir)
        bundle_name = f"{predictor.bundle.manifest.model_name} bundle"
        systems[bundle_name] = predictor
        sizes[bundle_name] = _bundle_size(predictor)

    prepared = prepare(config.corpus, Path(config.cache_dir))
    baseline = ngram_baseline(
        prepared,
        config.ngram_budget_bytes,
        Path(config.cache_dir),
        config.ngram_train_splits,
        config.ngram_min_count,
    )
    full, small = baseline.load_full(), baseline.load()
    small_name = f"KN trigram ({config.ngram_budget_bytes / 1e6:g} MB)"
    for name, model in ((FULL_NGRAM_NAME, full), (small_name, small)):
        systems[name] = model
        sizes[name] = model.size_bytes()

    sample, n_words = _eval_sample(config, prepared)
    results: dict[str, dict] = {}
    for name, system in systems.items():
        results[name] = {**evaluate_system(system, sample, name), "size_bytes": sizes[name]}

    report = _eval_report(config, prepared, sample, n_words, baseline.info, full, small, results)
    _write_eval(Path(out_dir), config, report)
    if bundle_dir is not None:
        _record_in_manifest(bundle_dir, config, results[bundle_name])
    return report


def _eval_sample(config: EvalConfig, prepared) -> tuple[list[str], int]:
    """(units, words in them): the sample of ``config.split`` every system is scored on
    (seeded; logged)."""
    sample = sample_words(prepared.units(config.split), config.max_words, config.seed)
    n_words = sum(count_words(u) for u in sample)
    log.info(
        "eval sample: %s units, %s words of %s/%s (seed %s)",
        f"{len(sample):,}",
        f"{n_words:,}",
        config.corpus,
        config.split,
        config.seed,
    )
    return sample, n_words


def _eval_report(config: EvalConfig, prepared, sample, n_words, info, full, small, results) -> dict:
    """What ``eval.json`` holds: the config, the corpus, the sample's size, the n-grams
    (``info``: the baseline's training facts; ``full`` and ``small`` the two models) and the
    per-system ``results``."""
    from kbd_lm.evaluation.baseline import PRUNING_METHOD

    return {
        "config": dataclasses.asdict(config),
        "corpus": {"name": prepared.name, "fingerprint": prepared.fingerprint},
        "sample": {"units": len(sample), "words": n_words},
        "ngram": {
            "train_seconds": info["train_seconds"],
            "prune_seconds": info["prune_seconds"],
            "cached": info["cached"],
            "min_count": info["min_count"],
            "full": {**full.counts(), "size_bytes": full.size_bytes()},
            "pruned": {**small.counts(), "size_bytes": small.size_bytes()},
            "pruning": {"method": PRUNING_METHOD, **(info["pruning"] or {})},
        },
        "percentiles": PERCENTILE_METHOD,
        "systems": results,
    }


def _write_eval(out_dir: Path, config: EvalConfig, report: dict) -> None:
    """Write ``report`` to ``eval.json`` and its table (:func:`format_table`) under a title
    to ``eval.md``, in ``out_dir``; log the table."""
    n_words, n_units = report["sample"]["words"], report["sample"]["units"]
    table = format_table(report["systems"])
    atomic_write_text(out_dir / "eval.json", json.dumps(_json_safe(report), indent=2) + "\n")
    title = (
        f"# Keyboard evaluation: {config.corpus}/{config.split}, {n_words:,} words "
        f"({n_units:,} units, seed {config.seed}); percentiles: {PERCENTILE_METHOD}\n\n"
    )
    atomic_write_text(out_dir / "eval.md", title + table)
    log.info("evaluation (%s words):\n%s", f"{n_words:,}", table)


def _record_in_manifest(bundle_dir: Path, config: EvalConfig, result: dict) -> None:
    """Merge the bundle's figures, and what they were measured on, into its manifest."""
    from kbd_lm.inference.bundle import update_manifest_metrics

    metrics = {
        **result,
        "eval": {
            "corpus": config.corpus,
            "split": config.split,
            "seed": config.seed,
            "max_words": config.max_words,
        },
    }
    update_manifest_metrics(bundle_dir, _json_safe(metrics))
