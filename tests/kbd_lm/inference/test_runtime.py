"""The interpreters that run a bundle: one shared by every batch size with a fixed signature."""

import numpy as np

from kbd_lm.inference.runtime import open_step_models


def test_one_interpreter_serves_every_fixed_batch_size(tiny_bundle):
    models = open_step_models(tiny_bundle / "model.tflite", (1, 2, 4, 8))
    assert list(models) == [1, 2, 4, 8]
    assert len({id(m.interp) for m in models.values()}) == 1  # weights loaded once
    assert models[1].has_advance and not models[8].has_advance  # advance1 only
    ids = np.arange(5, 13, dtype=np.int32)
    big = models[8].step(ids, *models[8].zero_state())[0]  # [8, V]
    for r in range(8):  # every row as batch 1 would give it
        one = models[1].step(ids[r : r + 1], *models[1].zero_state())[0]
        assert np.allclose(one[0], big[r], atol=1e-4)


def test_a_batch_size_without_a_fixed_signature_gets_its_own_interpreter(tiny_bundle):
    models = open_step_models(tiny_bundle / "model.tflite", (1, 3))
    assert models[3].interp is not models[1].interp  # the dynamic step, resized to 3
    logp, h, c = models[3].step(np.array([5, 6, 7], np.int32), *models[3].zero_state())
    assert logp.shape[0] == 3 and np.allclose(np.exp(logp).sum(1), 1, atol=1e-3)
