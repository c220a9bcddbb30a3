"""Benchmark of a bundle against a phone budget, and the load test of the server.

``python -m kbd_lm.export.bench --bundle dist/bundle [--profile phone-a76]`` (``make bench``)
measures latency, cold start, memory and size and exits 0 (pass), 1 (a limit exceeded) or
2 (the bench could not run). Modules, one concern each:

- :mod:`.profile`: budget profiles (``budgets/*.toml``) -> :class:`BudgetConfig`;
- :mod:`.replay`: the keystrokes and new-field drafts replayed
(:mod:`kbd_lm.evaluation.keystrokes`);
- :mod:`.machine`: what the machine is (CPU, cores, package versions);
- :mod:`.child`: the measuring child processes, ``python -m kbd_lm.export.bench.child``;
- :mod:`.summary`: latency, cold-start, memory and size figures from the raw measurements;
- :mod:`.checks`: the profile's limits applied to those figures;
- :mod:`.report` and :mod:`.plot`: ``bench.md`` and ``bench.png``;
- :mod:`.run`: :func:`run_bench` and the command line :func:`main`;
- :mod:`.loadtest`: the open-loop HTTP load test of ``kbd_lm.serve``
  (``python -m kbd_lm.export.bench.loadtest``, ``make loadtest``), sent by the client
  processes of :mod:`.loadgen`.

>>> from kbd_lm.export import bench
>>> bench.load_profile("default").suggest_p99_ms
2.0
"""

from kbd_lm.export.bench.profile import BudgetConfig, load_profile, profile_names
from kbd_lm.export.bench.replay import corpus_spec, replay_plan
from kbd_lm.export.bench.run import main, run_bench
from kbd_lm.export.bench.summary import latency_summary

__all__ = [
    "BudgetConfig",
    "corpus_spec",
    "latency_summary",
    "load_profile",
    "main",
    "profile_names",
    "replay_plan",
    "run_bench",
]
