"""Keyboard metrics per kind of text, with paired-bootstrap intervals on the differences.

``run_kinds_eval(config, bundles, out_dir)`` scores several bundles (the default, the
chitchat-only one, the ``broad`` one, ...) and two Kneser-Ney trigrams (one trained on the
whole train split of the same mixture, one pruned to the bundle budget) on the test split of
every kind of text: chat, SMS, e-mail, books, speeches, and the research-use sources. Each
row samples whole units up to ``max_words`` words (seeded; all of them when a split is
smaller); every system sees exactly the same words, so differences are paired.

A difference between two systems comes with a 95% interval from a paired bootstrap over
units (a unit is the resampling block: the words of one message are not independent):
``bootstrap`` resamples of the units, the same resample for both systems.

The macro average weighs every kind equally; its interval resamples within every kind.

A bundle trained with field hints (``Predictor.hints``) is scored twice: as ``NAME, field
hint``, each row with the hint an app would send for that kind of text (:func:`kind_hint`),
and as ``NAME`` without any. The hinted one comes first, so the differences show what the
hint buys.

With ``correct`` (``kbd-lm eval --kinds correct=true``) the first system (the first bundle,
with hints when it reads them) is scored once more with typo correction on
(``Predictor.suggest(correct=True)``) as ``NAME, correction on``, on the same exactly typed
words, and the report gains the paired differences of correction on minus off per kind
(``report["correction"]``): exact typing must not lose top-3 or keystroke savings. (Top-1
and top-3 are next words after a space, where nothing is corrected; correction acts on the
completions inside a word, hence on KSR.)

Each system's figures and per-word records on each row are kept under
``<cache_dir>/eval-cache/`` (keyed by the system's files, the sampled units and the source of
the package): running ``make eval`` again after training one more bundle scores only that
bundle, and the paired differences still see every system on the same words.

>>> kinds_of(["chitchat", "gutenberg", "bigtxt", "sotu"])
{'chat': ['chitchat'], 'books': ['gutenberg', 'bigtxt'], 'speeches': ['sotu']}
>>> kind_hint(["gutenberg", "bigtxt"]), kind_hint(["vader"])
('prose', None)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.common.stats import interval95
from kbd_lm.corpora.mixtures import SOURCE_HINTS
from kbd_lm.evaluation.metrics import count_words, evaluate_system, sample_words

log = logging.getLogger(__name__)

# Kinds of text, each one row: the sources (recipes) whose test splits it samples.
KINDS: dict[str, tuple[str, ...]] = {
    "chat": ("chitchat",),
    "sms": ("sms",),
    "email": ("email",),
    "books": ("gutenberg", "bigtxt"),
    "speeches": ("sotu",),
    "sentences (research)": ("sentences",),
    "brown (research)": ("brown",),
    "tweets/reviews (research)": ("vader",),
}
METRICS = ("top1", "top3", "ksr")
HINTED = ", field hint"  # the name suffix of a bundle scored with each row's hint
CORRECTED = ", correction on"  # the name suffix of the first system with typo correction on


@dataclass(frozen=True)
class KindsEvalConfig:
    """What ``make eval`` scores per kind of text."""

    mixture: str = "broad"  # the sources to evaluate on (their test splits)
    ngram_mixture: str = "default"  # the trigrams are trained on this mixture's train split
    split: str = "test"
    max_words: int = 10_000
    seed: int = 0
    bootstrap: int = 1000
    ngram_budget_bytes: int = 1_500_000
    correct: bool = False  # the first system once more with typo correction on
    cache_dir: str = "data"


def kinds_of(sources) -> dict[str, list[str]]:
    """Group recipe names into the kinds of :data:`KINDS` (those present, in that order)."""
    out: dict[str, list[str]] = {}
    for kind, members in KINDS.items():
        found = [s for s in members if s in sources]
        if found:
            out[kind] = found
    known = {s for members in KINDS.values() for s in members}
    for source in sources:  # a source of one's own (a path) is a kind of its own
        if source not in known:
            out[Path(source).name] = [source]
    return out


def kind_hint(sources) -> str | None:
    """The field hint of a kind of text: its sources' common hint, else None."""
    hints = {SOURCE_HINTS.get(s) for s in sources}
    return hints.pop() if len(hints) == 1 else None


