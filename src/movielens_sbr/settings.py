"""Kedro project settings: hooks and the configuration loader.

kedro-mlflow's own hook starts and ends the MLflow run of every ``kedro run`` (registered
here, not by its plugin entry point, see ``hooks.KedroMlflowHook``); ``MlflowRunHook`` adds
the project's metrics, artifacts, nested runs and the registered model to that run.
"""

import os

from omegaconf import DictConfig, OmegaConf

from movielens_sbr.hooks import (
    AtomicSavesHook,
    ChampionModelHook,
    ChiefSavesHook,
    KedroMlflowHook,
    MissingInputsHook,
    MlflowRunHook,
    NodeTimingHook,
    ProjectSetupHook,
    RunManifestHook,
    RunSummaryHook,
)
from movielens_sbr.run_commit import (
    CompleteRunsHook,
    DiscardFailedRunHook,
    KilledRunsCleanupHook,
    ModelLineageHook,
)


def _env(name: str, default: str = "") -> str:
    """``${env:NAME,default}`` in conf/: the environment variable, or the default."""
    return os.environ.get(name, default)


def _merge(*parts) -> dict:
    """``${merge:${training},{loss: bpr_max}}`` in conf/: the first mapping with the keys of
    the next ones replaced (shallow), so experiment variants state only what they change."""
    merged: dict = {}
    for part in parts:
        value = OmegaConf.to_container(part, resolve=True) if isinstance(part, DictConfig) else part
        if not isinstance(value, dict):
            return value  # e.g. `--params training=5`: parameter validation names it
        merged.update(value)
    return merged


HOOKS = (
    KedroMlflowHook(),
    ProjectSetupHook(),
    MissingInputsHook(),
    AtomicSavesHook(),
    ChiefSavesHook(),
    RunManifestHook(),
    NodeTimingHook(),
    MlflowRunHook(),
    ChampionModelHook(),
    RunSummaryHook(),
    # Readers see complete runs only: a failed or killed run leaves the latest versions as
    # they were (movielens_sbr/run_commit.py, docs/reliability.md).
    CompleteRunsHook(),
    DiscardFailedRunHook(),
    KilledRunsCleanupHook(),
    ModelLineageHook(),
)

# Its plugin registers it too; here it is registered above instead (its distribution name).
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (conf/<dataset>/, conf/local/) changes single keys of a section, not
    # the whole section: `training: {loss: ...}` keeps the other training defaults.
    # So does conf/local/mlflow.yml: `tracking: {disable_tracking: ...}` keeps the rest.
    "merge_strategy": {"parameters": "soft", "globals": "soft", "mlflow": "soft"},
    "custom_resolvers": {"env": _env, "merge": _merge},
}
