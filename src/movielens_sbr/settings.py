"""Kedro project settings: hooks and the configuration loader."""

import os

from movielens_sbr.hooks import (
    AtomicSavesHook,
    MissingInputsHook,
    NodeTimingHook,
    ProjectSetupHook,
    RunManifestHook,
    RunTrackingHook,
)


def _env(name: str, default: str = "") -> str:
    """``${env:NAME,default}`` in conf/: the environment variable, or the default."""
    return os.environ.get(name, default)


HOOKS = (
    ProjectSetupHook(),
    MissingInputsHook(),
    AtomicSavesHook(),
    RunManifestHook(),
    NodeTimingHook(),
    RunTrackingHook(),
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"env": _env},
}