class Hinted:
    """A predictor that sends one field hint with every call (a keyboard in one kind of field),
    with typo correction on when ``correct``.

    >>> Hinted(predictor, "email").suggest("Dear ")  # doctest: +SKIP
    """

    def __init__(self, predictor, hint: str | None, correct: bool = False) -> None:
        self.predictor, self.hint, self.correct = predictor, hint, correct

    def suggest(self, text: str, k: int = 3):
        return self.predictor.suggest(text, k, hint=self.hint, correct=self.correct)

    def next_word_logprob(self, text: str, word: str) -> float:
        return self.predictor.next_word_logprob(text, word, hint=self.hint)


def paired_interval(
    a: np.ndarray, b: np.ndarray, groups: list[np.ndarray], n: int, seed: int
) -> tuple[float, float, float]:
    """Mean of ``a - b`` per group (then averaged over groups) and its 95% bootstrap interval.

    ``a`` and ``b`` are per-unit sums ``[units, 2]`` (numerator, denominator) of a ratio
    metric; ``groups`` are the unit indices of each kind; a resample draws units with
    replacement within every group.

    >>> a = np.array([[1.0, 1], [1, 1], [0, 1], [1, 1]]); b = np.array([[0.0, 1]] * 4)
    >>> d, lo, hi = paired_interval(a, b, [np.arange(4)], 200, 0)
    >>> d, lo <= d <= hi
    (0.75, True)
    """

    def stat(idx: list[np.ndarray]) -> float:
        per = [
            a[i, 0].sum() / a[i, 1].sum() - b[i, 0].sum() / b[i, 1].sum()
            for i in idx
            if a[i, 1].sum() > 0
        ]
        return float(np.mean(per))

    point = stat(groups)
    rng = np.random.default_rng(seed)
    draws = [stat([g[rng.integers(len(g), size=len(g))] for g in groups]) for _ in range(n)]
    lo, hi = interval95(draws)
    return point, float(lo), float(hi)


def _unit_sums(records: list[dict], n_units: int) -> dict[str, np.ndarray]:
    """Per-unit (numerator, denominator) sums for top-1, top-3 and KSR."""
    sums = {m: np.zeros((n_units, 2)) for m in METRICS}
    for r in records:
        u = r["unit"]
        sums["top1"][u] += (r["top1"], 1)
        sums["top3"][u] += (r["top3"], 1)
        sums["ksr"][u] += (r["full_keys"] - r["keys"], r["full_keys"])
    return sums


def run_kinds_eval(config: KindsEvalConfig, bundles: Mapping[str, Path], out_dir: Path) -> dict:
    """Score ``bundles`` (name -> folder) and the trigrams on every kind; write a report.

    Writes ``eval-kinds.json`` and ``eval-kinds.md`` into ``out_dir`` and returns the report:
    per kind and system the metrics of :func:`kbd_lm.evaluation.metrics.evaluate_system`, the macro
    average, and the paired differences of the first bundle against every other system.
    """
    from kbd_lm.dataset.corpus import prepare_mixture

    t0 = time.monotonic()
    systems, sizes, identities = _kinds_systems(config, bundles)
    mixture = prepare_mixture(config.mixture, Path(config.cache_dir))
    rows, records = _score_kinds(config, mixture, systems, sizes, identities)
    names = list(systems)
    compared = [n for n in names if not n.endswith(CORRECTED)]
    macro = {
        name: {
            m: float(np.mean([rows[k]["systems"][name][m] for k in rows]))
            for m in (*METRICS, "perplexity")
        }
        for name in names
    }
    report = {
        "config": dataclasses.asdict(config),
        "bundles": {name: str(path) for name, path in bundles.items()},
        "rows": rows,
        "macro": macro,
        "differences": {
            "of": names[0],
            "against": _differences(config, rows, records, names[0], compared[1:]),
        },
        "seconds": time.monotonic() - t0,
    }
    corrected = [n for n in names if n.endswith(CORRECTED)]
    if corrected:  # correction on minus off, the same system
        on, off = corrected[0], corrected[0].removesuffix(CORRECTED)
        diff = _differences(config, rows, records, on, [off])[off]
        report["correction"] = {"on": on, "off": off, "difference": diff}
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "eval-kinds.json", json.dumps(report, indent=2, default=str) + "\n")
    text = format_kinds(report)
    atomic_write_text(out_dir / "eval-kinds.md", text)
    log.info("evaluation per kind of text:\n%s", text)
    return report


