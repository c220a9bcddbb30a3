"""Conformance vectors: what the Python predictor answers, for every other decoder to match.

Export writes ``conformance.jsonl`` into the bundle (a test file: listed in the manifest,
not shipped). The first line is a header (format, Unicode version, tolerances); every other
line is one case::

    {"id": 7, "kind": "completion_2", "text": "see yo", "k": 3, "context": "see",
     "partial": "yo", "context_ids": [2, 517],
     "suggestions": [{"word": "you", "probability": 0.91}, ...]}

``context_ids`` is the model input (BOS + pieces of the context) and is checked on its own:
it pins normalisation and tokenization. The suggestions are compared with
:func:`~kbd_lm.inference.tolerance.compare`, which lets two words whose probabilities are
within the tolerance come in either order. The header's ``tolerances`` (version 4) give each
runtime export verified its own tolerance, measured (:func:`write_into_bundle`); a decoder is
checked with its runtime's (:func:`~kbd_lm.inference.tolerance.tolerance_for`).
A case may carry ``"blocklist_add": ["word", "two words"]``: entries an app adds to the
bundle's blocklist before this suggestion (and removes after it), see :func:`blocklist_cases`;
and ``"learn": [{"text": ..., "field": "text"}, ...]``: messages learned in order into a new
:class:`~kbd_lm.history.user_history.UserHistory` (the header's ``history`` config), which the
suggestion then uses with the header's ``history_weights`` (see :func:`history_cases`); and
``"hint": "email"``: the field hint sent with both ``decode_input`` and ``suggest`` (see
:func:`hint_cases`); and ``"correct": true`` with ``"layout"`` (and maybe ``"taps"``): the text
suggested with typing correction, whose suggestions also carry ``kind`` and ``autocorrect``
(version 5; see :func:`~kbd_lm.inference.conformance_cases.typo_cases`). A decoder that does
not correct skips those cases and says so (:class:`Report`).

>>> build_cases(["see you later"], per_kind=1)[0]
('empty', '', 3)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import subprocess
import sys
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kbd_lm.common.fsutil import Progress, atomic_write_text
from kbd_lm.history.user_history import HistoryConfig, UserHistory
from kbd_lm.inference.blocklist import Blocklist
from kbd_lm.inference.bundle import CONFORMANCE_FILE, Bundle, BundleError, Manifest, write

# The cases beyond plain texts (blocklist, history, hints, typos), re-exported here.
from kbd_lm.inference.conformance_cases import (  # noqa: F401
    BLOCKED_TOP,
    GENERATED_TYPO_KINDS,
    HISTORY_FIXED,
    TYPO_FIXED,
    blocklist_cases,
    hint_cases,
    history_cases,
    stable_typo_cases,
    typo_cases,
)
from kbd_lm.inference.runtime import runtime_version
from kbd_lm.inference.tolerance import (
    MAX_ABS,
    MAX_REL,
    TOLERANCE,
    ToleranceError,
    compare,
    compare_marks,
    needed_abs,
    needed_rel,
    runtime_tolerance,
    tolerance_for,
)
from kbd_lm.text.normalization import WORD_RE

log = logging.getLogger(__name__)

FILE = CONFORMANCE_FILE  # (the bundle's file table names it)
FORMAT = "kbd-lm-conformance"
# 2: cases may add to the blocklist (blocklist_add) and learn; 3: they may carry a field hint;
# 4: the header has a tolerance per runtime (tolerances); 5: typo cases (correct, layout,
# taps; suggestions with kind and autocorrect). Older versions are read as well.
VERSION = 5
NEWER_THAN_PINNED = "\U0001fae8"  # SHAKING FACE, Unicode 15.0: unassigned in Python 3.11's 14.0

# Hand-written cases: (kind, text, k). The rest come from held-out text (see build_cases).
FIXED: list[tuple[str, str, int]] = [
    ("empty", "", 3),
    ("empty", " ", 3),
    ("empty", "   \t ", 3),
    ("next_word", "see you ", 3),
    ("next_word", "see  you   ", 5),
    ("next_word", "see\tyou\n", 3),
    ("next_word", "how are you ", 1),
    ("completion_1", "I", 3),
    ("completion_2", "see yo", 3),
    ("completion_3", "thank you so muc", 5),
    # A whole word typed: its completions are longer words, never the word itself.
    ("typed_word", "see you soon", 3),
    ("typed_word", "how are you", 5),
    ("typed_word", "Hello", 3),
    ("sentence_start", "ok. ", 3),
    ("sentence_start", "Hi! ", 3),
    ("sentence_start", "really?", 3),
    ("sentence_start", 'he said "hi." ', 3),
    ("sentence_start", "ok.", 3),
    ("punctuation", "wait, ", 3),
    ("punctuation", "yes,", 3),
    ("punctuation", "(", 3),
    ("punctuation", "...", 3),
    ("punctuation", "x_y ", 3),
    ("apostrophe", "I don't ", 3),
    ("apostrophe", "I don't", 3),
    ("apostrophe", "I don'", 3),
    ("apostrophe", "it\u2019s ", 3),
    ("apostrophe", "it\u2019", 3),
    ("apostrophe", "rock'n'", 3),
    ("apostrophe", "'", 3),
    ("apostrophe", "you're a", 3),
    ("digits", "call me at 5", 3),
    ("digits", "it's 12:30 ", 3),
    ("digits", "I have 2 ", 3),
    ("digits", "the 2n", 3),
    ("digits", "2020", 3),
    ("casing", "HELLO ", 3),
    ("casing", "Hello th", 3),
    ("casing", "WHAT ARE YO", 3),
    ("non_latin", "Привет, как дела? ", 3),
    ("non_latin", "Прив", 3),
    ("non_latin", "こんにちは ", 3),
    ("non_latin", "مرحبا ", 3),
    ("non_latin", "नमस्ते ", 3),
    ("non_latin", "Café ", 3),
    ("non_latin", "Cafe\u0301 au l", 3),
    ("non_latin", "Straße ", 3),
    ("non_latin", "ΣΟΦΟΣ ", 3),
    ("emoji", "love it \U0001f600 ", 3),
    ("emoji", "\U0001f600", 3),
    ("emoji", "nice \U0001f44d\U0001f3fd ", 3),
    ("emoji", "\U0001f468\u200d\U0001f469\u200d\U0001f467 family ", 3),
    ("emoji", "\u2764\ufe0f you ", 3),
    ("emoji", f"ok {NEWER_THAN_PINNED} ", 3),
    ("emoji", f"{NEWER_THAN_PINNED}", 3),
    ("emoji", f"see {NEWER_THAN_PINNED}yo", 3),
    ("controls", "\x07bell ", 3),
    ("controls", "zero\u200bwidth ", 3),
    ("controls", "soft\u00adhyphen ", 3),
    ("controls", "private \ue000 use ", 3),
    ("controls", "\ufeffsee you ", 3),
    ("controls", "see you\u00a0", 3),
    ("controls", "see you\u3000", 3),
    ("controls", "see you\x1c", 3),
    # With a real model these reach the bundle's own blocklist (naughty-words).
    ("blocklist", "what the f", 3),
    ("blocklist", "oh sh", 3),
    ("blocklist", "you are such a ", 5),
    ("blocklist", "son of a b", 3),
]


@dataclass
class Report:
    """What :func:`check` found: counts and the first failures (case id, kind, reason)."""

    cases: int = 0
    ids_ok: int = 0
    suggestions_ok: int = 0
    failures: list[dict] = field(default_factory=list)
    skipped: int = 0  # cases not run (not counted in ``cases``), and why
    skip_reason: str = ""

    @property
    def passed(self) -> bool:
        return self.ids_ok == self.suggestions_ok == self.cases

    def summary(self) -> str:
        skipped = f"; {self.skipped} skipped: {self.skip_reason}" if self.skipped else ""
        return (
            f"{self.cases} cases: context ids {self.ids_ok} match, {self.cases - self.ids_ok} "
            f"differ; suggestions {self.suggestions_ok} match, "
            f"{self.cases - self.suggestions_ok} differ{skipped}"
        )


def build_cases(units: list[str], seed: int = 0, per_kind: int = 25) -> list[tuple[str, str, int]]:
    """(kind, text, k) cases: :data:`FIXED` plus texts cut from held-out ``units``.

    Kinds from units: ``next_word`` (cut after a space), ``completion_1`` .. ``completion_5``
    (1-5 letters of a word), ``sentence_start`` (after ". "), ``long_chars`` (more than the
    300 characters the predictor reads), ``long_tokens`` (more than 60 words),
    ``long_stride`` (cut a character before, at and after the points where the predictor's
    start moves: lengths 300 + 128 n, n = 1..3).

    >>> len(build_cases(["see you later", "thank you so much"], per_kind=2)) > len(FIXED)
    True
    """
    rng = random.Random(seed)
    pool = [u for u in units if len(WORD_RE.findall(u)) >= 2] or ["see you later"]
    cases = list(FIXED)
    for _ in range(per_kind * 2):
        unit = rng.choice(pool)
        cuts = [i + 1 for i, ch in enumerate(unit) if ch == " "] + [len(unit)]
        cut = rng.choice(cuts)
        cases.append(
            ("next_word", unit[:cut] if cut < len(unit) else unit + " ", rng.choice((3, 3, 1, 5)))
        )
    for n in range(1, 6):
        words = [(u, m) for u in pool for m in WORD_RE.finditer(u) if len(m.group(0)) > n]
        for u, m in rng.sample(words, min(per_kind, len(words))):
            cases.append((f"completion_{n}", u[: m.start() + n], 3))
    for _ in range(per_kind):
        first, second = rng.choice(pool), rng.choice(pool)
        tail = second[: rng.choice([0, 1, 2, 3])] if rng.random() < 0.5 else ""
        cases.append(("sentence_start", f"{first.rstrip('.!?')}{rng.choice('.!?')} {tail}", 3))
    for kind, long_enough in (
        ("long_chars", lambda t: len(t) > 330),
        ("long_tokens", lambda t: len(t.split()) > 60),
    ):
        for _ in range(per_kind // 2):
            text = ""
            while not long_enough(text):
                text += rng.choice(pool) + " "
            cases.append((kind, text if rng.random() < 0.5 else text + rng.choice(pool)[:2], 3))
    for n in range(1, 4):
        text = ""
        while len(text) < 302 + 128 * n:
            text += rng.choice(pool) + " "
        for length in (299 + 128 * n, 300 + 128 * n, 301 + 128 * n):
            cases.append(("long_stride", text[:length], 3))
    return cases


def answer_cases(predictor, units: list[str], seed: int = 0) -> list[dict]:
    """The cases of :func:`build_cases` (then :func:`blocklist_cases` made from their
    answers, :func:`history_cases`, :func:`hint_cases` and, when the bundle has a typing
    channel, the :func:`typo_cases` whose answers do not sit on a threshold), each with
    ``predictor``'s answer (``context``, ``partial``, ``context_ids``, ``suggestions``)."""
    cases = [
        {"id": i, "kind": kind, "text": text, "k": k}
        for i, (kind, text, k) in enumerate(build_cases(units, seed))
    ]
    results = run_python(predictor, cases)
    more = blocklist_cases(cases, results) + history_cases(units, seed) + hint_cases(units, seed)
    if predictor.typing is not None:
        more += stable_typo_cases(predictor, typo_cases(units, predictor.typing, seed), run_python)
    more = [{"id": len(cases) + i, **c} for i, c in enumerate(more)]
    cases, results = cases + more, results + run_python(predictor, more)
    for case, result in zip(cases, results, strict=True):
        case["context"], case["partial"] = result["context"], result["partial"]
        case["context_ids"], case["suggestions"] = result["ids"], result["suggestions"]
    return cases


