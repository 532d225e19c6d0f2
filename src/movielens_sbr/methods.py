"""Every recommender of the project, registered once by name (no Kedro, no TensorFlow).

Parameter validation, the evaluation, the recommending pipeline, ``Recommender``, the CLI,
the experiments and the tuning read the names from here, like RecBole's
``get_model(name)``. A method is one of two kinds:

- *trained*: the training pipeline (``pipelines/training``, registered as ``section``)
  trains it through its ``setup`` module into the catalog dataset ``<name>_model`` with
  the parameter section ``section`` (conf/base/parameters_<section>.yml); ``build(model)``
  turns the loaded model into a scorer;
- *fitted*: ``build(train, n_items, **options)`` fits it on the train sessions when it is
  evaluated or asked for recommendations, with its options from
  ``evaluation.baselines.<name>`` (conf/base/parameters_evaluation.yml gives every option;
  a ``seed`` argument gets the global seed).

Either way the scorer answers the evaluator's ``start(n)`` / ``step(items)`` interface
(``evaluation.evaluator.SessionScorer``). An entry names its factory and schema as
``"module:attribute"``, imported on first use: reading the registry (the CLI's
``--help``) imports neither TensorFlow nor pandas.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    from pydantic import BaseModel

    from movielens_sbr.data.session_arrays import SessionArrays
    from movielens_sbr.evaluation.evaluator import SessionScorer

# Arguments of a fitted method's constructor that are not options of the configuration.
_NOT_OPTIONS = {"train", "n_items", "seed", "recency"}


class UnknownMethodError(ValueError):
    """A method name that is not registered."""


@dataclass(frozen=True)
class Method:
    """One recommender: how to build its scorer, where its parameters live, what it offers."""

    name: str
    help: str  # one line, shown by the CLI
    # "module:attribute" of the scorer factory: build(model) or build(train, n_items, ...)
    factory: str
    trained: bool  # True: trained into `<name>_model`; False: fitted on the train sessions
    # A trained method's parameter section (conf/base/parameters_<section>.yml), which is
    # also the name of the pipeline training it, and the "module:attribute" of its schema
    # (no defaults: the values are in conf/base).
    section: str | None = None
    schema_name: str | None = None
    # How `similar` compares items: "cosine" of the vectors `item_vectors` returns, or
    # "rows" when it returns an [n_items, n_items] similarity matrix. None: not offered.
    similarity: Literal["cosine", "rows"] | None = None
    # From the scorer (fitted) or the model (trained) to its item vectors or similarities.
    item_vectors: Callable[[Any], np.ndarray] | None = None
    # A trained method's inference without TensorFlow: "module:attribute" of a class built
    # from the model or from the weights its ``read_weights(path)`` reads from the
    # ``.keras`` file, with ``n_items``, ``item_vectors`` and ``scores(matrix, lengths,
    # out=)``; it raises ``NotImplementedError`` for a model it does not handle. None:
    # Keras answers.
    numpy_inference: str | None = None
    # A trained method's training setup: the module with ``model_config(params, seed)``,
    # ``validator(valid, n_items, params)``, ``train_options(params)`` and
    # ``train(train, n_items, config, validate, checkpoint_dir=, **train_options)`` (the
    # training node and the tuning search train through it).
    setup: str | None = None

    @property
    def build(self) -> Callable[..., SessionScorer]:
        """The scorer factory (its module is imported on first use)."""
        return _resolve(self.factory)

    @property
    def numpy_model(self) -> Callable[[Any], Any] | None:
        """The class of the numpy inference (its module imported on first use), or None."""
        return _resolve(self.numpy_inference) if self.numpy_inference else None

    @property
    def training_setup(self) -> Any:
        """A trained method's setup module (imported on first use)."""
        if self.setup is None:
            raise TypeError(f"{self.name} has no training setup")
        return importlib.import_module(self.setup)

    @property
    def schema(self) -> type[BaseModel] | None:
        """A trained method's parameter schema."""
        return _resolve(self.schema_name) if self.schema_name else None

    @property
    def model_dataset(self) -> str:
        """The catalog dataset of a trained method's model."""
        return f"{self.name}_model"

    @property
    def history_dataset(self) -> str:
        """The catalog dataset of a trained method's training history: ``<section>_history``."""
        return f"{self.section}_history"

    @property
    def options(self) -> tuple[str, ...]:
        """A fitted method's options (the keys of ``evaluation.baselines.<name>``)."""
        if self.trained:
            return ()
        parameters = inspect.signature(self.build).parameters
        return tuple(name for name in parameters if name not in _NOT_OPTIONS)

    def option_problems(self, options: dict) -> list[str]:
        """Why ``options`` cannot configure this fitted method (empty when they can)."""
        problems = []
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            problems.append(
                f"baselines.{self.name} has unknown options {unknown}; it takes "
                f"{list(self.options) or 'no options'}"
            )
        missing = [name for name in self.options if name not in options]
        if missing:
            problems.append(
                f"baselines.{self.name} misses options {missing} (conf/base gives every one)"
            )
        return problems

    def fit(
        self, train: SessionArrays, n_items: int, options: dict | None, seed: int
    ) -> SessionScorer:
        """A fitted method's scorer; a method with randomness (a ``seed`` argument, e.g.
        ALS) gets ``seed``, so every caller fits the same model as the evaluation."""
        if self.trained:
            raise TypeError(f"{self.name} is trained by a pipeline, not fitted")
        seeded = {"seed": seed} if "seed" in inspect.signature(self.build).parameters else {}
        return self.build(train, n_items, **(options or {}), **seeded)

    def from_model(self, model: Any) -> SessionScorer:
        """A trained method's scorer from its loaded ``<name>_model``."""
        if not self.trained:
            raise TypeError(f"{self.name} is fitted on the train sessions, it has no model")
        return self.build(model)


