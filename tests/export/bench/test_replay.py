"""The bench's replay plan: seeded, warm-up apart from the measured keystrokes."""

from __future__ import annotations

from kbd_lm.export import bench
from kbd_lm.export.bench.replay import by_kind, corpus_spec


def test_replay_plan_is_seeded_and_disjoint():
    units = [f"unit {i} says hello there" for i in range(50)]
    a = bench.replay_plan(units, calls=30, warmup=10, seed=3)
    assert a == bench.replay_plan(units, calls=30, warmup=10, seed=3)
    assert len(a["warm"]) == 10 and len(a["drafts"]) == 30 and len(a["warm_drafts"]) == 10
    assert a["kinds"].count("next_word") >= 30 and a["kinds"].count("completion") >= 30
    measured = {t for t in a["texts"] if t.endswith("there")}
    assert not measured & set(a["warm"])  # warm-up comes from other units
    assert all(d == "" or d.endswith(" ") for d in a["drafts"])
    assert bench.replay_plan(units, calls=10_000, warmup=0)["exhausted"]


def test_times_split_by_kind_and_corpus_fallback():
    kinds = ["next_word", "completion", "completion"]
    assert by_kind([1.0, 2.0, 3.0], kinds, "x") == {
        "x_next_word": [1.0],
        "x_completion": [2.0, 3.0],
    }
    assert corpus_spec({"training": {"corpus": "plaintext:/a.txt,/b"}}) == "/a.txt,/b"
    assert corpus_spec({"training": {}}, override="x.txt") == "x.txt"
    assert corpus_spec({"training": {}}) == "chitchat"


def test_kinds_are_the_keystrokes_of_kbd_lm():
    """The plan's texts and kinds are kbd_lm.evaluation.keystrokes', the ones evaluation replays."""
    from kbd_lm.evaluation.keystrokes import keystrokes

    plan = bench.replay_plan(["I don't know", "ok."], calls=100, warmup=0)  # both units
    typed = keystrokes("I don't know") + keystrokes("ok.")
    assert sorted(zip(plan["texts"], plan["kinds"], strict=True)) == sorted(typed)
