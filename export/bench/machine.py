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
