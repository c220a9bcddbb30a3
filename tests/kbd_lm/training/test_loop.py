import dataclasses
import json

import numpy as np
import pytest

from kbd_lm.common.config import load_config
from kbd_lm.training.loop import TrainConfig, Trainer, train, windows


def tiny_cfg(corpus, out, cache, *extra):
    return load_config(
        TrainConfig,
        "train",
        "tiny",
        [
            f'corpus="{corpus}"',
            f'out_dir="{out}"',
            f'cache_dir="{cache}"',
            *extra,
        ],
    )


def test_windows_cover_every_target_once():
    ids = np.arange(1, 42, dtype=np.uint16)
    w = windows(ids, 8)
    assert w.shape == (5, 9)
    assert np.array_equal(w[:, 1:].ravel(), ids[1:41])


def test_tiny_model_learns(tiny_checkpoint):
    history = json.loads((tiny_checkpoint / "history.json").read_text())
    summary = json.loads((tiny_checkpoint / "summary.json").read_text())
    assert history[-1]["valid_ppl_token"] < history[0]["valid_ppl_token"] * 0.5
    assert summary["valid_ppl_token"] == min(h["valid_ppl_token"] for h in history)
    assert summary["tokens_per_second"] > 0 and summary["parameters"] > 0
    for name in ("weights.npz", "tokenizer.model", "config.toml"):
        assert (tiny_checkpoint / name).is_file()
    # the resolved config is saved with the checkpoint
    assert 'cell = "cifg"' in (tiny_checkpoint / "config.toml").read_text()


class Killed(Exception):
    pass


def test_resume_continues_from_the_saved_position(tiny_corpus_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    run = ("epochs=3", "steps_per_epoch=10", "early_stopping_patience=9")
    cfg = tiny_cfg(tiny_corpus_dir, tmp_path / "run", cache, *run, "checkpoint_minutes=0.0")
    reference = train(tiny_cfg(tiny_corpus_dir, tmp_path / "ref", cache, *run))
    ref_history = json.loads((reference / "history.json").read_text())

    # Kill the run in the middle of epoch 2 (step 15 of 30).
    original_init = Trainer.__init__
    calls = {"n": 0}

    def init_with_a_dying_step(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        step = self.train_step

        def dying_step(*a):
            calls["n"] += 1
            if calls["n"] > 15:
                raise Killed()
            return step(*a)

        self.train_step = dying_step

    monkeypatch.setattr(Trainer, "__init__", init_with_a_dying_step)
    with pytest.raises(Killed):
        train(cfg)
    monkeypatch.undo()
    text = (tmp_path / "run" / "state" / "position.json").read_text()
    position = json.loads(text)
    assert position["epoch"] == 1 and position["step"] == 5  # mid-epoch checkpoint
    # Written as kbd-lm 0.8 wrote it (json.dumps of these keys, in this order, indent 2), so
    # that the runs it saved resume and the runs saved now resume with it.
    keys = ["epoch", "step", "best", "bad_epochs", "history", "train_seconds", "tokens"]
    assert list(position) == keys and text == json.dumps(position, indent=2)
    assert not (tmp_path / "run" / "summary.json").exists()

    with pytest.raises(RuntimeError, match="interrupted run"):
        train(cfg)  # never silently starts over
    out = train(dataclasses.replace(cfg, resume=True))
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    # epoch 1 was not redone: its record is the one the killed run wrote, equal to the reference
    assert history[0]["valid_ppl_token"] == pytest.approx(ref_history[0]["valid_ppl_token"])
    assert history[0]["minutes"] < history[1]["minutes"]
    # Same data order and optimizer state: the resumed run ends where the uninterrupted did.
    assert history[-1]["valid_ppl_token"] == pytest.approx(
        ref_history[-1]["valid_ppl_token"], rel=0.05
    )


def test_the_dataclass_defaults_are_the_default_preset():
    assert TrainConfig() == load_config(TrainConfig, "train", "default")
    assert (TrainConfig().cell, TrainConfig().units) == ("gru", 780)


def test_a_run_folder_of_an_unsupported_checkpoint_version_is_left_alone(tiny_corpus_dir, tmp_path):
    from kbd_lm.training import checkpoint as C

    out = tmp_path / "run"
    out.mkdir()
    marker = out / C.VERSION_FILE
    marker.write_text(json.dumps({"format": C.FORMAT_NAME, "format_version": 99}))
    with pytest.raises(C.CheckpointError, match="format version 99 is not supported"):
        train(tiny_cfg(tiny_corpus_dir, out, tmp_path / "cache"))
    assert [p.name for p in out.iterdir()] == [C.VERSION_FILE]  # nothing overwritten


def test_the_learning_rate_decays_with_the_clock_under_a_time_budget():
    from kbd_lm.training.optim import WarmupCosine

    sched = WarmupCosine(1e-2, 1e-4, 10, 1000)
    assert float(sched(5)) == pytest.approx(1e-2 * 6 / 10)  # warm-up
    assert float(sched(10)) == pytest.approx(1e-2, rel=1e-5)  # peak, schedule just started
    sched.time_frac.assign(0.5)  # half the time budget gone after 10 of 1000 steps
    assert float(sched(10)) == pytest.approx(1e-4 + 0.5 * (1e-2 - 1e-4), rel=1e-5)
    sched.time_frac.assign(1.0)
    assert float(sched(20)) == pytest.approx(1e-4, rel=1e-5)  # the floor when time is up
    sched.time_frac.assign(0.0)
    assert float(sched(1000)) == pytest.approx(1e-4, rel=1e-5)  # or when the steps are done
