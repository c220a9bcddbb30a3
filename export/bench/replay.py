"""What the bench replays: test units typed keystroke by keystroke, and new-field drafts.

The keystrokes themselves (every text before the cursor, next word or completion) are
:func:`kbd_lm.evaluation.keystrokes.keystrokes`, the same that evaluation replays.

>>> plan = replay_plan(["see you", "ok then", "hi"], calls=2, warmup=1)
>>> plan["kinds"].count("next_word") >= 2, len(plan["drafts"])
(True, 2)
"""

from __future__ import annotations

import random

from kbd_lm.evaluation.keystrokes import KINDS, keystrokes

FALLBACK_CORPUS = "chitchat"


def replay_plan(units: list[str], calls: int, warmup: int, seed: int = 0) -> dict:
    """Seeded warm-up and measured keystrokes from whole units, and new-field drafts.

    Units are shuffled with ``seed``; the first ones give ``warmup`` warm-up keystrokes, the
    next ones are replayed whole until both kinds have at least ``calls`` keystrokes (or the
    units run out). Drafts (first suggestion in a new text field) are prefixes of the
    measured units cut after a space or at 0 (an empty field): ``calls`` measured and
    ``warmup`` warm-up ones, the latter from the warm-up units.

    Returns ``{"warm": [text], "texts": [text], "kinds": [kind], "units": n, "drafts":
    [text], "warm_drafts": [text], "exhausted": bool}``.

    >>> plan = replay_plan(["hi you", "ok"], calls=1, warmup=2, seed=1)
    >>> plan["warm"], plan["texts"][:4], plan["kinds"][:4]
    (['', 'o'], ['', 'h', 'hi', 'hi '], ['next_word', 'completion', 'completion', 'next_word'])
    """
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    rng = random.Random(seed + 1)
    pos = 0
    warm: list[str] = []
    warm_units: list[str] = []
    while len(warm) < warmup and pos < len(order):
        unit = units[order[pos]]
        pos += 1
        warm_units.append(unit)
        warm.extend(text for text, _ in keystrokes(unit))
    warm = warm[:warmup]
    texts: list[str] = []
    kinds: list[str] = []
    measured_units: list[str] = []
    count = dict.fromkeys(KINDS, 0)
    while pos < len(order) and min(count.values()) < calls:
        unit = units[order[pos]]
        pos += 1
        measured_units.append(unit)
        for text, kind in keystrokes(unit):
            texts.append(text)
            kinds.append(kind)
            count[kind] += 1
    exhausted = min(count.values()) < calls

    def drafts(pool: list[str], n: int) -> list[str]:
        out = []
        for j in range(n if pool else 0):
            unit = pool[j % len(pool)]
            cuts = [0] + [i + 1 for i, ch in enumerate(unit) if ch == " "]
            out.append(unit[: rng.choice(cuts)])
        return out

    return {
        "warm": warm,
        "texts": texts,
        "kinds": kinds,
        "units": len(measured_units),
        "drafts": drafts(measured_units, calls),
        "warm_drafts": drafts(warm_units or measured_units, warmup),
        "exhausted": exhausted,
    }


def by_kind(times: list[float], kinds: list[str], prefix: str) -> dict[str, list[float]]:
    """Split replay times by keystroke kind, into series named ``<prefix>_<kind>``.

    >>> by_kind([1.0, 2.0, 3.0], ["next_word", "completion", "next_word"], "x")
    {'x_next_word': [1.0, 3.0], 'x_completion': [2.0]}
    """
    pairs = list(zip(times, kinds, strict=True))
    return {f"{prefix}_{kind}": [t for t, k in pairs if k == kind] for kind in KINDS}


def corpus_spec(manifest: dict, override: str | None = None) -> str:
    """The corpus to replay: ``override``, else the manifest's ``training.corpus``, else chitchat.

    A plain-text corpus is recorded in the manifest as ``plaintext:<paths>``; the paths are
    given back to :func:`kbd_lm.dataset.corpus.prepare`.

    >>> corpus_spec({"training": {"corpus": "plaintext:/data/chat"}})
    '/data/chat'
    >>> corpus_spec({}), corpus_spec({}, "my.txt")
    ('chitchat', 'my.txt')
    """
    if override:
        return override
    name = (manifest.get("training") or {}).get("corpus")
    if not name:
        return FALLBACK_CORPUS
    return name.removeprefix("plaintext:")