def write_vectors(predictor, cases: list[dict], path: Path, tolerances: dict) -> int:
    """Write ``cases`` (answered by ``predictor``: :func:`answer_cases`) to ``path`` under a
    header with ``tolerances`` (runtime -> ``{"rel", "abs", "measured", "version"}``);
    return the count."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "unicode_version": unicodedata.unidata_version,
        "tolerance": TOLERANCE,  # for a runtime ``tolerances`` does not list
        "tolerances": tolerances,
        "beam_width": predictor.beam_width,
        "history": dataclasses.asdict(HistoryConfig()),
        "history_weights": dataclasses.asdict(predictor.history_weights),
        "hints": list(predictor.hints),
        "cases": len(cases),
    }
    lines = [json.dumps(header)] + [json.dumps(c, ensure_ascii=False) for c in cases]
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    log.info("conformance: %d cases -> %s", len(cases), path)
    return len(cases)


def read_vectors(path: Path) -> tuple[dict, list[dict]]:
    """(header, cases) of a ``conformance.jsonl``; a clear error for anything else."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from err
    if not lines:
        raise ValueError(f"{path}: empty file")
    docs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as err:
            raise ValueError(f"{path}:{n}: not a JSON line ({err})") from err
        if not isinstance(doc, dict):
            raise ValueError(f"{path}:{n}: expected a JSON object")
        docs.append(doc)
    header = docs[0] if docs else {}
    if header.get("format") != FORMAT or header.get("version") not in range(1, VERSION + 1):
        raise ValueError(f"{path}: not a {FORMAT} file of version 1 to {VERSION}")
    return header, docs[1:]


