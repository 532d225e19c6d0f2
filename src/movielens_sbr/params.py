"""Schemas of the parameter files, checked before any node runs (no Kedro imports).

The values live in one place, ``conf/base/parameters_*.yml``: the schemas have no
defaults, so a key missing from the merged configuration is an error, never a value
made up in code. Code that runs without Kedro (scripts, tests) starts from
``base_parameters()``, which reads conf/base. Unknown keys, wrong types (``true`` is not
a number), impossible values and empty sections all fail before anything runs, every
problem at once, each on one line with the key, the file and the allowed values.
"""

from __future__ import annotations

import copy
import difflib
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from movielens_sbr.data.sessions import SESSION_MODES, TIE_ORDERS
from movielens_sbr.evaluation.metrics import TIE_MODES

CONF_BASE = Path(__file__).resolve().parents[2] / "conf" / "base"
"""The project's conf/base: the one source of every parameter value."""

# Choices of the neural models' options, written once: the schema below and the models
# (model/gru4rec.py, model/losses.py) read them from here.
Loss = Literal["cross_entropy", "sampled_cross_entropy", "bpr_max"]
Embedding = Literal["embedding", "onehot", "constrained"]
Optimizer = Literal["adagrad", "adam"]
LOSSES: tuple[str, ...] = get_args(Loss)
EMBEDDINGS: tuple[str, ...] = get_args(Embedding)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
SASRecLoss = Literal["cross_entropy", "sampled_cross_entropy", "bce"]
SASREC_LOSSES: tuple[str, ...] = get_args(SASRecLoss)

PositiveInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


class _Strict(BaseModel):
    # strict: YAML's `true` is not the number 1, and "3" is not 3.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class IngestionParams(_Strict):
    """conf/base/parameters_ingestion.yml: ``ingestion``."""

    # A key of movielens_sbr.data.movielens.DATASETS; set by each dataset's Kedro environment.
    dataset: str
    on_bad_lines: Literal["fail", "skip"]
    max_skipped_fraction: float = Field(ge=0, le=1)

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

    session_mode: Literal[SESSION_MODES]  # type: ignore[valid-type]
    gap_minutes: float = Field(gt=0)
    tie_order: Literal[TIE_ORDERS]  # type: ignore[valid-type]
    min_rating: int | None = Field(ge=1, le=5)
    collapse_repeats: bool
    min_session_length: int = Field(ge=2)
    min_item_support: int = Field(ge=1)
    split_rule: Literal["time", "session_end"]
    valid_fraction: float = Field(ge=0, lt=0.5)
    test_fraction: float = Field(gt=0, lt=0.5)


class TrainingParams(_Strict):
    """conf/base/parameters_training.yml: ``training`` (GRU4Rec)."""

    layers: list[PositiveInt] = Field(min_length=1)
    embedding: Embedding
    embedding_dim: PositiveInt
    dropout_embedding: Fraction
    dropout_hidden: Fraction
    loss: Loss
    n_sample: int = Field(ge=0)
    sample_alpha: float = Field(ge=0, le=1)
    logq: float = Field(ge=0)
    bpreg: float = Field(ge=0)
    optimizer: Optimizer
    learning_rate: float = Field(gt=0)
    momentum: Fraction
    batch_size: PositiveInt
    epochs: PositiveInt
    steps_per_call: PositiveInt
    jit_compile: bool
    # Adagrad updates only the item rows a step used (sampled losses; large catalogues).
    sparse_updates: bool
    selection_metric: str = Field(pattern=r"^(recall|mrr)@\d+$")
    eval_batch_size: PositiveInt
    # Continue from the last epoch checkpoint (gru4rec_checkpoints) instead of starting over.
    resume: bool
    # tf.distribute strategy of the training loop (docs/scaling.md).
    distribute: Literal["none", "one_device", "mirrored", "multi_worker"]


class SASRecParams(_Strict):
    """conf/base/parameters_sasrec.yml: ``sasrec`` (SASRec)."""

    max_len: PositiveInt
    hidden_size: PositiveInt
    n_heads: PositiveInt
    n_blocks: PositiveInt
    dropout: Fraction
    loss: SASRecLoss
    n_sample: PositiveInt
    sample_alpha: float = Field(ge=0, le=1)
    logq: float = Field(ge=0)
    learning_rate: float = Field(gt=0)
    batch_size: PositiveInt
    epochs: PositiveInt
    # Epochs without a better validation metric before training stops.
    patience: int = Field(ge=0)
    selection_metric: str = Field(pattern=r"^(recall|mrr)@\d+$")
    eval_batch_size: PositiveInt
    # Continue from the last epoch checkpoint (sasrec_checkpoints) instead of starting over.
    resume: bool

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> SASRecParams:
        if self.hidden_size % self.n_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of n_heads={self.n_heads}"
            )
        return self