def _kinds_systems(
    config: KindsEvalConfig, bundles: Mapping[str, Path]
) -> tuple[dict, dict[str, int], dict[str, str]]:
    """(systems, sizes, identities), each by system name: the bundles (a hinted one twice,
    with hints first), then the full and the size-matched trigram of ``config.ngram_mixture``.

    A system's identity is what its eval-cache entries are keyed by (:func:`_bundle_identity`
    for a bundle, the file's name and size for a trigram).
    """
    from kbd_lm.dataset.corpus import prepare
    from kbd_lm.evaluation.baseline import ngram_baseline
    from kbd_lm.inference.predictor import Predictor

    cache = Path(config.cache_dir)
    systems = {}
    for name, path in bundles.items():
        predictor = Predictor.load(path)
        if predictor.hints:
            systems[name + HINTED] = predictor
        systems[name] = predictor
    if config.correct:  # the first system again, correcting (kbd_lm.inference.correction)
        first = next(iter(systems))
        systems[first + CORRECTED] = systems[first]
    sizes = {name: int(p.bundle.manifest["total_bytes"]) for name, p in systems.items()}
    identities = {name: _bundle_identity(p.bundle.manifest) for name, p in systems.items()}
    for name in identities:
        if name.endswith(CORRECTED):
            identities[name] += f" correct:{_code_fingerprint(CORRECTION_MODULES)[:16]}"
    baseline = ngram_baseline(
        prepare(config.ngram_mixture, cache), config.ngram_budget_bytes, cache
    )
    tri = {
        f"KN trigram ({config.ngram_mixture}, full)": (baseline.load_full(), baseline.full_path),
        f"KN trigram ({config.ngram_mixture}, {config.ngram_budget_bytes / 1e6:g} MB)": (
            baseline.load(),
            baseline.path,
        ),
    }
    for name, (model, path) in tri.items():
        systems[name], sizes[name] = model, model.size_bytes()
        identities[name] = f"ngram {path.name} {path.stat().st_size}"
    return systems, sizes, identities


def _score_kinds(config: KindsEvalConfig, mixture, systems, sizes, identities):
    """Score every system on every kind's sample, through the eval cache.

    Returns (rows, records): ``rows[kind]`` the kind's sources, sample size, field hint and
    per-system figures; ``records[system][kind]`` the per-word records of
    :func:`kbd_lm.evaluation.metrics.evaluate_system`, for the paired differences.
    """
    cache = Path(config.cache_dir)
    # once per run: the scoring modules do not change during it
    code = _code_fingerprint(SCORING_MODULES)
    rows: dict[str, dict] = {}
    records: dict[str, dict[str, list]] = {name: {} for name in systems}
    for kind, sources in kinds_of(mixture.sources).items():
        units = [u for s in sources for u in mixture.sources[s].units(config.split)]
        sample = sample_words(units, config.max_words, config.seed)
        words = sum(count_words(u) for u in sample)
        log.info("%s: %d units, %d words", kind, len(sample), words)
        hint = kind_hint(sources)
        rows[kind] = {
            "sources": sources,
            "units": len(sample),
            "words": words,
            "systems": {},
            "hint": hint,
        }
        for name, system in systems.items():
            identity = identities[name]
            corrected, base = name.endswith(CORRECTED), name.removesuffix(CORRECTED)
            if base.endswith(HINTED) or corrected:
                h = hint if base.endswith(HINTED) else None
                system, identity = Hinted(system, h, corrected), f"{identity} hint:{h}"
            key = _cache_key(identity, code, sample)
            result, recs = _evaluate_cached(
                cache / "eval-cache" / f"{key}.json", system, sample, f"{kind} / {name}"
            )
            rows[kind]["systems"][name] = {**result, "size_bytes": sizes[name]}
            records[name][kind] = recs
    return rows, records


def _differences(config: KindsEvalConfig, rows, records, first: str, others) -> dict:
    """The paired differences of system ``first`` against each of ``others``: other -> metric
    -> kind (and ``"macro"``) -> (difference, low, high) (:func:`paired_interval`)."""
    # The units of every kind, one after the other: kind k's are groups[k].
    offsets, total = {}, 0
    for kind in rows:
        offsets[kind] = (total, total + rows[kind]["units"])
        total += rows[kind]["units"]
    groups = [np.arange(*offsets[k]) for k in rows]
    diffs: dict[str, dict] = {}
    for other in others:
        diffs[other] = {}
        for metric in METRICS:
            a, b = [
                np.concatenate([_unit_sums(records[s][k], rows[k]["units"])[metric] for k in rows])
                for s in (first, other)
            ]
            per_kind = {
                k: paired_interval(a, b, [groups[i]], config.bootstrap, config.seed)
                for i, k in enumerate(rows)
            }
            per_kind["macro"] = paired_interval(a, b, groups, config.bootstrap, config.seed)
            diffs[other][metric] = per_kind
    return diffs