def compare_results(
    cases: list[dict],
    results: list[dict],
    tol: dict = TOLERANCE,
    limit_failures: int = 20,
    skipped: tuple[int, ...] | list[int] = (),
    skip_reason: str = "",
) -> Report:
    """Compare a decoder's ``results`` (``{"id", "ids", "suggestions"}`` per case, as
    ``[{"word", "probability"}]``, with ``kind`` and ``autocorrect`` for typo cases) with the
    ``cases``: context ids first, then suggestions. The cases whose ids are in ``skipped``
    (a decoder without correction skips typo cases) are counted apart, with the reason."""
    by_id = {r["id"]: r for r in results}
    left_out = set(skipped)
    cases = [c for c in cases if c["id"] not in left_out]
    report = Report(cases=len(cases), skipped=len(left_out), skip_reason=skip_reason)
    for case in cases:
        result = by_id.get(case["id"])
        if result is None:
            why = "no result"
        else:
            ids_ok = list(result["ids"]) == case["context_ids"]
            report.ids_ok += ids_ok
            diff = compare(case["suggestions"], result["suggestions"], tol)
            report.suggestions_ok += diff is None
            bad_ids = None if ids_ok else f"context ids {result['ids']} != {case['context_ids']}"
            why = "; ".join(x for x in (bad_ids, diff) if x)
        if why and len(report.failures) < limit_failures:
            report.failures.append({"id": case["id"], "kind": case["kind"], "reason": why})
    return report


