"""The one definition of a percentile, shared by eval, bench, export and the load test.

Percentiles interpolate linearly between the two nearest ranks (numpy's default,
``method="linear"``), so the p99 of the same samples is the same number in every report.
Reports name the method once, as :data:`PERCENTILE_METHOD`.

>>> percentiles([0.0, 100.0])  # nearest rank would say 100 for the p99
{'p50': 50.0, 'p99': 99.0}
>>> percentiles([], (50, 90))
{'p50': None, 'p90': None}
>>> median([3.0, 1.0, 2.0, 10.0])
2.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

PERCENTILE_METHOD = "linear interpolation"


def percentiles(
    values: Sequence[float] | np.ndarray, qs: Sequence[float] = (50, 99)
) -> dict[str, float | None]:
    """``{"p50": ..., "p99": ...}``: the ``qs`` percentiles (0..100) of ``values``.

    Linear interpolation between the nearest ranks (numpy's default). Every value is None
    when there are no values. Keys are ``p`` + the percentile (``p99.9`` for 99.9).

    >>> {k: round(v, 3) for k, v in percentiles(range(1, 101), (50, 90, 99.9)).items()}
    {'p50': 50.5, 'p90': 90.1, 'p99.9': 99.901}
    """
    if len(values) == 0:
        return {f"p{q:g}": None for q in qs}
    # numpy on first use: the bench's cold-start child times its own imports.
    import numpy as np

    points = np.percentile(np.asarray(values, dtype=np.float64), list(qs))
    return {f"p{q:g}": float(v) for q, v in zip(qs, points, strict=True)}


def median(values: Sequence[float] | np.ndarray) -> float | None:
    """The 50th percentile of ``values`` (see :func:`percentiles`), or None when empty.

    >>> median([5.0]), median([])
    (5.0, None)
    """
    return percentiles(values, (50,))["p50"]


def interval95(draws, axis: int | None = None):
    """The 95% bootstrap interval of resampled statistics: their 2.5th and 97.5th percentiles
    (see :func:`percentiles`); ``axis`` as numpy's, for several statistics at once.

    >>> [round(float(x), 3) for x in interval95(range(1001))]
    [25.0, 975.0]
    """
    import numpy as np

    lo, hi = np.percentile(np.asarray(draws, dtype=np.float64), [2.5, 97.5], axis=axis)
    return lo, hi
