"""Adaptive evaluation: does a personal history save keystrokes for real people?

For every sender with messages in the evaluated split (chitchat's test split: the messages
carry sender ids and timestamps, see :mod:`kbd_lm.corpora.senders`), all of that sender's
messages are replayed in time order into a fresh :class:`~kbd_lm.history.user_history.UserHistory`,
as the keyboard would have seen them typed; only messages of the evaluated split are scored, before
they are learned, as typed, by the same predictor without a history (static) and with the
history so far (adaptive). Messages of other splits are learned and never scored (the training
split's were seen by the model too: the static figure has them as well). ``learn = "split"``
replays the evaluated split's messages only (the first protocol: a history that starts empty
at the first test message). ``learn = "others"`` is no keyboard's protocol but a bound: the
history holds every message of the sender that is not scored, later ones too, before the
first scored one, and learns nothing while scoring (what a history of all the user's other
text could give at most, with these weights).

- Words, contexts and metrics as in :mod:`kbd_lm.evaluation.metrics`: top-1 / top-3 of the
  next word and keystroke savings with three suggestions (a word costs j + 1 keys for the
  smallest j in 0..L-1 such that ``suggest(context + word[:j], k=3)`` holds it, else L + 1).
- Every message is learned; a seeded sample of messages is scored (``max_words`` words over all
  users, a uniform share of each user's messages, so long histories count as they occur).
- Groups: all users, and users whose messages are mostly not in the training split (chitchat
  splits by conversation, so many test users' other messages were seen in training); that
  group gets its own, larger sample (``max_words_unseen``).
- 95 % intervals of adaptive minus static by the paired bootstrap over users (all of a user's
  scored words are resampled together, which is the conservative choice when one user's words
  depend on each other), and, in the JSON, over messages.

>>> cfg = AdaptiveConfig(max_words=2000)
>>> run_adaptive(cfg, Path("dist/bundle"), Path("dist/bundle"))   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import Progress, atomic_write_text
from kbd_lm.common.stats import interval95
from kbd_lm.corpora import split_of
from kbd_lm.corpora.mixtures import SOURCE_HINTS
from kbd_lm.corpora.senders import SentMessage, sent_messages
from kbd_lm.dataset.corpus import (
    MAX_UNIT_CHARS,  # as corpus preparation: longer units are not typing
)
from kbd_lm.evaluation.keystrokes import typed_words
from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.text.hints import HINTS
from kbd_lm.text.normalization import WORD_RE, normalize

log = logging.getLogger(__name__)

_STATS = ("words", "top1_s", "top3_s", "cost_s", "top1_a", "top3_a", "cost_a", "full")


@dataclass(frozen=True)
class AdaptiveConfig:
    """What the adaptive evaluation replays (``kbd_lm.common.config.load_config`` can fill it)."""

    corpus: str = "chitchat"
    split: str = "test"
    max_words: int = 8000
    max_words_unseen: int = 4000
    seed: int = 0
    bootstrap: int = 2000
    # What the history learns: "all" the sender's messages in time order, the "split"'s only, or
    # "others": every message not scored, up front (a bound, see the module docstring).
    learn: str = "all"
    # The field hint sent with every suggestion, static and adaptive (a bundle trained without
    # hints ignores it): "auto" = the corpus's own (chitchat: "message"), "none", or a name.
    hint: str = "auto"

    def __post_init__(self) -> None:
        if self.learn not in LEARN_MODES:
            raise ValueError(f"learn must be one of {LEARN_MODES}, got {self.learn!r}")
        if self.hint not in ("auto", "none", *HINTS):
            raise ValueError(f"hint must be auto, none or one of {HINTS}, got {self.hint!r}")

    @property
    def field_hint(self) -> str | None:
        """The hint to send: ``AdaptiveConfig().field_hint == "message"`` (chitchat's)."""
        if self.hint == "auto":
            return SOURCE_HINTS.get(self.corpus)
        return None if self.hint == "none" else self.hint


LEARN_MODES = ("all", "split", "others")


@dataclass
class UserStream:
    """One sender's messages, normalised, in time order (the id is not kept)."""

    unseen: bool  # most of the sender's messages are outside the training split
    messages: list[str]
    scored: list[bool]  # per message: in the evaluated split (may be scored)


def user_streams(
    messages: Iterable[SentMessage], split: str, learn: str = "all"
) -> list[UserStream]:
    """Group messages by sender; keep senders with messages in ``split``, in a stable order.

    ``learn="all"`` or ``"others"``: every message of those senders (any split), ``"split"``:
    only the split's.

    >>> m = [SentMessage("a", "2", "c1", "k10", "hi"), SentMessage("a", "1", "c2", "k1", "yo")]
    >>> split_of("k10"), split_of("k1")
    ('test', 'train')
    >>> [(s.messages, s.scored) for s in user_streams(m, "test")]
    [(['yo', 'hi'], [False, True])]
    >>> [(s.messages, s.scored) for s in user_streams(m, "test", learn="split")]
    [(['hi'], [True])]
    """
    if learn not in LEARN_MODES:
        raise ValueError(f"learn must be one of {LEARN_MODES}, got {learn!r}")
    per_split: dict[str, Counter] = defaultdict(Counter)
    kept: dict[str, list[tuple[str, int, str, bool]]] = defaultdict(list)
    for n, m in enumerate(messages):
        where = split_of(m.split_key)
        per_split[m.sender][where] += 1
        text = normalize(m.text)
        if (learn != "split" or where == split) and text and len(text) <= MAX_UNIT_CHARS:
            kept[m.sender].append((m.time, n, text, where == split))
    streams = []
    for sender in sorted(kept):
        if not per_split[sender][split]:
            continue
        counts = per_split[sender]
        unseen = counts["train"] * 2 < sum(counts.values())
        ordered = sorted(kept[sender])
        streams.append(UserStream(unseen, [e[2] for e in ordered], [e[3] for e in ordered]))
    return streams


def word_costs(suggest: Callable[[str], list[Suggestion]], unit: str) -> np.ndarray:
    """Per word of ``unit``: [top-1 hit, top-3 hit, keys, keys without suggestions]."""
    out = []
    for typed in typed_words(unit):
        target, length = typed.word.lower(), len(typed.word)
        got = [s.word.lower() for s in suggest(typed.context)]
        keys = 1 if target in got else None
        j = 1
        while keys is None and j < length:
            if target in (s.word.lower() for s in suggest(typed.keys[j].text)):
                keys = j + 1
            j += 1
        out.append((got[:1] == [target], target in got, keys or length + 1, length + 1))
    return np.asarray(out, dtype=np.int64).reshape(-1, 4)


def sample_flags(streams: list[UserStream], config: AdaptiveConfig) -> list[np.ndarray]:
    """Per stream, per message: 1 = scored for all users, 2 = for the unseen group (bits)."""
    rng = np.random.default_rng(config.seed)
    words = [  # scored words per message (0 for the messages only learned)
        np.array([len(WORD_RE.findall(m)) * sc for m, sc in zip(s.messages, s.scored, strict=True)])
        for s in streams
    ]
    total = sum(int(w.sum()) for w in words)
    unseen_total = sum(int(w.sum()) for w, s in zip(words, streams, strict=True) if s.unseen)
    p_all = min(1.0, config.max_words / max(total, 1))
    p_unseen = max(p_all, min(1.0, config.max_words_unseen / max(unseen_total, 1)))
    flags = []
    for s, w in zip(streams, words, strict=True):
        scored = np.asarray(s.scored, bool)
        u = np.ones(len(s.messages))  # draws for the scored messages only: both ``learn``
        u[scored] = rng.random(int(scored.sum()))  # modes score the same sample
        f = (u < p_all).astype(np.int8) | (2 * ((u < p_unseen) & s.unseen)).astype(np.int8)
        flags.append(np.where(w > 0, f, 0))
    return flags


def last_scored(flags: np.ndarray, bits: int = 3) -> int:
    """1 + the index of the last message with one of ``bits`` set (0 if none).

    >>> last_scored(np.array([0, 1, 0, 2, 0])), last_scored(np.array([0, 0]))
    (4, 0)
    """
    hits = np.flatnonzero(np.asarray(flags) & bits)
    return int(hits[-1]) + 1 if len(hits) else 0


def replay(predictor, streams: list[UserStream], config: AdaptiveConfig) -> dict:
    """Score the sampled messages static and adaptive; returns per-message stats arrays.

    ``{"user": [M], "flags": [M], "stats": [M, 8]}`` with the columns of ``_STATS``.
    """
    flags = sample_flags(streams, config)
    n_words = sum(
        len(WORD_RE.findall(m))
        for s, f in zip(streams, flags, strict=True)
        for m, x in zip(s.messages, f, strict=True)
        if x
    )
    progress = Progress("adaptive words", total=n_words, logger=log)
    users, marks, rows = [], [], []
    bound = config.learn == "others"
    hint = config.field_hint
    for u, (stream, stream_flags) in enumerate(zip(streams, flags, strict=True)):
        history = UserHistory()
        if bound:  # everything not scored, later messages too, and nothing while scoring
            for message, flag in zip(stream.messages, stream_flags, strict=True):
                if not flag:
                    history.learn(message)
        # Messages after the sender's last scored one change no figure: not replayed.
        end = last_scored(stream_flags)
        for message, flag in zip(stream.messages[:end], stream_flags[:end], strict=True):
            if flag:
                static = word_costs(lambda t: predictor.suggest(t, 3, hint=hint), message)
                adaptive = word_costs(
                    lambda t, h=history: predictor.suggest(t, 3, h, hint=hint), message
                )
                rows.append(
                    [
                        len(static),
                        *static[:, :3].sum(0),
                        *adaptive[:, :3].sum(0),
                        static[:, 3].sum(),
                    ]
                )
                users.append(u)
                marks.append(flag)
                progress.update(len(static))
            if not bound:
                history.learn(message)
    log.info(progress.line())
    return {
        "user": np.asarray(users, np.int64),
        "flags": np.asarray(marks, np.int8),
        "stats": np.asarray(rows, np.float64).reshape(-1, len(_STATS)),
    }


def _metrics(sums: np.ndarray) -> np.ndarray:
    """[..., 8] summed stats -> [..., 6]: static top1, top3, KSR, adaptive top1, top3, KSR."""
    words, full = sums[..., 0], sums[..., 7]
    return np.stack(
        [
            sums[..., 1] / words,
            sums[..., 2] / words,
            1 - sums[..., 3] / full,
            sums[..., 4] / words,
            sums[..., 5] / words,
            1 - sums[..., 6] / full,
        ],
        -1,
    )


def summarize(result: dict, bit: int, draws: int, seed: int) -> dict | None:
    """Figures of one group (flag ``bit``) with paired-bootstrap 95 % intervals."""
    keep = (result["flags"] & bit) > 0
    if not keep.any():
        return None
    stats, users = result["stats"][keep], result["user"][keep]
    point = _metrics(stats.sum(0))
    rng = np.random.default_rng(seed)
    ids, inverse = np.unique(users, return_inverse=True)
    per_user = np.zeros((len(ids), stats.shape[1]))
    np.add.at(per_user, inverse, stats)
    intervals = {}
    for unit, table in (("users", per_user), ("messages", stats)):
        pick = rng.integers(0, len(table), (draws, len(table)))
        boot = _metrics(table[pick].sum(1))  # [draws, 6]
        diff = boot[:, 3:] - boot[:, :3]
        lo, hi = interval95(diff, axis=0)
        intervals[unit] = {m: [float(a), float(b)] for m, a, b in zip(_NAMES, lo, hi, strict=True)}
    return {
        "users": int(len(ids)),
        "messages": int(keep.sum()),
        "words": int(stats[:, 0].sum()),
        "static": dict(zip(_NAMES, map(float, point[:3]), strict=True)),
        "adaptive": dict(zip(_NAMES, map(float, point[3:]), strict=True)),
        "difference_ci95": intervals,
    }


_NAMES = ("top1", "top3", "ksr")
GROUPS = {"all test users": 1, "users mostly not in train": 2}


def format_table(groups: dict) -> str:
    """Markdown: one row per group and metric, static / adaptive / difference [95 % CI]."""
    lines = [
        "| users | metric | static | adaptive | difference [95 % CI, users] |",
        "|---|---|---|---|---|",
    ]
    for name, g in groups.items():
        if g is None:
            continue
        label = f"{name} ({g['users']} users, {g['words']:,} words)"
        for m in _NAMES:
            lo, hi = g["difference_ci95"]["users"][m]
            s, a = g["static"][m], g["adaptive"][m]
            lines.append(
                f"| {label} | {m} | {s:.3f} | {a:.3f} | {a - s:+.3f} [{lo:+.3f}, {hi:+.3f}] |"
            )
            label = ""
    return "\n".join(lines) + "\n"


def run_adaptive(config: AdaptiveConfig, bundle_dir: Path, out_dir: Path) -> dict:
    """Replay, summarise, write ``adaptive.json`` and ``adaptive.md`` into ``out_dir``."""
    from kbd_lm.inference.predictor import Predictor

    predictor = Predictor.load(bundle_dir)
    streams = user_streams(sent_messages(config.corpus), config.split, config.learn)
    log.info(
        "adaptive evaluation: %d %s users (%d mostly outside train), %s messages learned "
        "(%s of the %s split)",
        len(streams),
        config.split,
        sum(s.unseen for s in streams),
        f"{sum(len(s.messages) for s in streams):,}",
        f"{sum(sum(s.scored) for s in streams):,}",
        config.split,
    )
    result = replay(predictor, streams, config)
    names = {k.replace("test", config.split): v for k, v in GROUPS.items()}
    groups = {n: summarize(result, bit, config.bootstrap, config.seed) for n, bit in names.items()}
    report = {
        "config": dataclasses.asdict(config),
        "bundle": str(bundle_dir),
        "history_weights": dataclasses.asdict(predictor.history_weights),
        "hint": config.field_hint if config.field_hint in predictor.hints else None,
        "groups": groups,
    }
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "adaptive.json", json.dumps(report, indent=2) + "\n")
    table = format_table(groups)
    hint = report["hint"] or "none"
    title = (
        f"# Adaptive evaluation: {config.corpus}/{config.split}, seed {config.seed}, "
        f"field hint: {hint}\n\n"
    )
    atomic_write_text(out_dir / "adaptive.md", title + table)
    log.info("adaptive evaluation:\n%s", table)
    return report
