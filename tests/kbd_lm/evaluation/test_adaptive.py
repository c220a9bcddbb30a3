"""Adaptive evaluation and weight tuning on the tiny bundle with synthetic senders."""

import dataclasses
import json

import pytest

from kbd_lm.corpora import split_of
from kbd_lm.corpora.senders import SentMessage
from kbd_lm.evaluation.adaptive import AdaptiveConfig, format_table, replay, summarize, user_streams
from kbd_lm.evaluation.history_tune import GRID, tune
from kbd_lm.inference.predictor import Predictor


def keys_in(split, n):
    out, i = [], 0
    while len(out) < n:
        if split_of(f"conv-{i}") == split:
            out.append(f"conv-{i}")
        i += 1
    return out


def messages(split):
    """Two senders with habits of their own (unknown to the tiny model), one mostly in train."""
    convs, train = keys_in(split, 6), keys_in("train", 8)
    out = []
    for i, conv in enumerate(convs):
        t = f"2024-01-0{i + 1}T10:00:00Z"
        out.append(SentMessage("ann", t, conv, conv, "Brunch with Gwendolyn at Quixotic Cafe"))
        out.append(SentMessage("bob", t, conv, conv, f"see you {'soon' if i % 2 else 'later'}"))
    out += [SentMessage("bob", "2023-01-01T00:00:00Z", c, c, "hello there") for c in train]
    return out


def test_user_streams_orders_by_time_and_marks_unseen_users():
    msgs = messages("test")[::-1]  # arrival order must not matter
    streams = user_streams(msgs, "test", learn="split")
    assert [len(s.messages) for s in streams] == [6, 6]
    ann, bob = streams
    assert ann.unseen and not bob.unseen  # bob's messages are mostly in train
    assert bob.messages[0] == "see you later" and bob.messages[1] == "see you soon"
    # By default the history learns every message of the sender, in time order, and only the
    # evaluated split's are scored: bob's 8 earlier training messages come first.
    ann, bob = user_streams(msgs, "test")
    assert len(bob.messages) == 14 and bob.messages[:8] == ["hello there"] * 8
    assert bob.scored == [False] * 8 + [True] * 6 and ann.scored == [True] * 6


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.load(tiny_bundle)


def test_replay_scores_before_learning_and_history_helps(predictor):
    streams = user_streams(messages("test"), "test", learn="split")
    cfg = AdaptiveConfig(max_words=1000, max_words_unseen=1000, bootstrap=200)
    result = replay(predictor, streams, cfg)
    assert len(result["stats"]) == 12  # every message scored (the sample covers all)
    first = result["stats"][0]  # ann's first message: nothing learned yet -> same figures
    assert first[1:4].tolist() == first[4:7].tolist()
    all_users = summarize(result, 1, cfg.bootstrap, 0)
    assert all_users["adaptive"]["ksr"] > all_users["static"]["ksr"] + 0.1
    lo, hi = all_users["difference_ci95"]["messages"]["ksr"]
    assert 0 < lo <= hi
    unseen = summarize(result, 2, cfg.bootstrap, 0)
    assert unseen["users"] == 1 and unseen["words"] == 6 * 6
    table = format_table({"all test users": all_users, "users mostly not in train": unseen})
    assert "| ksr |" in table and "Gwendolyn" not in json.dumps(all_users)


def test_replay_learns_other_splits_without_scoring_them(predictor):
    """learn="all": a word typed earlier in a training conversation helps the first test
    message, which is scored alone (the training message is learned, never scored)."""
    train, test = keys_in("train", 1)[0], keys_in("test", 1)[0]
    msgs = [
        SentMessage("cy", "2024-01-01T10:00:00Z", train, train, "Zephyrine Quackenbush"),
        SentMessage("cy", "2024-02-01T10:00:00Z", test, test, "Zephyrine Quackenbush"),
    ]
    cfg = AdaptiveConfig(max_words=1000, max_words_unseen=1000, bootstrap=200)
    split = replay(predictor, user_streams(msgs, "test", "split"), cfg)
    both = replay(predictor, user_streams(msgs, "test", "all"), cfg)
    assert len(split["stats"]) == len(both["stats"]) == 1  # the test message only
    static = [0, 1, 2, 3, 7]  # words and static figures: the same sample and predictor
    assert both["stats"][:, static].tolist() == split["stats"][:, static].tolist()
    assert split["stats"][0, 6] == split["stats"][0, 3]  # nothing learned before it
    assert both["stats"][0, 6] < both["stats"][0, 3]  # keys: the history knew both names


