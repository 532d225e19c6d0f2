"""Which worker of a multi-worker training this process is, read from ``TF_CONFIG``.

Plain JSON parsing, no TensorFlow: the Kedro hook that keeps non-chief workers from
saving needs the answer without starting TensorFlow. The rules are those of
``tf.distribute.MultiWorkerMirroredStrategy``: the task ``chief`` is the chief when the
cluster has one, otherwise ``worker`` 0 is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

TASK_TYPES = ("chief", "worker")


@dataclass(frozen=True)
class WorkerTask:
    """This process's place in the cluster."""

    task_type: str
    index: int
    n_workers: int  # chief included
    is_chief: bool


def worker_task(tf_config: str | None) -> WorkerTask:
    """Parse and check ``TF_CONFIG`` (the environment variable's text).

    Raises ValueError with one line saying what is wrong and what to set.
    """
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\' (docs/scaling.md)'
    )
    if not tf_config:
        raise ValueError(
            "training.distribute=multi_worker needs the TF_CONFIG environment variable on "
            f"every worker, {example}; on one machine use mirrored (several GPUs), "
            "one_device or none"
        )
    try:
        parsed = json.loads(tf_config)
        cluster, task = parsed["cluster"], parsed["task"]
        task_type, index = task["type"], int(task["index"])
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"TF_CONFIG is not a cluster and a task ({error!r}): {example}") from None
    unknown = sorted(set(cluster) - set(TASK_TYPES))
    if unknown or task_type not in TASK_TYPES:
        raise ValueError(
            f"TF_CONFIG: task types must be {' and '.join(TASK_TYPES)} (no parameter "
            f"servers or evaluators), got {unknown or task_type!r}: {example}"
        )
    if not 0 <= index < len(cluster.get(task_type, [])):
        raise ValueError(
            f"TF_CONFIG: task {task_type} {index} is not in the cluster's "
            f"{task_type} list {cluster.get(task_type, [])}: {example}"
        )
    n_workers = sum(len(cluster.get(name, [])) for name in TASK_TYPES)
    if n_workers < 2:
        raise ValueError(
            "TF_CONFIG lists one worker: training.distribute=multi_worker needs two or more; "
            "on one machine use mirrored (several GPUs), one_device or none"
        )
    is_chief = task_type == "chief" or ("chief" not in cluster and index == 0)
    return WorkerTask(task_type, index, n_workers, is_chief)