def run_python(predictor, cases: list[dict]) -> list[dict]:
    """The Python predictor's results on ``cases``, in the form :func:`compare_results` reads."""
    results = []
    progress = Progress("conformance cases", total=len(cases), logger=log)
    for case in cases:
        hint = case.get("hint")
        decoded = predictor.decode_input(case["text"], hint=hint)
        history = None
        if case.get("learn"):
            history = UserHistory()
            for message in case["learn"]:
                history.learn(message["text"], message.get("field", "text"))
        typing = case_typing(case)
        with _blocking(predictor, case.get("blocklist_add")):
            got = predictor.suggest(case["text"], case["k"], history, hint, **typing)
        results.append(case_result(case, decoded, got))
        progress.update()
    return results


def case_typing(case: dict) -> dict:
    """The keyword arguments of ``suggest`` for ``case``: none, or for a typo case (version 5)
    correction on the case's layout with its taps.

    >>> case_typing({"text": "see yo"}), case_typing({"correct": True, "layout": "qwerty"})
    ({}, {'correct': True, 'layout': 'qwerty', 'taps': None})
    """
    if not case.get("correct"):
        return {}
    return {"correct": True, "layout": case["layout"], "taps": case.get("taps")}


def case_result(case: dict, decoded: tuple[str, str, list[int]], got: list) -> dict:
    """One result as :func:`compare_results` reads it: ``case``'s id, ``decoded`` (context,
    partial word, model input ids, as ``decode_input`` returns them) and the suggestions
    ``got`` (a typo case's with their ``kind`` and ``autocorrect``).

    >>> from kbd_lm.inference.suggestion import Suggestion
    >>> got = [Suggestion("you", 0.91, "completion")]
    >>> case_result({"id": 7}, ("see", "yo", [2, 517]), got)["suggestions"]
    [{'word': 'you', 'probability': 0.91}]
    """
    suggestions = []
    for s in got:
        suggestions.append({"word": s.word, "probability": s.probability})
        if case.get("correct"):
            suggestions[-1].update(kind=s.kind, autocorrect=s.autocorrect)
    context, partial, ids = decoded
    return {
        "id": case["id"],
        "context": context,
        "partial": partial,
        "ids": ids,
        "suggestions": suggestions,
    }


@contextmanager
def _blocking(predictor, entries: list[str] | None):
    """``predictor`` with ``entries`` added to its blocklist, as an app adds words."""
    if not entries:
        yield
        return
    saved = predictor.blocklist
    predictor.blocklist = Blocklist([*saved.entries(), *entries], enabled=saved.enabled)
    try:
        yield
    finally:
        predictor.blocklist = saved


