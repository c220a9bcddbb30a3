import json

import numpy as np
import pytest

from kbd_lm.common.config import ConfigError
from kbd_lm.training.cluster import (
    SINGLE,
    ClusterError,
    Worker,
    digest,
    shard,
    worker_from_tf_config,
)


def tf_config(cluster, kind, index):
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


def test_worker_ids_follow_tensorflow_a_chief_is_worker_zero():
    workers = {"worker": ["a:1", "b:1"]}
    assert worker_from_tf_config(tf_config(workers, "worker", 0)) == Worker(0, 2)
    assert worker_from_tf_config(tf_config(workers, "worker", 1)) == Worker(1, 2)
    assert not Worker(1, 2).is_chief and Worker(0, 2).is_chief
    with_chief = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}
    assert worker_from_tf_config(tf_config(with_chief, "chief", 0)) == Worker(0, 3)
    assert worker_from_tf_config(tf_config(with_chief, "worker", 0)) == Worker(1, 3)
    assert worker_from_tf_config(None) == SINGLE == worker_from_tf_config("")


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster" and "task"'),
        (tf_config({"worker": ["a:1"], "ps": ["p:1"]}, "worker", 0), "task type"),
        (tf_config({"worker": ["a:1"]}, "worker", 1), "not one of the cluster's tasks"),
        (tf_config({"worker": ["a:1"]}, "evaluator", 0), "not one of the cluster's tasks"),
        (tf_config({"chief": ["a:1", "b:1"]}, "chief", 0), "at most one"),
    ],
)
def test_a_tf_config_kbd_lm_cannot_train_with_is_a_config_error(text, message):
    with pytest.raises(ClusterError, match=message) as err:
        worker_from_tf_config(text)
    assert isinstance(err.value, ConfigError)  # the CLI answers it in one line, exit 2


def test_the_shards_of_a_step_make_up_its_global_batch():
    starts = np.random.default_rng(0).permutation(1000)[:96]  # 3 global batches of 32
    shards = [shard(starts, i, 4, 32) for i in range(4)]
    assert all(len(s) == 24 for s in shards)
    for step in range(3):
        together = np.concatenate([s[step * 8 : (step + 1) * 8] for s in shards])
        assert np.array_equal(together, starts[step * 32 : (step + 1) * 32])
    assert np.array_equal(shard(starts, 0, 1, 32), starts)


def test_a_batch_that_does_not_split_over_the_workers_is_refused():
    with pytest.raises(ClusterError, match="batch_size 30 must split evenly over 4 workers"):
        shard(np.arange(60), 1, 4, 30)


def test_digest_tells_bitwise_equal_weights_apart_from_nearly_equal_ones():
    w = {"a": np.ones((2, 3), np.float32), "b": np.zeros(4, np.float32)}
    same = {k: v.copy() for k, v in w.items()}
    assert digest(w) == digest(same)
    same["a"][0, 0] = np.nextafter(np.float32(1), np.float32(2))
    assert digest(w) != digest(same)
