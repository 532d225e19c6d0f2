"""Schemas of the parameter files, checked before any node runs (no Kedro imports).

Unknown keys, wrong types and impossible values fail with the file and the key named,
and the allowed values listed.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestionParams(_Strict):
    """conf/base/parameters_ingestion.yml: ``ingestion``."""

    # A key of movielens_sbr.data.movielens.DATASETS; set by each dataset's Kedro environment.
    dataset: str = "ml-1m"
    on_bad_lines: Literal["fail", "skip"] = "fail"
    max_skipped_fraction: float = Field(0.01, ge=0, le=1)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, dataset: str) -> str:
        from movielens_sbr.data.movielens import DATASETS

        if dataset not in DATASETS:
            raise ValueError(
                f"unknown dataset {dataset!r}; choose among {sorted(DATASETS)} "
                "(and switch with --env <dataset>)"
            )
        return dataset


class SessionsParams(_Strict):
    """conf/base/parameters_sessions.yml: ``sessions``."""

    session_mode: Literal["user", "gap"] = "gap"
    gap_minutes: float = Field(60.0, gt=0)
    tie_order: Literal["random", "file", "item"] = "random"
    min_rating: int | None = Field(None, ge=1, le=5)
    collapse_repeats: bool = True
    min_session_length: int = Field(2, ge=2)
    min_item_support: int = Field(5, ge=1)
    split_rule: Literal["time", "session_end"] = "time"
    valid_fraction: float = Field(0.1, ge=0, lt=0.5)
    test_fraction: float = Field(0.1, gt=0, lt=0.5)


class TrainingParams(_Strict):
    """conf/base/parameters_training.yml: ``training``."""

    layers: list[int] = Field(default_factory=lambda: [256], min_length=1)
    embedding: Literal["embedding", "onehot", "constrained"] = "embedding"
    embedding_dim: int = Field(256, gt=0)
    dropout_embedding: float = Field(0.0, ge=0, lt=1)
    dropout_hidden: float = Field(0.0, ge=0, lt=1)
    loss: Literal["cross_entropy", "sampled_cross_entropy", "bpr_max"] = "cross_entropy"
    n_sample: int = Field(2048, ge=0)
    sample_alpha: float = Field(0.5, ge=0, le=1)
    logq: float = Field(1.0, ge=0)
    bpreg: float = Field(1.0, ge=0)
    optimizer: Literal["adam", "adagrad"] = "adam"
    learning_rate: float = Field(0.001, gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)
    batch_size: int = Field(128, gt=0)
    epochs: int = Field(5, gt=0)
    steps_per_call: int = Field(64, gt=0)
    jit_compile: bool = False
    # Adagrad updates only the item rows a step used (sampled losses; large catalogues).
    sparse_updates: bool = False
    selection_metric: str = Field("recall@20", pattern=r"^(recall|mrr)@\d+$")
    eval_batch_size: int = Field(1024, gt=0)
    # Continue from the last epoch checkpoint (gru4rec_checkpoints) instead of starting over.
    resume: bool = False
    # tf.distribute strategy of the training loop (docs/scaling.md).
    distribute: Literal["none", "one_device", "mirrored"] = "none"

    @model_validator(mode="after")
    def _positive_layers(self) -> TrainingParams:
        if any(size <= 0 for size in self.layers):
            raise ValueError(f"layers must all be positive, got {self.layers}")
        return self


class SASRecParams(_Strict):
    """conf/base/parameters_sasrec.yml: ``sasrec``."""

    max_len: int = Field(200, gt=0)
    hidden_size: int = Field(64, gt=0)
    n_heads: int = Field(1, gt=0)
    n_blocks: int = Field(2, gt=0)
    dropout: float = Field(0.2, ge=0, lt=1)
    loss: Literal["cross_entropy", "sampled_cross_entropy", "bce"] = "cross_entropy"
    n_sample: int = Field(256, gt=0)
    sample_alpha: float = Field(0.0, ge=0, le=1)
    logq: float = Field(1.0, ge=0)
    learning_rate: float = Field(0.001, gt=0)
    batch_size: int = Field(128, gt=0)
    epochs: int = Field(20, gt=0)
    patience: int = Field(3, ge=0)
    selection_metric: str = Field("recall@20", pattern=r"^(recall|mrr)@\d+$")
    eval_batch_size: int = Field(1024, gt=0)
    resume: bool = False

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> SASRecParams:
        if self.hidden_size % self.n_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of n_heads={self.n_heads}"
            )
        return self


class EvaluationParams(_Strict):
    """conf/base/parameters_evaluation.yml: ``evaluation``."""

    ks: list[int] = Field(default_factory=lambda: [1, 5, 10, 20], min_length=1)
    ties: Literal["pessimistic", "optimistic", "average"] = "pessimistic"
    exclude_seen: bool = True
    batch_size: int = Field(1024, gt=0)
    n_examples: int = Field(10, ge=0)
    n_recommendations: int = Field(10, gt=0)
    baselines: dict[str, dict] = Field(default_factory=lambda: {"pop": {}, "markov": {}})
    n_bootstrap: int = Field(1000, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    breakdown_positions: int = Field(10, ge=1)
    length_buckets: list[int] = Field(default_factory=lambda: [2, 3, 5, 10, 20, 50], min_length=1)
    shuffle_check: list[str] = Field(default_factory=lambda: ["gru4rec", "markov"])

    @model_validator(mode="after")
    def _check(self) -> EvaluationParams:
        if any(k <= 0 for k in self.ks):
            raise ValueError(f"ks must all be positive, got {self.ks}")
        edges = list(self.length_buckets)
        if sorted(set(edges)) != edges or edges[0] < 1 or edges[0] > 2:
            raise ValueError(
                "length_buckets must be increasing session lengths starting at 1 or 2 "
                f"(the shortest session with a prediction), got {edges}"
            )
        from movielens_sbr.evaluation.baselines import BASELINES

        unknown = sorted(set(self.baselines) - set(BASELINES))
        if unknown:
            raise ValueError(f"unknown baselines {unknown}; choose among {sorted(BASELINES)}")
        for name, options in self.baselines.items():
            accepted = set(inspect.signature(BASELINES[name]).parameters) - {
                "train",
                "n_items",
                "seed",  # the global seed, passed by the pipeline
            }
            if set(options or {}) - accepted:
                raise ValueError(
                    f"baselines.{name} accepts {sorted(accepted) or 'no options'}, "
                    f"got {sorted(options)}"
                )
        known = {"gru4rec", *BASELINES}
        if set(self.shuffle_check) - known:
            raise ValueError(
                f"shuffle_check names unknown methods {sorted(set(self.shuffle_check) - known)}; "
                f"choose among {sorted(known)}"
            )
        return self


_NOT_TUNABLE = {
    "epochs",
    "steps_per_call",
    "jit_compile",
    "sparse_updates",
    "selection_metric",
    "eval_batch_size",
    "resume",
}


class TuningParams(_Strict):
    """conf/base/parameters_tuning.yml: ``tuning``."""

    time_budget_minutes: float = Field(60.0, gt=0)
    n_trials: int = Field(40, gt=0)
    epochs: int = Field(4, gt=0)
    search_space: dict[str, dict] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_space(self) -> TuningParams:
        tunable = (set(TrainingParams.model_fields) - _NOT_TUNABLE - {"layers"}) | {"layer_size"}
        for name, spec in self.search_space.items():
            where = f"search_space.{name}"
            if name not in tunable:
                raise ValueError(f"{where} is not tunable; choose among {sorted(tunable)}")
            if set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]:
                values = spec["choices"]
            elif {"low", "high"} <= set(spec) <= {"low", "high", "log"}:
                if not spec["low"] < spec["high"]:
                    raise ValueError(f"{where}: low must be below high, got {spec}")
                if spec.get("log") and spec["low"] <= 0:
                    raise ValueError(f"{where}: a log range needs low > 0, got {spec}")
                values = [spec["low"], spec["high"]]
            else:
                raise ValueError(
                    f"{where}: expected {{choices: [...]}} or {{low: .., high: ..[, log: true]}}, "
                    f"got {spec}"
                )
            for value in values:  # every value must be a valid training parameter
                option = {"layers": [value]} if name == "layer_size" else {name: value}
                try:
                    TrainingParams.model_validate(option)
                except ValidationError as error:
                    reason = error.errors()[0]["msg"]
                    raise ValueError(f"{where}: {value!r} is not allowed ({reason})") from None
        return self


class RecommendingParams(_Strict):
    """conf/base/parameters_recommending.yml: ``recommending``."""

    n: int = Field(10, gt=0)
    exclude_seen: bool = True
    method: str = "gru4rec"
    genres: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> RecommendingParams:
        from movielens_sbr.evaluation.baselines import BASELINES

        if self.method != "gru4rec" and self.method not in BASELINES:
            raise ValueError(
                f"method must be gru4rec or a baseline {sorted(BASELINES)}, got {self.method!r}"
            )
        return self


SECTIONS: dict[str, type[_Strict]] = {
    "ingestion": IngestionParams,
    "sessions": SessionsParams,
    "training": TrainingParams,
    "sasrec": SASRecParams,
    "evaluation": EvaluationParams,
    "tuning": TuningParams,
    "recommending": RecommendingParams,
}


class ParameterError(ValueError):
    """A parameter file has an unknown key, a wrong type or an impossible value."""


def validate_section(section: str, values: dict, key: str | None = None) -> _Strict:
    """Validate one parameter section; the error names the file and the key.

    ``key`` is where the section sits when it is namespaced (``experiments.x.training``,
    in parameters_experiments.yml); by default the top-level ``section``.
    """
    key = key or section
    try:
        return SECTIONS[section].model_validate(values or {})
    except ValidationError as error:
        problems = []
        for issue in error.errors():
            name = ".".join(str(part) for part in (key, *issue["loc"]))
            given = f" (got {issue['input']!r})" if issue["type"] != "missing" else ""
            problems.append(f"  {name}: {issue['msg']}{given}")
        raise ParameterError(
            f"Invalid parameters in conf/base/parameters_{key.split('.')[0]}.yml "
            "(or its overrides):\n" + "\n".join(problems)
        ) from None


def _namespaced_sections(params: dict, path: tuple[str, ...] = ()):
    """``(key, section, values)`` of every known section nested under a namespace."""
    for name, values in params.items():
        if not isinstance(values, dict):
            continue
        if name in SECTIONS:
            if path:
                yield ".".join((*path, name)), name, values
        else:
            yield from _namespaced_sections(values, (*path, name))


def validate_parameters(params: dict) -> None:
    """Validate every known section and the global seed of a Kedro parameters dict."""
    seed = params.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ParameterError(
            f"seed in conf/base/parameters.yml must be an integer >= 0, got {seed!r}"
        )
    # Other top-level keys may be namespaces of other pipelines; a near miss of a known
    # section is a typo that would otherwise silently run with the defaults.
    known = ["seed", *SECTIONS]
    typos = {
        name: close[0]
        for name in sorted(set(params) - set(known))
        if (close := difflib.get_close_matches(name, known, n=1, cutoff=0.75))
    }
    if typos:
        raise ParameterError(
            "Unknown parameter section(s) "
            + ", ".join(f"{name!r} (did you mean {match!r}?)" for name, match in typos.items())
            + f" in conf/base/parameters*.yml or --params; known sections: {known}"
        )
    for section in SECTIONS:
        if section in params:
            validate_section(section, params[section])
    for key, section, values in _namespaced_sections(params):
        validate_section(section, values, key)


def load_parameters(conf_dir: Path, overrides: Iterable[str] = ()) -> dict:
    """Every ``parameters*.yml`` of ``conf_dir`` with ``SECTION.KEY=VALUE`` overrides (YAML
    values), validated: the parameters of a run, for scripts that run without Kedro."""
    import yaml

    params: dict = {}
    for path in sorted(Path(conf_dir).glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()))
    for override in overrides:
        key, value = override.split("=", 1)
        section, name = key.split(".", 1)
        params[section][name] = yaml.safe_load(value)
    validate_parameters(params)
    return params