class EvaluationParams(_Strict):
    """conf/base/parameters_evaluation.yml: ``evaluation``."""

    ks: list[PositiveInt] = Field(min_length=1)
    ties: Literal[TIE_MODES]  # type: ignore[valid-type]
    exclude_seen: bool
    batch_size: PositiveInt
    n_examples: int = Field(ge=0)
    n_recommendations: PositiveInt
    baselines: dict[str, dict | None]
    n_bootstrap: int = Field(ge=0)
    confidence: float = Field(gt=0, lt=1)
    breakdown_positions: int = Field(ge=1)
    length_buckets: list[int] = Field(min_length=1)
    shuffle_check: list[str]

    @field_validator("length_buckets")
    @classmethod
    def _increasing_lengths(cls, edges: list[int]) -> list[int]:
        if sorted(set(edges)) != edges or edges[0] < 1 or edges[0] > 2:
            raise ValueError(
                "must be increasing session lengths starting at 1 or 2 "
                f"(the shortest session with a prediction), got {edges}"
            )
        return edges

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, baselines: dict[str, dict | None]) -> dict[str, dict]:
        from movielens_sbr import methods

        problems = []
        for name, options in baselines.items():
            method = methods.find(name)
            if method is None or method.trained:
                problems.append(
                    f"unknown baseline {name!r}; choose among {methods.names(trained=False)}"
                )
                continue
            problems += method.option_problems(options or {})
        if problems:
            raise ValueError("; ".join(problems))
        return {name: dict(options or {}) for name, options in baselines.items()}

    @field_validator("shuffle_check")
    @classmethod
    def _known_methods(cls, names: list[str]) -> list[str]:
        from movielens_sbr import methods

        unknown = [name for name in names if methods.find(name) is None]
        if unknown:
            raise ValueError(f"names unknown methods {unknown}; choose among {methods.names()}")
        return names

    @model_validator(mode="after")
    def _shuffled_methods_are_evaluated(self) -> EvaluationParams:
        from movielens_sbr import methods

        evaluated = {*methods.names(trained=True), *self.baselines}
        missing = [name for name in self.shuffle_check if name not in evaluated]
        if missing:
            raise ValueError(
                f"shuffle_check names {missing}, which are not evaluated: add them to "
                "evaluation.baselines or remove them from shuffle_check"
            )
        return self


_NOT_TUNABLE = {
    "epochs",
    "patience",
    "steps_per_call",
    "jit_compile",
    "sparse_updates",
    "selection_metric",
    "eval_batch_size",
    "resume",
    "distribute",
}


