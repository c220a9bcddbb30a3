"""What a personal history costs: suggest latency with a full history, learn time, file size.

``measure_history(predictor, own_messages, typed_units)``:

1. fills a :class:`~kbd_lm.history.user_history.UserHistory` with one person's messages (by
   default the chitchat sender with the most messages, train split) until it reaches its entry
   bound (20,000) and has been trimmed once, timing every ``learn``;
2. types ``typed_units`` letter by letter (next word after each space, completion after each
   letter) and times ``suggest(text, 3)`` without and with the full history, alternating from
   the same predictor caches, after a warm-up, learning each unit once it is typed (so no
   look-up is cached across messages);
3. writes the history and reports its file size, save and load times.

Returns ``{"history": {...}, "learn_ms": {p50, p99, max}, "suggest_ms": {"plain": {...},
"history": {...}}}``; p50 / p99 in milliseconds. ``python -m kbd_lm.export.bench.history --bundle
dist/bundle`` prints a table (the benchmark can call :func:`measure_history` directly).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from kbd_lm.common.fsutil import Progress, atomic_write_text
from kbd_lm.common.logs import setup_logging
from kbd_lm.common.stats import percentiles
from kbd_lm.evaluation.keystrokes import Keystroke, typed_words
from kbd_lm.history.mix import mix_history
from kbd_lm.history.user_history import HistoryConfig, UserHistory
from kbd_lm.text.normalization import normalize

log = logging.getLogger(__name__)


def _ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {**percentiles(ms), "max": max(ms, default=None), "n": len(ms)}


def typing_prefixes(units: list[str]) -> list[Keystroke]:
    """The keystrokes of every word of ``units`` (:func:`kbd_lm.evaluation.keystrokes.typed_words`):
    its context and each of its letters typed so far (the last letter excluded)."""
    return [key for unit in units for typed in typed_words(unit) for key in typed.keys]


def fill_history(messages: list[str], config: HistoryConfig) -> tuple[UserHistory, list[float]]:
    """Learn ``messages`` in order until the history is full and was trimmed once (or the
    messages run out); returns it and the time of every learn (seconds)."""
    history, times, trimmed = UserHistory(config), [], False
    for message in messages:
        before = len(history)
        start = time.perf_counter()
        history.learn(message)
        times.append(time.perf_counter() - start)
        trimmed = trimmed or len(history) < before
        if trimmed and len(history) >= 0.98 * config.max_entries:
            break
    return history, times


def measure_history(
    predictor,
    own_messages: list[str],
    typed_units: list[str],
    config: HistoryConfig | None = None,
    warmup: int = 200,
) -> dict:
    """See the module docstring."""
    config = config or HistoryConfig()
    history, learn_times = fill_history(own_messages, config)
    steady = learn_times[len(learn_times) // 2 :]  # the fuller half, trimming included
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.kbdh"
        start = time.perf_counter()
        history.save(path)
        save_ms = (time.perf_counter() - start) * 1000
        size = path.stat().st_size
        start = time.perf_counter()
        loaded = UserHistory.load(path, config, strict=True)
        load_ms = (time.perf_counter() - start) * 1000
    assert len(loaded) == len(history)
    for text, _ in typing_prefixes(typed_units)[:warmup]:
        predictor.suggest(text, 3)
        predictor.suggest(text, 3, history)
    plain = {"next_word": [], "completion": []}
    mixed = {"next_word": [], "completion": []}
    mixing = {"next_word": [], "completion": []}  # the history's own work in a suggest call
    # Each unit is typed, then learned (as sent): the history's look-up caches start cold.
    texts = [(key, u) for u in typed_units for key in typing_prefixes([u])]
    progress = Progress("keystrokes with a full history", total=len(texts), logger=log)
    for n, ((text, kind), unit) in enumerate(texts):
        if n and unit is not texts[n - 1][1]:
            history.learn(texts[n - 1][1])
        # Both calls start from the same caches (the second would find the first one's rows).
        state = predictor.cache_state()
        for times, hist in ((plain, None), (mixed, history)):
            predictor.restore_cache(state)
            start = time.perf_counter()
            predictor.suggest(text, 3, hist)
            times[kind].append(time.perf_counter() - start)
        context, partial, words = predictor.model_words(text, 3)
        start = time.perf_counter()
        mix_history(words, history, context, partial, predictor.history_weights)
        mixing[kind].append(time.perf_counter() - start)
        progress.update()
    return {
        "history": {
            "entries": len(history),
            "messages_learned": len(learn_times),
            "file_bytes": size,
            "save_ms": save_ms,
            "load_ms": load_ms,
            "max_entries": config.max_entries,
            "max_bytes": config.max_bytes,
        },
        "learn_ms": {"all": _ms(learn_times), "full": _ms(steady)},
        "suggest_ms": {
            "plain": {k: _ms(v) for k, v in plain.items()},
            "history": {k: _ms(v) for k, v in mixed.items()},
            "mixing_only": {k: _ms(v) for k, v in mixing.items()},
        },
    }


def chitchat_inputs(max_typed_units: int = 80, seed: int = 0) -> tuple[list[str], list[str]]:
    """(the busiest chitchat sender's train messages in time order, test units to type)."""
    from kbd_lm.corpora import split_of
    from kbd_lm.corpora.senders import chitchat_messages
    from kbd_lm.evaluation.metrics import sample_words

    messages = list(chitchat_messages())
    busiest = Counter(m.sender for m in messages).most_common(1)[0][0]
    own = sorted(
        (m.time, normalize(m.text))
        for m in messages
        if m.sender == busiest and split_of(m.split_key) == "train"
    )
    test = [normalize(m.text) for m in messages if split_of(m.split_key) == "test"]
    typed = sample_words([t for t in test if t], max_words=max_typed_units * 10, seed=seed)
    return [t for _, t in own if t], typed[:max_typed_units]


def format_table(r: dict) -> str:
    """Markdown lines of the figures."""
    s, h = r["suggest_ms"], r["history"]

    def cell(x):
        return f"{x['p50']:.2f} / {x['p99']:.2f}"

    return "\n".join(
        [
            "| figure | plain | with a full history |",
            "|---|---|---|",
            f"| suggest, next word, p50 / p99 ms | {cell(s['plain']['next_word'])} | "
            f"{cell(s['history']['next_word'])} |",
            f"| suggest, completion, p50 / p99 ms | {cell(s['plain']['completion'])} | "
            f"{cell(s['history']['completion'])} |",
            f"| of which mixing the history, next word / completion, p50 / p99 ms | | "
            f"{cell(s['mixing_only']['next_word'])}; {cell(s['mixing_only']['completion'])} |",
            f"| learn one message, p50 / p99 ms (full history) | | {cell(r['learn_ms']['full'])} |",
            f"| history: entries, file bytes | | {h['entries']:,}, {h['file_bytes']:,} |",
            f"| history: save / load ms | | {h['save_ms']:.0f} / {h['load_ms']:.0f} |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kbd_lm.export.bench.history", description=__doc__)
    p.add_argument("--bundle", default="dist/bundle")
    p.add_argument("--units", type=int, default=80, help="test units typed letter by letter")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)
    setup_logging("info")
    from kbd_lm.inference.predictor import Predictor

    predictor = Predictor.load(args.bundle)
    own, typed = chitchat_inputs(args.units)
    result = measure_history(predictor, own, typed)
    print(format_table(result))
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
