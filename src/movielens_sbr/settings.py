"""Kedro project settings: hooks and the configuration loader."""

import os

from omegaconf import DictConfig, OmegaConf

from movielens_sbr.hooks import (
    AtomicSavesHook,
    MissingInputsHook,
    NodeTimingHook,
    ProjectSetupHook,
    RunManifestHook,
    RunSummaryHook,
    RunTrackingHook,
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
    ProjectSetupHook(),
    MissingInputsHook(),
    AtomicSavesHook(),
    RunManifestHook(),
    NodeTimingHook(),
    RunTrackingHook(),
    RunSummaryHook(),
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (conf/<dataset>/, conf/local/) changes single keys of a section, not
    # the whole section: `training: {loss: ...}` keeps the other training defaults.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
    "custom_resolvers": {"env": _env, "merge": _merge},
}
