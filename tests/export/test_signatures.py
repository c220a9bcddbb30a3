"""The fixed-batch signatures in the tiny bundle: same weights, same numbers, no -1 anywhere."""

import json

import numpy as np
import pytest

from kbd_lm.export import signatures as S
from kbd_lm.inference.runtime import make_interpreter


@pytest.fixture(scope="module")
def interp(tiny_bundle):
    return make_interpreter(tiny_bundle / "model.tflite")


def test_names_and_checks():
    assert S.signature_names((8, 1, 2)) == ["step1", "advance1", "step2", "step8"]
    assert S.signature_names(()) == []
    with pytest.raises(ValueError, match="include 1"):
        S.check_batches((2, 4))
    assert S.calibration("step4", {"h": np.ones((1, 3))})["h"].shape == (4, 3)


def test_bundle_lists_fixed_signatures_with_fixed_shapes(tiny_bundle, interp):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    names = S.signature_names(S.DEFAULT_FIXED_BATCHES)
    assert set(interp.get_signature_list()) == {"step", "advance", *names}
    for name in names:
        b = S.split_name(name)[1]
        runner = interp.get_signature_runner(name)
        details = {**runner.get_input_details(), **runner.get_output_details()}
        for key, d in details.items():
            assert d["shape_signature"][0] == b, (name, key)
            assert -1 not in d["shape_signature"].tolist(), (name, key)
        assert manifest["signatures"][name]["inputs"]["ids"]["shape"] == [b]


@pytest.mark.parametrize("batch", [1, 4])
def test_fixed_signatures_match_the_dynamic_ones(interp, batch):
    dims = interp.get_signature_runner("step1").get_input_details()
    p, n = int(dims["h"]["shape"][1]), int(dims["c"]["shape"][1])
    rng = np.random.default_rng(batch)
    ids = rng.integers(4, 100, batch).astype(np.int32)
    h = rng.normal(0, 0.3, (batch, p)).astype(np.float32)
    c = rng.normal(0, 0.3, (batch, n)).astype(np.float32)
    fixed = interp.get_signature_runner(f"step{batch}")(ids=ids, h=h, c=c)
    dynamic = interp.get_signature_runner("step")(ids=ids, h=h, c=c)
    for key in ("logprobs", "h_out", "c_out"):
        np.testing.assert_allclose(fixed[key], dynamic[key], atol=1e-5)
    if batch == 1:
        adv = interp.get_signature_runner("advance1")(ids=ids, h=h, c=c)
        np.testing.assert_allclose(adv["c_out"], dynamic["c_out"], atol=1e-5)