def _bundle_identity(manifest) -> str:
    """The files an app ships, by checksum: a retrained bundle is another system (re-exporting
    the same model, or regenerating its test-only files, is not)."""
    files = manifest.files
    shipped = " ".join(f"{n}:{files[n].sha256}" for n in sorted(manifest.shipped_files))
    return f"bundle {shipped} ngram:{manifest.ngram}"  # (the n-gram's share is in the manifest)


# What turns a bundle and a text into figures: a change here scores every system anew.
SCORING_MODULES = (
    "kbd_lm.inference.predictor",
    "kbd_lm.inference.pieces",
    "kbd_lm.inference.lexicon",
    "kbd_lm.inference.blocklist",
    "kbd_lm.text.tokenizer",
    "kbd_lm.text.normalization",
    "kbd_lm.inference.runtime",
    "kbd_lm.inference.suggestion",
    "kbd_lm.ngram.model",
    "kbd_lm.evaluation.keystrokes",
    "kbd_lm.evaluation.metrics",
)


# What typo correction adds to them (the system with correction on only).
CORRECTION_MODULES = (
    "kbd_lm.inference.correction",
    "kbd_lm.typing.candidates",
    "kbd_lm.typing.channel",
    "kbd_lm.typing.layouts",
    "kbd_lm.typing.spec",
)


def _code_fingerprint(modules: tuple[str, ...]) -> str:
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        digest.update(Path(importlib.util.find_spec(name).origin).read_bytes())
    return digest.hexdigest()


def _cache_key(identity: str, code: str, units: list[str]) -> str:
    digest = hashlib.sha256(identity.encode())
    digest.update(code.encode())
    for unit in units:
        digest.update(unit.encode() + b"\n")
    return digest.hexdigest()[:24]


def _evaluate_cached(path: Path, system, units: list[str], label: str) -> tuple[dict, list]:
    """``evaluate_system`` with its records, read from ``path`` when it was run before."""
    if path.is_file():
        try:
            doc = json.loads(path.read_text())
            log.info("%s: cached (%s)", label, path.name)
            return doc["result"], doc["records"]
        except (ValueError, KeyError) as err:  # damaged: score again
            log.warning("%s: ignoring %s (%s)", label, path, err)
    records: list[dict] = []
    result = evaluate_system(system, units, label, records=records)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"result": result, "records": records}, default=str))
    return result, records


def _f(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def format_kinds(report: dict) -> str:
    """Markdown: one table of metrics per kind and system, then the paired differences."""
    rows, macro = report["rows"], report["macro"]
    names = list(macro)
    out = [
        "| kind | words | system | top-1 | top-3 | KSR | perplexity | compl@1/2/3 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in rows.items():
        for name in names:
            r = row["systems"][name]
            comp = " / ".join(_f(r["completion_top3"].get(str(j))) for j in (1, 2, 3))
            out.append(
                f"| {kind} | {row['words']:,} | {name} | {_f(r['top1'])} | {_f(r['top3'])} "
                f"| {_f(r['ksr'])} | {_f(r['perplexity'], 1)} | {comp} |"
            )
    for name in names:
        m = macro[name]
        out.append(
            f"| **macro** | | {name} | {_f(m['top1'])} | {_f(m['top3'])} | {_f(m['ksr'])} "
            f"| {_f(m['perplexity'], 1)} | |"
        )
    first = report["differences"]["of"]
    out += ["", f"Differences of **{first}** against each system (paired bootstrap, 95%):", ""]
    out += ["| against | metric | " + " | ".join([*rows, "macro"]) + " |"]
    out += ["|---|---|" + "---|" * (len(rows) + 1)]
    for other, by_metric in report["differences"]["against"].items():
        for metric, per in by_metric.items():
            cells = [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in per.values()]
            out.append(f"| {other} | {metric} | " + " | ".join(cells) + " |")
    if "correction" in report:
        c = report["correction"]
        out += ["", f"Correction on minus off, **{c['off']}** (paired bootstrap, 95%):", ""]
        out += ["| metric | " + " | ".join([*rows, "macro"]) + " |"]
        out += ["|---|" + "---|" * (len(rows) + 1)]
        for metric, per in c["difference"].items():
            cells = [f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]" for d, lo, hi in per.values()]
            out.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