def check(predictor, path: Path, runtime: str = "litert") -> Report:
    """Run ``predictor`` (on ``runtime``) on every case of ``path`` and compare (ids, then
    suggestions, within the header's tolerance for ``runtime``)."""
    header, cases = read_vectors(path)
    return compare_results(cases, run_python(predictor, cases), tolerance_for(header, runtime))


def check_bundle(bundle_dir: Path, runtime: str = "litert") -> Report:
    """:func:`check` the Python predictor, on ``runtime``, against the bundle's vectors."""
    from kbd_lm.inference.predictor import Predictor

    bundle = Bundle.load(bundle_dir)
    path = bundle.path / FILE
    if not path.is_file():
        raise BundleError(f"{path}: no conformance vectors (re-export the bundle)")
    return check(Predictor(bundle, runtime=runtime), path, runtime)


def measure(
    cases: list[dict], results: list[dict], abs_tol: float = TOLERANCE["abs"]
) -> tuple[float, dict | None]:
    """How far a decoder's ``results`` are from the ``cases``' answers: the largest
    :func:`~kbd_lm.inference.tolerance.needed_rel` (at ``abs_tol``) over the cases, and the
    case that needs it (None when every case matches exactly)."""
    by_id = {r["id"]: r for r in results}
    worst, worst_case = 0.0, None
    for case in cases:
        need = needed_rel(case["suggestions"], by_id[case["id"]]["suggestions"], abs_tol)
        if need > worst:
            worst, worst_case = need, case
    return worst, worst_case


def fit_tolerance(cases: list[dict], results: list[dict]) -> tuple[dict, dict | None]:
    """The tolerance entry a decoder's ``results`` need (:func:`runtime_tolerance`), and the
    case that decided it. At the floor's ``abs`` when ``rel`` fits under the cap; else ``rel``
    is measured on the words above :data:`MAX_ABS` and ``abs`` on the rest (the tail, where
    two beam searches may find different words). Raises :class:`ToleranceError` beyond
    either cap."""
    rel, worst = measure(cases, results)
    if rel <= MAX_REL:
        return runtime_tolerance(rel), worst
    head, worst = measure(cases, results, abs_tol=MAX_ABS)
    rel = runtime_tolerance(head)["rel"]  # raises past the cap
    by_id = {r["id"]: r for r in results}
    need = 0.0
    for case in cases:
        n = needed_abs(case["suggestions"], by_id[case["id"]]["suggestions"], rel)
        if n > need:
            need, worst = n, case
    return runtime_tolerance(head, need), worst


