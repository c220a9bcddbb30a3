"""Steal time: the share of the measuring core the hypervisor took while timing."""

from pathlib import Path

import pytest

from kbd_lm.export.bench.machine import cpu_ticks, steal_share


def test_steal_share_of_two_readings():
    assert steal_share((10, 1000), (15, 1100)) == pytest.approx(0.05)
    assert steal_share((10, 1000), (10, 1000)) is None  # no time passed: no share
    assert steal_share(None, (15, 1100)) is None  # not Linux


@pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="/proc/stat is Linux's")
def test_cpu_ticks_read_this_core():
    steal, total = cpu_ticks(0)
    assert 0 <= steal <= total
    assert cpu_ticks(10_000) is None  # no such core