def _field_problem(schema: type[BaseModel], name: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for field ``name`` of ``schema``, or None."""
    info = schema.model_fields[name]
    kind = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter = TypeAdapter(kind, config=ConfigDict(strict=True))
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        return error.errors()[0]["msg"]
    return None


class TuningParams(_Strict):
    """conf/base/parameters_tuning.yml: ``tuning``."""

    method: str
    time_budget_minutes: float = Field(gt=0)
    n_trials: PositiveInt
    epochs: PositiveInt
    # Per trained method, its options to search: {choices: [...]} or {low, high[, log]}.
    search_space: dict[str, dict[str, dict]] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_spaces(self) -> TuningParams:
        from movielens_sbr import methods

        trained = {method.name: method for method in methods.trained()}
        problems = []
        if self.method not in trained:
            problems.append(
                f"method {self.method!r} is not a trained method; choose among {sorted(trained)}"
            )
        for name, space in self.search_space.items():
            if name not in trained:
                problems.append(
                    f"search_space.{name}: not a trained method; choose among {sorted(trained)}"
                )
                continue
            problems += _space_problems(trained[name].schema, space, f"search_space.{name}")
        if self.method in trained and not self.search_space.get(self.method):
            problems.append(f"search_space.{self.method} is missing: give the options to search")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _space_problems(schema: type[BaseModel], space: dict[str, dict], key: str) -> list[str]:
    """Why ``space`` cannot be searched for parameters of ``schema`` (empty when it can);
    ``layer_size`` stands for one layer of that size when the schema has ``layers``."""
    tunable = set(schema.model_fields) - _NOT_TUNABLE - {"layers"}
    if "layers" in schema.model_fields:
        tunable.add("layer_size")
    problems = []
    for name, spec in space.items():
        where = f"{key}.{name}"
        if name not in tunable:
            problems.append(f"{where} is not tunable; choose among {sorted(tunable)}")
            continue
        if set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]:
            values = spec["choices"]
        elif {"low", "high"} <= set(spec) <= {"low", "high", "log"}:
            if not spec["low"] < spec["high"]:
                problems.append(f"{where}: low must be below high, got {spec}")
                continue
            if spec.get("log") and spec["low"] <= 0:
                problems.append(f"{where}: a log range needs low > 0, got {spec}")
                continue
            values = [spec["low"], spec["high"]]
        else:
            problems.append(
                f"{where}: expected {{choices: [...]}} or {{low: .., high: ..[, log: true]}}, "
                f"got {spec}"
            )
            continue
        for value in values:  # every value must be a valid parameter of the method
            field, option = ("layers", [value]) if name == "layer_size" else (name, value)
            reason = _field_problem(schema, field, option)
            if reason:
                problems.append(f"{where}: {value!r} is not allowed ({reason})")
    return problems


class RecommendingParams(_Strict):
    """conf/base/parameters_recommending.yml: ``recommending``."""

    n: PositiveInt
    exclude_seen: bool
    method: str
    genres: list[str]

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        from movielens_sbr import methods

        if methods.find(method) is None:
            raise ValueError(f"unknown method {method!r}; choose among {methods.names()}")
        return method


class RegistryParams(_Strict):
    """conf/base/parameters_registry.yml: ``registry`` (the champion rule)."""

    metric: str = Field(pattern=r"^(recall|mrr|ndcg)@[1-9][0-9]*$")
    min_gain_over_best_baseline: float


_SECTIONS: dict[str, type[_Strict]] = {
    "ingestion": IngestionParams,
    "sessions": SessionsParams,
    "evaluation": EvaluationParams,
    "tuning": TuningParams,
    "recommending": RecommendingParams,
    "registry": RegistryParams,
}


def sections() -> dict[str, type[BaseModel]]:
    """Every parameter section and its schema: the pipelines' and each trained method's
    (``training`` for GRU4Rec), which its entry in ``movielens_sbr.methods`` names."""
    from movielens_sbr import methods

    trained = {method.section: method.schema for method in methods.trained()}
    return {"ingestion": IngestionParams, "sessions": SessionsParams, **trained, **_SECTIONS}


NAMESPACES = ("experiments",)
"""Top-level keys that hold copies of sections (``experiments.<variant>.training``)."""


class ParameterError(ValueError):
    """A parameter file has an unknown key, a wrong type or an impossible value."""


def _file_of(key: str) -> str:
    return f"conf/base/parameters_{key.split('.', maxsplit=1)[0]}.yml"


def _section_problems(
    section: str, values: Any, key: str, empty_in: Iterable[str] = ()
) -> list[str]:
    """One line per invalid value of a section (none when valid). ``empty_in``: the files
    that leave this section empty, when known."""
    where = f"{_file_of(key)} or its overrides"
    if values is None:
        files = ", ".join(empty_in) or where
        return [
            f"{key} is empty in {files} (every key commented out?): give it keys or remove "
            f"the `{key.rsplit('.', maxsplit=1)[-1]}:` line"
        ]
    if not isinstance(values, dict):
        return [f"{key} = {values!r} in {where}: it must be a mapping of keys (e.g. {key}.KEY=...)"]
    try:
        sections()[section].model_validate(values)
    except ValidationError as error:
        problems = []
        for issue in error.errors():
            name = ".".join(str(part) for part in (key, *issue["loc"]))
            message = issue["msg"].removeprefix("Value error, ")
            if issue["type"] == "missing":
                problems.append(f"{name} is missing in {where}: add it (see conf/base)")
            elif issue["type"] == "extra_forbidden":
                problems.append(f"{name} is not a parameter of {key} in {where}: remove it")
            else:
                given = issue["input"]
                if isinstance(given, dict) or len(repr(given)) > 60:
                    problems.append(f"{name} in {where}: {message}")
                else:
                    problems.append(f"{name} = {given!r} in {where}: {message}")
        return problems
    return []


def _raise(problems: list[str]) -> None:
    if problems:
        count = f"{len(problems)} invalid parameters:\n" if len(problems) > 1 else ""
        raise ParameterError(count + "\n".join(problems))


def validate_section(section: str, values: dict, key: str | None = None) -> _Strict:
    """Validate one whole parameter section; the error names every bad key and the file.

    ``key`` is where the section sits when it is namespaced (``experiments.x.training``,
    in parameters_experiments.yml); by default the top-level ``section``.
    """
    key = key or section
    _raise(_section_problems(section, values, key))
    return sections()[section].model_validate(values)


def _namespaced_sections(params: dict, names: Iterable[str], path: tuple[str, ...] = ()):
    """``(key, section, values)`` of every section of ``names`` nested under a namespace."""
    for name, values in params.items():
        if name in names:
            if path:
                yield ".".join((*path, name)), name, values
        elif isinstance(values, dict):
            yield from _namespaced_sections(values, names, (*path, name))


def _unresolved(values: Any) -> bool:
    """An interpolation read by plain YAML (``"${merge:...}"``): Kedro resolves it."""
    return isinstance(values, str) and values.startswith("${")


def validate_parameters(params: dict, conf_dirs: Iterable[Path] = ()) -> None:
    """Validate every section, the namespaced copies and the global seed of a parameters
    dict; unknown top-level keys (``--params epochs=3``) are errors. Reports every problem.

    ``conf_dirs`` are the configuration folders the parameters were read from: an empty
    section is then reported with the file that empties it.
    """
    problems = []
    empty: dict[str, list[str]] = {}
    for path, name in empty_sections(conf_dirs):
        empty.setdefault(name, []).append(path)
    seed = params.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed = {seed!r} in conf/base/parameters.yml: it must be an integer >= 0")
    schemas = sections()
    known = ["seed", *schemas, *NAMESPACES]
    for name in sorted(set(params) - set(known)):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else f"keys are SECTION.KEY, e.g. training.{name}?"
        )
        problems.append(
            f"unknown top-level parameter {name!r} in conf/*/parameters*.yml or --params "
            f"({hint}); known: {known}"
        )
    for section in schemas:
        if section not in params:
            problems.append(f"section {section} is missing: {_file_of(section)} must define it")
        else:
            problems += _section_problems(section, params[section], section, empty.get(section, []))
    for key, section, values in _namespaced_sections(params, schemas):
        # A broken top-level section already explains the broken copies made from it.
        if _unresolved(values) or (
            not isinstance(values, dict)
            and section in params
            and not isinstance(params[section], dict)
        ):
            continue
        problems += _section_problems(section, values, key)
    _raise(problems)


def load_parameters(conf_dir: Path = CONF_BASE, overrides: Iterable[str] = ()) -> dict:
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


@functools.cache
def _base() -> dict:
    if not CONF_BASE.is_dir():
        raise FileNotFoundError(
            f"{CONF_BASE} not found: the parameter values live in the project's conf/base"
        )
    return load_parameters(CONF_BASE)


def base_parameters() -> dict:
    """conf/base's parameters (a fresh copy): the defaults of code run without Kedro."""
    return copy.deepcopy(_base())


def base_section(section: str, **changes: Any) -> dict:
    """conf/base's ``section`` with ``changes`` applied, as a plain dict."""
    return {**base_parameters()[section], **changes}


def config_from_base(section: str, **changes: Any) -> _Strict:
    """conf/base's ``section`` with ``changes``, validated (for code run without Kedro)."""
    return validate_section(section, base_section(section, **changes))


def empty_sections(conf_dirs: Iterable[Path]) -> list[tuple[str, str]]:
    """``(file, section)`` for every parameter section left empty in the YAML files of
    ``conf_dirs`` (``training:`` with every key commented out): Kedro merges such a
    section as null, which validation then refuses naming these files."""
    import yaml

    found = []
    for folder in conf_dirs:
        for path in sorted(Path(folder).glob("parameters*.yml")):
            try:
                content = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(content, dict):
                found += [(str(path), name) for name, value in content.items() if value is None]
    return found
