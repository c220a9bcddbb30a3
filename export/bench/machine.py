"""The machine a bench ran on: CPU model and frequency, cores, Python and runtime versions.

>>> info = machine_info()
>>> info["cpu_count"] >= 1, sorted(info["versions"])[0]
(True, 'ai-edge-litert')
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

VERSIONED_PACKAGES = ("ai-edge-litert", "tflite-runtime", "numpy", "sentencepiece")


def cpu_ticks(core: int) -> tuple[int, int] | None:
    """(steal, total) clock ticks of one core since boot, from ``/proc/stat`` (Linux); None
    elsewhere. Steal is the time a virtual machine's core waited for the hypervisor: on a
    shared cloud host it makes latencies worse than the code's own.

    >>> ticks = cpu_ticks(0)
    >>> ticks is None or 0 <= ticks[0] <= ticks[1]
    True
    """
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, *fields = line.split()
        if name == f"cpu{core}":
            ticks = [int(f) for f in fields]
            # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time
            # is counted in user already.
            return (ticks[7] if len(ticks) > 7 else 0), sum(ticks[:8])
    return None


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of a core's time its hypervisor took between two :func:`cpu_ticks` readings.

    >>> steal_share((10, 1000), (15, 1100))
    0.05
    """
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def machine_info(cpu: int | None = None) -> dict:
    """CPU model, frequency, cores, Python and runtime versions, load average.

    >>> info = machine_info()
    >>> sorted(info["versions"])
    ['ai-edge-litert', 'numpy', 'sentencepiece', 'tflite-runtime']
    """
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {
        "cpu_model": platform.processor() or platform.machine(),
        "cpu_mhz": None,
        "cpu_max_mhz": None,
    }
    try:
        blocks = Path("/proc/cpuinfo").read_text().split("\n\n")
    except OSError:
        blocks = []
    for block in blocks:
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if not fields:
            continue
        if "model name" in fields:
            info["cpu_model"] = fields["model name"]
        if "cpu MHz" in fields and (cpu is None or fields.get("processor") == str(cpu)):
            info["cpu_mhz"] = round(float(fields["cpu MHz"]))
            if cpu is not None:
                break
    freq = Path(f"/sys/devices/system/cpu/cpu{cpu or 0}/cpufreq/cpuinfo_max_freq")
    if freq.is_file():
        info["cpu_max_mhz"] = round(int(freq.read_text()) / 1000)
    info["cpu_count"] = os.cpu_count()
    info["allowed_cores"] = (
        sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    )
    info["python"] = f"{platform.python_implementation()} {platform.python_version()}"
    info["platform"] = platform.platform()
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    info["versions"] = versions
    info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return info
