"""The history cost measurement on the tiny bundle (a small history bound keeps it fast)."""

from kbd_lm.export.bench.history import format_table, measure_history, typing_prefixes
from kbd_lm.history.user_history import HistoryConfig
from kbd_lm.inference.predictor import Predictor


def test_typing_prefixes():
    got = typing_prefixes(["hi you"])
    assert [k.text for k in got] == ["", "h", "hi ", "hi y", "hi yo"]
    assert [k.kind for k in got] == ["next_word", "completion", "next_word"] + ["completion"] * 2


def test_measure_history(tiny_bundle):
    own = [f"message {i} with word{i} and friend{i % 7}" for i in range(400)]
    typed = ["see you tomorrow", "I like pizza a lot"] * 5
    cfg = HistoryConfig(max_entries=300)
    r = measure_history(Predictor.load(tiny_bundle), own, typed, cfg, warmup=10)
    assert 0.9 * 300 <= r["history"]["entries"] <= 300
    assert r["history"]["file_bytes"] > 1000
    assert r["learn_ms"]["full"]["n"] > 10 and r["learn_ms"]["full"]["p99"] > 0
    both = r["suggest_ms"]
    assert both["plain"]["completion"]["n"] == both["history"]["completion"]["n"] > 20
    assert "with a full history" in format_table(r)