def runtime_results(bundle_dir: Path, cases: list[dict], runtime: str) -> list[dict]:
    """The Python predictor on ``runtime`` answers ``cases``, in a process of its own
    (tflite-runtime cannot share one with TensorFlow): one result per case."""
    with tempfile.TemporaryDirectory() as tmp:
        cases_path, out = Path(tmp) / "cases.json", Path(tmp) / "results.json"
        cases_path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
        cmd = [sys.executable, "-m", "kbd_lm.inference.conformance", str(bundle_dir), runtime]
        proc = subprocess.run(
            [*cmd, str(cases_path), str(out)], capture_output=True, text=True, timeout=1800
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{runtime} could not run {bundle_dir}:\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


def agreed_cases(cases: list[dict], results: dict[str, list[dict]]) -> list[dict]:
    """``cases`` without the generated typo cases (:data:`GENERATED_TYPO_KINDS`) that some
    runtime answers beyond the caps (other kinds or autocorrect word, or probabilities off by
    more than ``MAX_REL``/``MAX_ABS``); ``results``: runtime -> its results.

    Why: a typo case's probabilities go through a model step per candidate and a
    normalisation over them, so a quantized model's small differences between runtimes can
    add up past the cap on a few drawn words (a case of the quick preset's bundle needed
    18.2% in tflite-runtime 2.14: 0.10.0.dev0, 2-core AMD EPYC). Like a case on a threshold,
    such a vector says more about the draw than about a decoder. Hand-written cases are
    always kept (and judged)."""
    caps = {"rel": MAX_REL, "abs": MAX_ABS}
    by_id = {runtime: {r["id"]: r for r in rs} for runtime, rs in results.items()}

    def agrees(case: dict, given: dict) -> bool:
        expected, answer = case["suggestions"], given["suggestions"]
        return compare_marks(expected, answer) is None and compare(expected, answer, caps) is None

    kept = [
        case
        for case in cases
        if case["kind"] not in GENERATED_TYPO_KINDS
        or all(agrees(case, ids[case["id"]]) for ids in by_id.values())
    ]
    if len(kept) < len(cases):
        log.info("conformance: %d generated typo cases left out", len(cases) - len(kept))
    return kept


def measure_runtime(cases: list[dict], results: list[dict], runtime: str) -> dict:
    """The header's ``tolerances`` entry for ``runtime``: its ``results`` for ``cases``
    (:func:`runtime_results`) compared by :func:`measure`. Raises :class:`ToleranceError`
    beyond the cap, naming the worst case."""
    name = f"{runtime} {runtime_version(runtime)}"
    by_id = {r["id"]: r for r in results}
    for case in cases:  # kinds and the autocorrect word: no tolerance makes them agree
        why = compare_marks(case["suggestions"], by_id[case["id"]]["suggestions"])
        if why:
            raise ToleranceError(
                f"{name}: its suggestions differ from LiteRT's (docs/decoding.md, 10); "
                f"case {case['id']} ({case['kind']}): {why}"
            )
    try:
        entry, _ = fit_tolerance(cases, results)
    except ToleranceError as err:
        _, worst = measure(cases, results, abs_tol=MAX_ABS)
        worst = worst or measure(cases, results)[1]
        given = next(r for r in results if r["id"] == worst["id"])["suggestions"]
        why = compare(worst["suggestions"], given, {"rel": MAX_REL, "abs": MAX_ABS})
        raise ToleranceError(
            f"{name}: its suggestions differ from LiteRT's: {err} (docs/decoding.md, 10); "
            f"case {worst['id']} ({worst['kind']}): {why}"
        ) from None
    log.info(
        "conformance: %s needs rel %.4f, abs %s: tolerance rel %s, abs %s",
        name,
        entry["measured"],
        entry.get("measured_abs", TOLERANCE["abs"]),
        entry["rel"],
        entry["abs"],
    )
    return {**entry, "version": runtime_version(runtime)}


def write_into_bundle(
    bundle_dir: Path, units: list[str], seed: int = 0, runtimes: tuple[str, ...] = ()
) -> Manifest:
    """Write the vectors into a finished bundle folder and list them in its manifest.

    The answers are the Python predictor's on LiteRT; each of ``runtimes`` (e.g.
    ``("tflite-runtime",)``) runs the cases too and gets the tolerance its differences need
    (:func:`measure_runtime`), LiteRT the floor. The file is a test file (test-only in the
    bundle's file table): listed with its size and checksum, so it is verified like the rest,
    but not counted in the shipped bytes. Returns the new manifest (also written to the
    folder).
    """
    from kbd_lm.inference.predictor import Predictor

    bundle = Bundle.load(bundle_dir)
    predictor = Predictor(bundle)
    cases = answer_cases(predictor, units, seed)
    # LiteRT's answers are the vectors: on the host exporting, it differs from them by nothing.
    tolerances = {"litert": {**runtime_tolerance(0.0), "version": runtime_version("litert")}}
    results = {runtime: runtime_results(bundle.path, cases, runtime) for runtime in runtimes}
    cases = agreed_cases(cases, results)
    kept = {case["id"] for case in cases}
    for runtime in runtimes:
        answered = [r for r in results[runtime] if r["id"] in kept]
        tolerances[runtime] = measure_runtime(cases, answered, runtime)
    write_vectors(predictor, cases, bundle.path / FILE, tolerances)
    manifest = bundle.manifest.with_file(bundle.path, FILE)
    write(bundle.path, manifest)
    return manifest


def _main() -> None:
    """``python -m kbd_lm.inference.conformance BUNDLE RUNTIME CASES.json OUT.json``: the
    Python predictor on RUNTIME answers the cases, in a clean process (see
    :func:`measure_runtime`)."""
    from kbd_lm.inference.predictor import Predictor

    bundle_dir, runtime, cases_path, out = sys.argv[1:5]
    cases = json.loads(Path(cases_path).read_text(encoding="utf-8"))
    results = run_python(Predictor(Bundle.load(bundle_dir), runtime=runtime), cases)
    Path(out).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    _main()
