"""One percentile for every report: linear interpolation, numpy's default."""

from __future__ import annotations

import numpy as np
import pytest

from kbd_lm.common.stats import PERCENTILE_METHOD, median, percentiles


def test_percentiles_interpolate_linearly_like_numpy():
    rng = np.random.default_rng(0)
    values = rng.lognormal(0, 1, 1001).tolist()
    got = percentiles(values, (50, 90, 99, 99.9))
    want = np.percentile(values, [50, 90, 99, 99.9])
    assert list(got) == ["p50", "p90", "p99", "p99.9"]
    assert list(got.values()) == [float(x) for x in want]  # exactly numpy's
    assert percentiles(np.asarray(values)) == percentiles(values)
    assert PERCENTILE_METHOD == "linear interpolation"


def test_not_nearest_rank():
    """The load test used nearest rank (p99 of 1..100 = 99, of [1, 2] = 2); no more."""
    assert percentiles(range(1, 101))["p99"] == pytest.approx(99.01)
    assert percentiles([1.0, 2.0], (50, 99)) == pytest.approx({"p50": 1.5, "p99": 1.99})


def test_empty_and_median():
    assert percentiles([]) == {"p50": None, "p99": None}
    assert median([]) is None
    assert median([4.0, 1.0, 3.0]) == 3.0 and median([1.0, 2.0]) == 1.5
