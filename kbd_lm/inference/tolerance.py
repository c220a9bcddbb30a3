"""When two decoders give the same answer: the conformance tolerance (docs/decoding.md, 10).

Two word probabilities ``p`` and ``q`` agree when ``|p - q| <= abs + rel * max(p, q)``. Export
measures how far each runtime it verifies is from the reference answers (the Python
predictor on LiteRT) and writes a tolerance per runtime into the conformance header
(:func:`runtime_tolerance`); a port compares with the tolerance of the runtime it runs on
(:func:`tolerance_for`; the browser's LiteRT.js uses LiteRT's).

>>> compare([{"word": "a", "probability": 0.5}, {"word": "b", "probability": 0.4999}],
...         [{"word": "b", "probability": 0.4999}, {"word": "a", "probability": 0.5}])
>>> compare([{"word": "a", "probability": 0.5}], [{"word": "c", "probability": 0.2}])
'rank 1: a 0.500000 expected, c 0.200000 given'
>>> runtime_tolerance(0.075)
{'rel': 0.094, 'abs': 1e-05, 'measured': 0.075}
"""

from __future__ import annotations

import math
from collections.abc import Iterator

# The floor, and the tolerance of a runtime the header does not list (a port on another
# CPU; every conformance file before version 4). One step of the model differs by about 1e-6
# between runtimes (kernels, WASM vs x86-64), but over a long context such a difference
# sometimes flips the rounding of a dynamically quantized activation: on the default-size
# model word probabilities then differ by up to 2.5% in the browser's LiteRT.js (median
# 4e-7), and words below 1e-4 by a little more (12%, i.e. 4e-6, which ``abs`` covers).
TOLERANCE = {"rel": 0.06, "abs": 1e-5}
# The largest ``rel`` a runtime may need (docs/decoding.md, 10). Beyond it the check says
# little (two words a sixth apart could change places) and export fails. The default-size
# model needs up to 7.5% in tflite-runtime 2.14 (5.2% on an earlier export); a 64-cell
# dynamic model suggests other words in tflite-runtime than in LiteRT, and is refused.
MAX_REL = 0.15
# The largest ``abs`` a runtime may need (docs/decoding.md, 10): words under half a percent.
# In a context the model knows nothing about (a line in capitals, say), the last suggestions
# sit near 0.2% and the beam searches of two runtimes may find different words there: the
# default model (0.9.0, 75M tokens) in tflite-runtime 2.14 offers "is" (0.39%) where LiteRT
# offers "I" (0.18%) after "EXCEPT ". Such answers agree within ``abs`` while every word a
# keyboard shows with some confidence still has to agree within ``rel``.
MAX_ABS = 0.005
# Headroom over the difference export measures on its own CPU, for other CPUs' kernel paths
# (the browser's WASM kernels differ from x86-64 LiteRT's by up to 2.5% on the same bundle).
# A choice, not a measurement.
MARGIN = 1.25


class ToleranceError(ValueError):
    """A runtime whose answers differ from the reference beyond :data:`MAX_REL`."""


def _close(p: float, q: float, tol: dict) -> bool:
    return abs(p - q) <= tol["abs"] + tol["rel"] * max(p, q)


def _pairs(expected: list[dict], given: list[dict]) -> Iterator[tuple[float, float, str]]:
    """Every pair of probabilities that must agree for ``given`` to be ``expected``'s answer,
    with what to say when they do not: (p, q, reason).

    At every rank; for every word in both lists; for a word in one list only, with the other
    list's last probability (a tie at the top-k cut-off); and for two words whose order
    differs, with each other in ``expected`` (only near-ties change places).
    """
    exp = {e["word"]: e["probability"] for e in expected}
    got = {g["word"]: g["probability"] for g in given}
    for rank, (e, g) in enumerate(zip(expected, given, strict=True), 1):
        why = (
            f"rank {rank}: {e['word']} {e['probability']:.6f} expected, "
            f"{g['word']} {g['probability']:.6f} given"
        )
        yield e["probability"], g["probability"], why
    for mine, theirs, label in ((got, exp, "given"), (exp, got, "expected")):
        last = min(theirs.values(), default=0.0)
        for word, p in mine.items():
            if word in theirs:
                why = f"{word}: probability {exp[word]:.6f} expected, {got[word]:.6f} given"
                yield p, theirs[word], why
            else:
                yield (
                    p,
                    last,
                    f"{word} ({p:.6f}) only {label}, not a tie at the cut-off ({last:.6f})",
                )
    order = {g["word"]: i for i, g in enumerate(given)}
    both = [e["word"] for e in expected if e["word"] in order]
    for i, a in enumerate(both):
        for b in both[i + 1 :]:
            if order[b] < order[a]:
                why = f"{a} ({exp[a]:.6f}) and {b} ({exp[b]:.6f}) change places, not a near-tie"
                yield exp[a], exp[b], why


