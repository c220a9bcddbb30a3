"""The conformance cases beyond plain texts: blocklist additions, learned histories, field
hints and typing errors (:mod:`kbd_lm.inference.conformance` answers and writes them).

A typo case (conformance version 5) is ``{"kind": "typo_...", "text", "k", "correct": true,
"layout": "qwerty"}``, with ``"taps": [[x, y], ...]`` (one per letter of the partial word,
key units) when the letters came with touch points: the text is suggested with correction
(docs/decoding.md, section 11), and its suggestions carry ``kind`` and ``autocorrect``.

>>> [c["kind"] for c in typo_cases(["see you later", "ok then"], TypingSpec(), per_kind=1)][:2]
['typo_omission', 'typo_omission']
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from kbd_lm.text.hints import HINTS
from kbd_lm.text.normalization import WORD_RE, words
from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.simulate import simulate
from kbd_lm.typing.spec import TypingSpec

# Fixed texts whose best word blocklist_cases blocks (as a word, and after the context).
BLOCKED_TOP = ("see you ", "how are you ", "see yo", "thank you so muc", "ok. ", "I don't ")

# Learn-then-suggest cases: (kind, [(message, field), ...] learned in order, text, k).
_QUATTRO = [("lunch at Quattro?", "text")]
_BART = [("meet Bartholomew at the gate", "text"), ("Bartholomew is late", "text")]
_ZORB = [("Zorblax. Zorblax is here", "text")]
HISTORY_FIXED: list[tuple[str, list[tuple[str, str]], str, int]] = [
    ("history_completion", _QUATTRO, "see you at Qu", 3),
    ("history_next_word", _QUATTRO, "lunch at ", 3),
    ("history_long_word", _BART, "meet B", 3),
    ("history_next_word", _BART, "meet ", 3),
    ("history_casing", [("my new iPhone is great", "text")], "my new i", 3),
    ("history_sentence_start", _ZORB, "ok. ", 3),
    ("history_sentence_start", _ZORB, "", 3),
    ("history_field", [("my pin is 48213 and zorblax", "password")], "my pin is ", 3),
    ("history_secret", [("call me at 555 123 4567 tomorrow", "text")], "call me at ", 3),
    ("history_secret", [("mail bob@example.com or zorb.io now", "text")], "mail ", 3),
    ("history_repeat", [("see you at the Krusty Krab", "text")] * 5, "see you at the ", 5),
    ("history_repeat", [("see you at the Krusty Krab", "text")] * 5, "see you at the K", 3),
]


def blocklist_cases(cases: list[dict], results: list[dict]) -> list[dict]:
    """Cases that add to the blocklist, made from answers already known: for each text of
    :data:`BLOCKED_TOP`, its best word blocked as a word (``blocklist_word``), as a phrase
    after the context's last word (``blocklist_phrase``: blocked here) and after another
    word (``blocklist_other``: not blocked here). Blocking a word the model ranks first
    changes the answer: the search must skip it and find one more word.

    >>> cases = [{"id": 0, "kind": "next_word", "text": "see you ", "k": 3}]
    >>> results = [{"id": 0, "context": "see you", "suggestions": [{"word": "later"}]}]
    >>> [c["blocklist_add"] for c in blocklist_cases(cases, results)]
    [['later'], ['you later'], ['zzyzx later']]
    """
    by_id = {r["id"]: r for r in results}
    out, done = [], set()
    for case in cases:
        result = by_id[case["id"]]
        if case["text"] not in BLOCKED_TOP or case["text"] in done or not result["suggestions"]:
            continue
        done.add(case["text"])  # the first case of each text (the fixed one)
        top = result["suggestions"][0]["word"]
        before = words(result["context"])[-1:]
        adds = [("blocklist_word", [top])]
        if before:
            adds += [("blocklist_phrase", [f"{before[0]} {top}"])]
            adds += [("blocklist_other", [f"zzyzx {top}"])]
        for kind, add in adds:
            out.append({"kind": kind, "text": case["text"], "k": case["k"], "blocklist_add": add})
    return out


def history_cases(units: list[str], seed: int = 0, per_kind: int = 10) -> list[dict]:
    """Learn-then-suggest cases: :data:`HISTORY_FIXED` (a name of many pieces, casing, a
    sentence start, a password field and secrets that are not learned, repetition, a learned
    word blocked), then ``history_units``: three held-out units learned, the last one typed
    again up to a random word boundary or into a word.

    >>> [c["kind"] for c in history_cases(["see you later", "ok then"], per_kind=1)][-2:]
    ['history_blocklist', 'history_units']
    """
    rng = random.Random(seed + 1)

    def learn(messages):
        return [{"text": text, "field": field} for text, field in messages]

    out = [{"kind": k, "learn": learn(m), "text": t, "k": n} for k, m, t, n in HISTORY_FIXED]
    out.append(
        {
            "kind": "history_blocklist",  # a learned word the app blocked: never suggested
            "learn": learn([("you are a zorblax", "text")] * 3),
            "text": "you are a ",
            "k": 3,
            "blocklist_add": ["zorblax"],
        }
    )
    pool = [u for u in units if len(WORD_RE.findall(u)) >= 2] or ["see you later"]
    for _ in range(per_kind):
        messages = [rng.choice(pool) for _ in range(3)]
        last = messages[-1]
        cuts = [m.start() for m in WORD_RE.finditer(last)][1:]
        cuts += [m.start() + rng.randint(1, len(m.group(0))) for m in WORD_RE.finditer(last)]
        text = last[: rng.choice(cuts)]
        out.append(
            {
                "kind": "history_units",
                "learn": learn((m, "text") for m in messages),
                "text": text,
                "k": 3,
            }
        )
    return out


def hint_cases(units: list[str], seed: int = 0, per_hint: int = 6) -> list[dict]:
    """Cases with a field hint: for every hint of :data:`~kbd_lm.text.hints.HINTS`, an empty
    text, a sentence start and held-out text cut at a word boundary or inside a word. A
    bundle trained without hints answers them as without one (its ``context_ids`` say so).

    >>> sorted({c["hint"] for c in hint_cases(["see you later", "ok then"], per_hint=1)})
    ['email', 'message', 'prose']
    """
    rng = random.Random(seed + 2)
    pool = [u for u in units if len(WORD_RE.findall(u)) >= 2] or ["see you later"]
    out = []
    for hint in HINTS:
        texts = ["", "Thanks. "]
        for _ in range(per_hint):
            unit = rng.choice(pool)
            cuts = [m.start() for m in WORD_RE.finditer(unit)][1:]
            cuts += [m.start() + rng.randint(1, len(m.group(0))) for m in WORD_RE.finditer(unit)]
            texts.append(unit[: rng.choice(cuts)])
        out += [{"kind": f"hint_{hint}", "text": t, "k": 3, "hint": hint} for t in texts]
    return out


# Typo cases: (kind, text, layout, k), suggested with correction. Slips of one kind each, on
# words a conversational corpus has; with the tiny test corpus some are no words of its list.
TYPO_FIXED: list[tuple[str, str, str, int]] = [
    ("typo_omission", "see you tomorow", "qwerty", 3),
    ("typo_omission", "thank you so muh", "qwerty", 3),
    ("typo_neighbour", "see you tomprrow", "qwerty", 3),
    ("typo_neighbour", "how are yoi", "qwerty", 3),
    ("typo_first_letter", "rhe", "qwerty", 3),
    ("typo_swap", "how are yuo", "qwerty", 3),
    ("typo_doubled", "see you tommorrow", "qwerty", 5),
    ("typo_apostrophe", "I dont", "qwerty", 3),
    ("typo_case", "See you Tomorow", "qwerty", 3),
    ("typo_case", "SEE YOU TOMOROW", "qwerty", 3),
    ("typo_correct", "see you to", "qwerty", 3),  # correctly typed: completions stay
    ("typo_correct", "thank you so much", "qwerty", 3),
    ("typo_manners", "at 5pm", "qwerty", 3),  # a digit: never corrected
    ("typo_manners", "mail me@exampl", "qwerty", 3),  # an address: never corrected
    ("typo_layout", "see you tomorrox", "azerty", 3),  # x beside w on AZERTY
    ("typo_layout", "see you tomorriw", "qwertz", 3),
    ("typo_layout", "see you tomorriw", "dvorak", 3),  # i is no neighbour of o on Dvorak
]
# The simulated typing of generated typo cases: slips and omissions far likelier than the
# channel's defaults, so that most words come out mistyped (a choice for the vectors only).
TYPO_SIMULATION = ChannelParams(
    touch_spread=0.35, omission=0.08, insertion=0.03, doubled=0.03, transposition=0.05
)
GENERATED_TYPO_KINDS = ("typo_units", "typo_taps")  # typo_cases' drawn cases
TYPO_LAYOUTS = ("qwerty", "azerty", "qwertz")  # generated cases: letters only on each
# A typo case is kept only when its answer (words, kinds, autocorrect) stays the same with
# the autocorrect margin moved this many nats either way and the unlisted threshold scaled
# by this factor either way: a port within the tolerance then gives the same answer.
TYPO_MARGIN_SLACK = 0.5
TYPO_UNLISTED_FACTOR = 1.3


def typo_cases(units: list[str], spec: TypingSpec, seed: int = 0, per_kind: int = 8) -> list[dict]:
    """Typo cases: :data:`TYPO_FIXED` (on the layouts ``spec`` has), then from held-out
    ``units``: a word (or its first letters, at least 3) typed by the simulator
    (:mod:`kbd_lm.typing.simulate`, :data:`TYPO_SIMULATION`) after the words before it,
    ``per_kind`` of them letters only (``typo_units``) and ``per_kind`` with the simulated
    touch points as taps (``typo_taps``), on the layouts of :data:`TYPO_LAYOUTS` in turn.
    """
    names = {layout.name for layout in spec.layouts}
    out = [
        {"kind": kind, "text": text, "k": k, "correct": True, "layout": layout}
        for kind, text, layout, k in TYPO_FIXED
        if layout in names
    ]
    rng, draw = random.Random(seed + 3), np.random.default_rng(seed + 3)
    found = [
        (u, m)
        for u in units
        for m in WORD_RE.finditer(u)
        if len(m.group(0)) >= 4 and m.group(0).isalpha()
    ]
    layouts = [name for name in TYPO_LAYOUTS if name in names]
    if not found or not layouts:
        return out
    for kind in GENERATED_TYPO_KINDS:
        made = 0
        for _ in range(per_kind * 20):  # drawn until per_kind are made (a few tries each)
            if made == per_kind:
                break
            unit, m = rng.choice(found)
            layout = spec.layout(layouts[made % len(layouts)])
            word = m.group(0)[: rng.randint(3, len(m.group(0)))]
            typed = simulate(word, draw, layout=layout, params=TYPO_SIMULATION)
            if typed.letters == word or not WORD_RE.fullmatch(typed.letters):
                continue  # no slip, or not one partial word (an apostrophe first)
            if any(tap is None for tap in typed.taps):
                continue  # a letter off the layout ("é"): typed exactly, without a tap
            case = {"kind": kind, "text": unit[: m.start()] + typed.letters, "k": 3}
            case.update(correct=True, layout=layout.name)
            if kind == "typo_taps":
                case["taps"] = [[round(x, 3), round(y, 3)] for x, y in typed.taps]
            out.append(case)
            made += 1
    return out


def stable_typo_cases(predictor, cases: list[dict], run) -> list[dict]:
    """The ``cases`` whose answers (``run(predictor, cases)``: words, kinds, autocorrect) do
    not change when the thresholds move by :data:`TYPO_MARGIN_SLACK` and
    :data:`TYPO_UNLISTED_FACTOR` (both ways): near a threshold, the small differences
    between runtimes may decide, and a vector must not depend on them."""
    spec = predictor.typing
    numbered = [{"id": i, **case} for i, case in enumerate(cases)]  # what ``run`` reads
    answers = []
    try:
        for sign in (0, -1, 1):
            predictor.typing = dataclasses.replace(
                spec,
                autocorrect_margin=spec.autocorrect_margin + sign * TYPO_MARGIN_SLACK,
                unlisted_min=spec.unlisted_min * TYPO_UNLISTED_FACTOR**sign,
            )
            answers.append(run(predictor, numbered))
    finally:
        predictor.typing = spec

    def marks(result: dict) -> list[tuple]:
        return [(s["word"], s["kind"], s["autocorrect"]) for s in result["suggestions"]]

    return [
        case
        for case, *results in zip(cases, *answers, strict=True)
        if all(marks(r) == marks(results[0]) for r in results)
    ]
