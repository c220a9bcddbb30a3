"""The same command trains the same model: a token budget, seeded data order, seeded candidate
sampling and stateless dropout give bit-identical weights on a second run."""

import numpy as np

from kbd_lm.common.config import load_config
from kbd_lm.training import checkpoint as C
from kbd_lm.training.loop import TrainConfig, train


def _run(corpus, out, cache):
    cfg = load_config(
        TrainConfig,
        "train",
        "tiny",
        [
            f'corpus="{corpus}"',
            f'out_dir="{out}"',
            f'cache_dir="{cache}"',
            # the default preset's machinery on a tiny scale: sampled softmax, dropout, a
            # token budget that ends the run inside its second epoch
            "sampled=64",
            "dropout=0.1",
            "max_tokens=20000",
            "epochs=50",
        ],
    )
    return C.read(train(cfg))


def test_two_runs_with_the_same_seed_give_the_same_weights(tiny_corpus_dir, tmp_path):
    first = _run(tiny_corpus_dir, tmp_path / "a", tmp_path / "cache")
    second = _run(tiny_corpus_dir, tmp_path / "b", tmp_path / "cache")
    assert first.summary["stop_reason"] == "token budget of 20,000 reached"
    assert first.summary["tokens_seen"] == second.summary["tokens_seen"] >= 20_000
    assert first.summary["valid_ppl_token"] == second.summary["valid_ppl_token"]
    for name, value in first.weights.items():
        np.testing.assert_array_equal(value, second.weights[name], err_msg=name)