def _resolve(reference: str) -> Any:
    module, attribute = reference.split(":")
    return getattr(importlib.import_module(module), attribute)


def _gru4rec_item_vectors(model: Any) -> np.ndarray:
    """The learned item embedding (with ``constrained`` also the output weights), or the
    output weights of a one-hot model; ``model`` is the Keras step model or its
    ``StepWeights``."""
    from movielens_sbr.model.weights import StepWeights

    weights = model if isinstance(model, StepWeights) else StepWeights.from_model(model)
    if "item_embedding" in weights:
        return weights["item_embedding"].weights[0]
    return weights["scores"].weights[0].T


def _sasrec_item_vectors(model: Any) -> np.ndarray:
    """The item embedding SASRec shares between its input and its output."""
    import numpy as np

    return np.asarray(model.item_vectors())


def _fitted(name: str, help: str, scorer: str, **similar) -> Method:
    """A baseline: ``scorer`` is a class of ``evaluation/baselines.py``."""
    return Method(name, help, f"movielens_sbr.evaluation.baselines:{scorer}", False, **similar)


# `similar` by item-kNN's similarity matrix, by the cosine of ALS's item factors.
_rows = {"similarity": "rows", "item_vectors": lambda scorer: scorer.similarity}
_factors = {"similarity": "cosine", "item_vectors": lambda scorer: scorer.item_factors}
_GRU4REC = Method(
    "gru4rec",
    "GRU4Rec, the trained recurrent network",
    "movielens_sbr.model.gru4rec:GRU4RecScorer",
    trained=True,
    section="training",
    schema_name="movielens_sbr.params:TrainingParams",
    similarity="cosine",
    item_vectors=_gru4rec_item_vectors,
    numpy_inference="movielens_sbr.model.gru4rec_numpy:NumpyGRU4Rec",
    setup="movielens_sbr.model.training_setup",
)
_SASREC = Method(
    "sasrec",
    "SASRec, the trained self-attention network",
    "movielens_sbr.model.sasrec:SASRecScorer",
    trained=True,
    section="sasrec",
    schema_name="movielens_sbr.params:SASRecParams",
    similarity="cosine",
    item_vectors=_sasrec_item_vectors,
    numpy_inference="movielens_sbr.model.sasrec_numpy:NumpySASRec",
    setup="movielens_sbr.model.sasrec",
)
_REGISTRY: dict[str, Method] = {
    method.name: method
    for method in (
        _GRU4REC,
        _SASREC,
        _fitted("pop", "global popularity", "Popularity"),
        _fitted("markov", "what followed the current movie", "Markov"),
        _fitted("spop", "the session's movies, then popularity", "SessionPopularity"),
        _fitted("sr", "sequential rules from the current movie", "SequentialRules"),
        _fitted("iknn", "item kNN: co-occurrence in sessions", "ItemKNN", **_rows),
        _fitted("sknn", "session kNN: the most similar training sessions", "SessionKNN"),
        _fitted("vsknn", "session kNN weighting recent movies more", "VSKNN"),
        _fitted("als", "implicit ALS factorisation (no order)", "ALS", **_factors),
    )
}
"""Every method by name, in the order of the metrics and of the CLI's help."""


EMBEDDING = "embedding"
"""``similar``'s name for the item embedding of the trained model the recommender holds."""


def similarity_choices() -> list[str]:
    """What ``similar`` accepts: ``embedding`` and every method offering item similarity."""
    return [EMBEDDING, *names(similarity=True)]


def find(name: str) -> Method | None:
    """The method called ``name``, or None."""
    return _REGISTRY.get(name)


def get(name: str) -> Method:
    """The method called ``name``; an unknown name lists the registered ones."""
    method = _REGISTRY.get(name)
    if method is None:
        raise UnknownMethodError(f"unknown method {name!r}; choose among {names()}")
    return method


def names(*, trained: bool | None = None, similarity: bool = False) -> list[str]:
    """Registered names in registry order; only the trained (True) or fitted (False) ones,
    or only those offering item similarity."""
    return [
        method.name
        for method in _REGISTRY.values()
        if (trained is None or method.trained == trained)
        and (not similarity or method.similarity is not None)
    ]


def all_methods() -> list[Method]:
    """Every registered method, in registry order."""
    return list(_REGISTRY.values())


def trained() -> list[Method]:
    """The methods a pipeline trains into ``<name>_model``, in registry order."""
    return [method for method in _REGISTRY.values() if method.trained]


def help_text(*, similarity: bool = False) -> str:
    """``name: help`` of every method (or of those offering similarity), for the CLI."""
    return "; ".join(
        f"{method.name}: {method.help}"
        for method in _REGISTRY.values()
        if not similarity or method.similarity is not None
    )
