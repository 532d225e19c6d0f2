"""Reading this worker's place in the cluster from TF_CONFIG."""

from __future__ import annotations

import json

import pytest

from movielens_sbr.model.cluster import worker_task

WORKERS = {"worker": ["10.0.0.1:2222", "10.0.0.2:2222", "10.0.0.3:2222"]}


def tf_config(cluster: dict, task_type: str, index: int) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def test_worker_zero_is_the_chief_unless_the_cluster_names_one():
    tasks = [worker_task(tf_config(WORKERS, "worker", i)) for i in range(3)]
    assert [task.is_chief for task in tasks] == [True, False, False]
    assert {task.n_workers for task in tasks} == {3}
    with_chief = {"chief": ["10.0.0.9:2222"], **WORKERS}
    assert worker_task(tf_config(with_chief, "chief", 0)).is_chief
    assert not worker_task(tf_config(with_chief, "worker", 0)).is_chief
    assert worker_task(tf_config(with_chief, "worker", 0)).n_workers == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "needs the TF_CONFIG environment variable"),
        ("{not json", "TF_CONFIG is not a cluster and a task"),
        (json.dumps({"cluster": WORKERS}), "TF_CONFIG is not a cluster and a task"),
        (tf_config({**WORKERS, "ps": ["10.0.0.5:2222"]}, "worker", 0), "no parameter servers"),
        (tf_config(WORKERS, "worker", 3), "task worker 3 is not in the cluster"),
        (tf_config({"worker": ["10.0.0.1:2222"]}, "worker", 0), "lists one worker"),
    ],
)
def test_unusable_tf_config_is_rejected_in_one_line(text, message):
    with pytest.raises(ValueError, match=message) as error:
        worker_task(text)
    assert "\n" not in str(error.value)