def compare(expected: list[dict], given: list[dict], tol: dict = TOLERANCE) -> str | None:
    """None when ``given`` suggestions (``[{"word", "probability"}]``, best first) are the
    same answer as ``expected`` within ``tol``, else why not.

    Same answer: as many words, the same words in the same order, every probability within
    the tolerance of its counterpart; except that two words whose probabilities are within
    the tolerance of each other may change places, and a word may give way to another at the
    top-k cut-off when both are within the tolerance of the last word. Typo cases: the same
    marks too (:func:`compare_marks`).
    """
    if len(expected) != len(given):
        return f"{len(expected)} words expected, {len(given)} given"
    for p, q, why in _pairs(expected, given):
        if not _close(p, q, tol):
            return why
    return compare_marks(expected, given)


def compare_marks(expected: list[dict], given: list[dict]) -> str | None:
    """None when the words of both lists have the same ``kind`` and the same word (or none)
    is the ``autocorrect`` one (typo cases, conformance version 5), else why not. Lists
    without those marks (every other case) agree.

    >>> e = [{"word": "the", "kind": "correction", "autocorrect": True}]
    >>> compare_marks(e, [{**e[0], "autocorrect": False}])
    'autocorrect: the expected, none given'
    """
    kinds = {e["word"]: e.get("kind") for e in expected}
    for g in given:
        if g["word"] in kinds and g.get("kind") != kinds[g["word"]]:
            return f"{g['word']}: kind {kinds[g['word']]} expected, {g.get('kind')} given"
    want, got = ([s["word"] for s in side if s.get("autocorrect")] for side in (expected, given))
    if want != got:
        return (
            f"autocorrect: {', '.join(want) or 'none'} expected, {', '.join(got) or 'none'} given"
        )
    return None


def needed_rel(expected: list[dict], given: list[dict], abs_tol: float = TOLERANCE["abs"]) -> float:
    """The smallest ``rel`` with which :func:`compare` (at ``abs_tol``) finds the two answers
    the same; ``inf`` when no ``rel`` does (a different number of words).

    >>> a, b = {"word": "a", "probability": 0.5}, {"word": "a", "probability": 0.45}
    >>> round(needed_rel([a], [b]), 5)
    0.09998
    """
    if len(expected) != len(given):
        return math.inf
    need = 0.0
    for p, q, _ in _pairs(expected, given):
        gap = abs(p - q) - abs_tol
        if gap > 0:
            need = max(need, gap / max(p, q))
    return need


def needed_abs(expected: list[dict], given: list[dict], rel: float) -> float:
    """The smallest ``abs`` with which :func:`compare` (at ``rel``) finds the two answers the
    same; ``inf`` when no ``abs`` does (a different number of words).

    >>> a, b = {"word": "a", "probability": 0.004}, {"word": "b", "probability": 0.002}
    >>> round(needed_abs([a], [b], rel=0.1), 6)
    0.0016
    """
    if len(expected) != len(given):
        return math.inf
    return max((abs(p - q) - rel * max(p, q) for p, q, _ in _pairs(expected, given)), default=0)


def runtime_tolerance(measured: float, measured_abs: float | None = None) -> dict:
    """The header's tolerance for a runtime whose answers need ``rel`` = ``measured`` (at the
    floor's ``abs``, or at ``abs`` = ``measured_abs`` when given): ``rel`` = ``MARGIN *
    measured`` rounded up to 0.001, at least :data:`TOLERANCE`'s and at most :data:`MAX_REL`;
    ``abs`` likewise (rounded up to 1e-5, at most :data:`MAX_ABS`). Raises
    :class:`ToleranceError` when either is over its cap.

    >>> runtime_tolerance(0.05, 0.002)
    {'rel': 0.063, 'abs': 0.0025, 'measured': 0.05, 'measured_abs': 0.002}
    """
    if math.isinf(measured):
        raise ToleranceError("no tolerance makes them agree (different numbers of words)")
    if not measured <= MAX_REL:
        raise ToleranceError(
            f"they need a tolerance of {measured:.1%}, over the cap of {MAX_REL:.0%}"
        )
    rel = min(MAX_REL, max(TOLERANCE["rel"], math.ceil(measured * MARGIN * 1000) / 1000))
    entry = {"rel": rel, "abs": TOLERANCE["abs"], "measured": round(measured, 6)}
    if measured_abs is None:
        return entry
    if not measured_abs <= MAX_ABS:
        raise ToleranceError(
            f"they need an absolute tolerance of {measured_abs:.4f}, over the cap of {MAX_ABS}"
        )
    need = math.ceil(measured_abs * MARGIN * 1e5) / 1e5
    return {**entry, "abs": min(MAX_ABS, max(TOLERANCE["abs"], need)), "measured_abs": measured_abs}


def tolerance_for(header: dict, runtime: str) -> dict:
    """The tolerance ``{"rel", "abs"}`` a decoder on ``runtime`` ("litert", "tflite-runtime")
    is checked with: the header's entry for it (version 4), else the header's single
    ``tolerance`` (every version), else :data:`TOLERANCE`.

    >>> tolerance_for({"tolerances": {"litert": {"rel": 0.06, "abs": 1e-5}}}, "litert")
    {'rel': 0.06, 'abs': 1e-05}
    >>> tolerance_for({"tolerance": {"rel": 0.06, "abs": 1e-5}}, "tflite-runtime")
    {'rel': 0.06, 'abs': 1e-05}
    """
    tol = (header.get("tolerances") or {}).get(runtime) or header.get("tolerance") or TOLERANCE
    return {"rel": float(tol["rel"]), "abs": float(tol["abs"])}
