"""Training across processes: who this worker is, which data it reads, and checks that agree.

With ``strategy = "multi_worker"`` every worker runs the same ``kbd-lm train`` command with its
own ``TF_CONFIG`` (the variable TensorFlow's ``MultiWorkerMirroredStrategy`` reads)::

    {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
     "task": {"type": "worker", "index": 0}}

Worker ids follow TensorFlow's: a ``"chief"`` task, if the cluster has one, is worker 0 and the
workers follow it; without one, worker 0 is the chief. Only the chief writes the run folder;
the others write theirs to a temporary folder they delete (TensorFlow's pattern).

**Sharding rule** (:func:`shard`): every worker computes the same global window order of an
epoch, cuts it into global batches of ``batch_size`` windows, and worker ``i`` of ``n`` takes
the ``i``-th of ``n`` equal slices of every global batch. Step ``k`` of all workers together
therefore trains on exactly the global batch ``k`` a single worker would train on, and the
gradients, averaged over the workers, are those of that global batch.

>>> shard(np.arange(8), worker_index=1, num_workers=2, batch_size=4)
array([2, 3, 6, 7])

Nothing here imports TensorFlow at import time; the collective helpers take the strategy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kbd_lm.common.config import ConfigError

if TYPE_CHECKING:
    from kbd_lm.training.checkpoint import ResumeState

log = logging.getLogger(__name__)


class ClusterError(ConfigError):
    """A ``TF_CONFIG`` kbd-lm cannot train with, or workers that disagree on their inputs."""


@dataclass(frozen=True)
class Worker:
    """This process in a training cluster: ``index`` of ``count`` workers (0 is the chief)."""

    index: int = 0
    count: int = 1

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    def __str__(self) -> str:
        return f"worker {self.index} of {self.count}"


SINGLE = Worker()


def worker_from_tf_config(text: str | None) -> Worker:
    """Parse a ``TF_CONFIG`` value; None or empty means a single worker.

    >>> worker_from_tf_config('{"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]},'
    ...                       ' "task": {"type": "worker", "index": 1}}')
    Worker(index=2, count=3)
    """
    if not text:
        return SINGLE
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ClusterError(f"TF_CONFIG is not valid JSON: {err}") from err
    cluster = doc.get("cluster") if isinstance(doc, dict) else None
    task = doc.get("task") if isinstance(doc, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ClusterError('TF_CONFIG needs "cluster" and "task" objects')
    unknown = sorted(set(cluster) - {"chief", "worker"})
    if unknown:
        raise ClusterError(
            f"TF_CONFIG cluster has task type(s) {', '.join(unknown)}: kbd-lm trains with "
            '"chief" and "worker" tasks only (MultiWorkerMirroredStrategy)'
        )
    chiefs, workers = cluster.get("chief", []), cluster.get("worker", [])
    if not isinstance(chiefs, list) or not isinstance(workers, list) or len(chiefs) > 1:
        raise ClusterError('TF_CONFIG: "chief" is a list of at most one address, "worker" a list')
    kind, index = task.get("type"), task.get("index", 0)
    tasks = {"chief": chiefs, "worker": workers}
    if kind not in tasks or not isinstance(index, int) or not 0 <= index < len(tasks[kind]):
        raise ClusterError(f"TF_CONFIG task {task!r} is not one of the cluster's tasks")
    return Worker(index + (len(chiefs) if kind == "worker" else 0), len(chiefs) + len(workers))


def this_worker(strategy: str) -> Worker:
    """This process's place for a training strategy; only ``multi_worker`` reads TF_CONFIG."""
    return (
        worker_from_tf_config(os.environ.get("TF_CONFIG")) if strategy == "multi_worker" else SINGLE
    )


def shard(starts: np.ndarray, worker_index: int, num_workers: int, batch_size: int) -> np.ndarray:
    """This worker's windows of an epoch: its slice of every global batch (the module's rule).

    ``starts``: the epoch's global window order, a multiple of ``batch_size`` long (a resumed
    run passes it from its first untrained global batch on). Returns ``len(starts) /
    num_workers`` starts: ``batch_size / num_workers`` per step, in step order.
    """
    if batch_size % num_workers or len(starts) % batch_size:
        raise ClusterError(
            f"batch_size {batch_size} must split evenly over {num_workers} workers "
            f"(and {len(starts)} windows into global batches)"
        )
    per_worker = batch_size // num_workers
    return starts.reshape(-1, num_workers, per_worker)[:, worker_index].reshape(-1)