def test_the_bound_learns_every_unscored_message_later_ones_too(predictor):
    """learn="others": a name typed only after the scored message helps it (a bound, not a
    keyboard), and the scored message itself is never learned."""
    train, test = keys_in("train", 1)[0], keys_in("test", 2)
    msgs = [
        SentMessage("cy", "2024-02-01T10:00:00Z", test[0], test[0], "Zephyrine Quackenbush"),
        SentMessage("cy", "2024-02-02T10:00:00Z", test[1], test[1], "Zephyrine Quackenbush"),
        SentMessage("cy", "2024-03-01T10:00:00Z", train, train, "Zephyrine Quackenbush"),
    ]
    cfg = AdaptiveConfig(max_words=1000, max_words_unseen=1000, bootstrap=200)
    causal = replay(predictor, user_streams(msgs, "test", "all"), cfg)
    others = dataclasses.replace(cfg, learn="others")
    bound = replay(predictor, user_streams(msgs, "test", "others"), others)
    assert len(causal["stats"]) == len(bound["stats"]) == 2  # both test messages scored
    first, second = causal["stats"]
    assert first[6] == first[3] and second[6] < second[3]  # causal: the second one learns
    # The bound knew the name from the later training message for both, and the first test
    # message was never learned: the second one gets no more help than the first.
    assert bound["stats"][0, 6] < bound["stats"][0, 3]
    assert bound["stats"][1, 6] == bound["stats"][0, 6]
    with pytest.raises(ValueError, match="learn must be one of"):
        AdaptiveConfig(learn="future")


def test_tuning_refuses_test_data_and_ranks_settings(predictor):
    with pytest.raises(ValueError, match="never on test"):
        tune(predictor, AdaptiveConfig(split="test"))
    small = {"unigram": (0.0, 0.1), "bigram": (0.0, 0.3), "trigram": (0.0, 0.3), "beta": (2.0,)}
    small["floor"] = (0.0,)
    streams = user_streams(messages("valid"), "valid")
    result = tune(predictor, AdaptiveConfig(split="valid"), small, streams=streams)
    assert len(result["settings"]) == 8 and result["words"] == 54
    assert result["best"]["ksr"] > result["static"]["ksr"]
    assert result["best"]["trigram"] > 0 or result["best"]["bigram"] > 0
    assert set(GRID) == {"unigram", "bigram", "trigram", "beta", "floor"}


def test_cli_adaptive_on_chitchat_senders(tiny_bundle, tmp_path):
    """`kbd-lm eval --adaptive` end to end on the real chitchat senders (a tiny sample); the
    reports go beside the bundle (bundle.reports), which keeps exactly its manifest's files."""
    import shutil
    import subprocess
    import sys

    from kbd_lm.inference.bundle import read, stray_files

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    args = ["-m", "kbd_lm.cli", "eval", "--adaptive", "--bundle", str(bundle)]
    args += ["max_words=25", "max_words_unseen=25", "bootstrap=50"]
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    reports = tmp_path / "bundle.reports"
    assert sorted(p.name for p in reports.iterdir()) == ["adaptive.json", "adaptive.md"]
    assert stray_files(bundle, read(bundle)) == []
    report = json.loads((reports / "adaptive.json").read_text())
    groups = report["groups"]
    assert groups["all test users"]["words"] >= 10 and groups["all test users"]["users"] >= 2
    assert groups["users mostly not in train"]["words"] >= 10
    assert "| ksr |" in (reports / "adaptive.md").read_text()


def test_the_field_hint_is_the_corpus_own_unless_told():
    assert AdaptiveConfig().field_hint == "message"  # chitchat: people typing messages
    assert AdaptiveConfig(corpus="email").field_hint == "email"
    assert AdaptiveConfig(hint="none").field_hint is None
    assert AdaptiveConfig(corpus="email", hint="prose").field_hint == "prose"
    with pytest.raises(ValueError, match="hint must be"):
        AdaptiveConfig(hint="chat")
