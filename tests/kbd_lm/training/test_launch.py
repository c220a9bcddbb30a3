"""Two real worker processes on loopback (MultiWorkerMirroredStrategy), started by the launcher."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from kbd_lm.common.config import load_config
from kbd_lm.training import checkpoint as C
from kbd_lm.training import cluster
from kbd_lm.training.loop import TrainConfig, train

pytestmark = pytest.mark.slow

# The tiny preset has no dropout and a full softmax: nothing random differs between runs.
RUN = ("epochs=2", "steps_per_epoch=8", "early_stopping_patience=9")
TIMEOUT_S = 300  # a loaded machine; the runs take well under a minute


def run_args(corpus, out, cache, *extra):
    return [
        "--preset",
        "tiny",
        f'corpus="{corpus}"',
        f'out_dir="{out}"',
        f'cache_dir="{cache}"',
        *RUN,
        *extra,
    ]


def launch(args, tmp):
    """The launcher with two workers; their temporary folders (worker 1's) go under ``tmp``."""
    cmd = [sys.executable, "-m", "kbd_lm", "train", "--workers", "2", *args]
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def final_weights(run_dir):
    """The weights after the last step (the state, not the best epoch's weights.npz)."""
    weights, _, _ = C.read_state(run_dir)
    return weights


def max_diff(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


@pytest.fixture(scope="module")
def one_device(tiny_corpus_dir, tmp_path_factory):
    """A one-device run with the global batch (32) on the same windows; prepares the cache."""
    root = tmp_path_factory.mktemp("multi")
    args = run_args(tiny_corpus_dir, root / "one", root / "cache")
    out = train(load_config(TrainConfig, "train", "tiny", args[2:]))
    return root, final_weights(out)


def test_two_workers_train_like_one_worker_on_the_global_batch(
    one_device, tiny_corpus_dir, monkeypatch
):
    root, reference = one_device
    two = root / "two"
    proc = launch(run_args(tiny_corpus_dir, two, root / "cache"), root)
    log, _ = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, log[-3000:]
    assert re.search(r"\[w0\] .*epoch 1: worker 0 of 2 reads shard 0: windows 0-15 ", log)
    assert re.search(r"\[w1\] .*epoch 1: worker 1 of 2 reads shard 1: windows 16-31 ", log)

    # Both workers end with bitwise equal weights: the chief's, in its run folder.
    digests = dict(re.findall(r"\[w(\d)\] .*worker \d of 2: final weights (\w+)", log))
    weights = final_weights(two)
    assert digests == {"0": cluster.digest(weights), "1": cluster.digest(weights)}
    assert json.loads((two / "summary.json").read_text())["epochs_run"] == 2
    scratch = re.search(r"\[w1\] .*not the chief, writes to (\S+) ", log)[1]
    assert not os.path.exists(scratch)  # worker 1 wrote its copy there, then deleted it

    # ... equal to one device on the global batch, ...
    assert max_diff(weights, reference) < 1e-4
    # ... and not to a worker that trained alone on its shard (no all-reduce).
    monkeypatch.setattr(cluster, "this_worker", lambda strategy: cluster.Worker(0, 2))
    alone = train(
        load_config(
            TrainConfig,
            "train",
            "tiny",
            run_args(tiny_corpus_dir, root / "alone", root / "cache")[2:],
        )
    )
    assert max_diff(final_weights(alone), reference) > 1e-3


def test_a_killed_worker_stops_the_run_and_both_resume(one_device, tiny_corpus_dir):
    root, reference = one_device
    run = root / "killed"
    # A state after every step, so that the kill lands between two saved steps.
    args = run_args(tiny_corpus_dir, run, root / "cache", "checkpoint_minutes=0.0")
    proc = launch(args, root)
    pids = {}
    lines = []
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if m := re.search(r"worker (\d): pid (\d+)", line):
            pids[int(m[1])] = int(m[2])
        if "reads shard 1" in line:  # worker 1 is at its first step: wait for a saved one
            while not C.has_state(run) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(pids[1], signal.SIGKILL)
            break
    rest, _ = proc.communicate(timeout=TIMEOUT_S)
    log = "".join(lines) + rest
    assert proc.returncode == 128 + signal.SIGKILL, log[-3000:]
    assert "worker 1 exited with code -9: stopping the others" in log
    position = json.loads((run / C.STATE_DIR / "position.json").read_text())
    assert position["epoch"] * 8 + position["step"] < 16  # killed mid-run
    assert not C.is_finished(run)

    resumed = launch([*args, "resume=true"], root)
    log, _ = resumed.communicate(timeout=TIMEOUT_S)
    assert resumed.returncode == 0, log[-3000:]
    for w in (0, 1):
        assert re.search(
            rf"\[w{w}\] .*resumed from .*: epoch {position['epoch'] + 1} step {position['step']}",
            log,
        )
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    # Same windows, same optimizer state: the resumed run ends where an unbroken one does.
    assert max_diff(final_weights(run), reference) < 1e-4