def log_shard(worker: Worker, epoch: int, batch_size: int, windows: int, start_step: int) -> None:
    """Log which slice of every global batch ``worker`` reads in ``epoch`` (0-based)."""
    n, i = worker.count, worker.index
    log.info(
        "epoch %d: %s reads shard %d: windows %d-%d of every global batch of %d "
        "(%s windows from step %d)",
        epoch + 1,
        worker,
        i,
        i * batch_size // n,
        (i + 1) * batch_size // n - 1,
        batch_size,
        f"{windows:,}",
        start_step,
    )


@contextmanager
def run_folder(worker: Worker, out_dir: Path) -> Iterator[Path]:
    """The folder this worker writes its run to: ``out_dir`` for the chief, a temporary
    folder (deleted on exit) for the others, so that only the chief's files remain."""
    if worker.is_chief:
        yield out_dir
        return
    with tempfile.TemporaryDirectory(prefix=f"kbd-lm-worker{worker.index}-") as scratch:
        log.info("%s: not the chief, writes to %s (deleted at the end)", worker, scratch)
        yield Path(scratch)


def digest(arrays: Mapping[str, np.ndarray]) -> str:
    """A short hash of named arrays (weights), equal only for bitwise equal values."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{value.dtype}:{value.shape}:".encode())
        h.update(value.tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- collectives


def all_gather(strategy, values) -> np.ndarray:
    """Every worker's ``values`` (a float vector), stacked: [workers, len(values)].

    A collective: every worker must call it, in the same order. It doubles as a barrier.
    """
    import tensorflow as tf

    gather = _GATHER.get(strategy)
    if gather is None:  # one graph per strategy, traced once: eager collectives are slow

        @tf.function(input_signature=[tf.TensorSpec([1, None], tf.float64)])
        def gather(local):
            per_replica = strategy.run(tf.identity, (local,))
            return strategy.gather(per_replica, axis=0)

        _GATHER[strategy] = gather
    return gather(tf.constant(np.asarray(values, np.float64).reshape(1, -1))).numpy()


_GATHER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_agreement(strategy, worker: Worker, facts: Mapping[str, float]) -> None:
    """Raise :class:`ClusterError` unless every worker passes the same ``facts``.

    ``facts``: name -> a number below 2**52 (sizes, positions, hashes cut to 48 bits).
    Workers that read different data or resumed from different states would otherwise
    train together on garbage, or wait for each other forever.
    """
    if worker.count == 1:
        return
    names = list(facts)
    table = all_gather(strategy, [facts[n] for n in names])
    differ = [n for i, n in enumerate(names) if np.any(table[:, i] != table[0, i])]
    if differ:
        detail = "; ".join(f"{n}: {[int(v) for v in table[:, names.index(n)]]}" for n in differ)
        raise ClusterError(
            f"the {worker.count} workers disagree ({detail}): give every worker the same "
            "corpus, config and run folder (a resumed run reads the chief's out_dir)"
        )


@contextmanager
def chief_first(strategy, worker: Worker) -> Iterator[None]:
    """Run the block on the chief first, then on the others (two barriers): on a shared
    ``cache_dir`` the others then find the chief's corpus and tokenizer files ready instead
    of building the same files at the same time."""
    if not worker.is_chief:
        all_gather(strategy, [0])
    yield
    if worker.is_chief and worker.count > 1:
        all_gather(strategy, [0])


def check_start(strategy, worker: Worker, data, config_text: str, position: ResumeState) -> None:
    """:func:`check_agreement` on what a run starts from: the tokenizer, the data sizes
    (``data``: the run's :class:`~kbd_lm.training.data.EncodedSplits`), the config, the position."""
    facts = {
        "tokenizer hash": hash48(data.tokenizer.proto),
        "train tokens": data.tokens_per_epoch,
        "valid tokens": len(data.valid_ids),
        "config hash": hash48(config_text),
        "epoch": position.epoch,
        "step": position.step,
    }
    check_agreement(strategy, worker, facts)


def check_weights(strategy, worker: Worker, weights: Mapping[str, np.ndarray]) -> None:
    """The all-reduced updates keep the workers' weights bitwise equal: checked, not assumed."""
    if worker.count == 1:
        return
    value = digest(weights)
    check_agreement(strategy, worker, {"weights hash": hash48(value)})
    log.info("%s: final weights %s, the same on all %d workers", worker, value, worker.count)


def hash48(data: bytes | str) -> int:
    """A 48-bit hash: exact in a float64, for :func:`check_agreement`."""
    raw = data.encode() if isinstance(data, str) else data
    return int.from_bytes(hashlib.sha256(raw).digest()[:6], "big")
