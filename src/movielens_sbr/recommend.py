"""Next movies for a session, similar movies and cold start, by id or title (no Kedro import).

``Recommender`` wraps the trained GRU4Rec step model (or any baseline of the evaluation)
with the item index and the movie table::

    recommender = Recommender.load(".")  # latest model of the Kedro project in "."
    recommender.recommend(["Toy Story (1995)", "heat"], n=10).table
    recommender.similar("Matrix, The", n=10).table

Scores are those of the evaluation code: GRU4Rec runs the exported model's weights in
numpy (the same GRU cell as Keras, with every item's input projection precomputed), the
baselines run their scorer one event at a time as the evaluator feeds them. Items already
in the session are removed when ``exclude_seen`` (as in the evaluation). A session with no
item known to the model gets the most popular training movies and is flagged
``cold_start``; inputs the model does not know are reported in ``ignored``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movielens_sbr import methods as registry
from movielens_sbr.data.session_arrays import SessionArrays, longer_than, top_k
from movielens_sbr.kedro_project import (
    project_catalog,
    quiet_kedro,
    saved_model_file,
    trained_item_index,
    try_load,
)
from movielens_sbr.titles import TitleIndex

logger = logging.getLogger(__name__)


class RecommendError(ValueError):
    """A request the recommender cannot answer (unknown method, genre, user, ...)."""


def _final_scores(scorer: Any, matrix: np.ndarray, lengths: np.ndarray, n_items: int):
    """Scores after each session's last event, stepping ``scorer`` as the evaluator does.

    Rows are sorted by length (longest first), so the running sessions are a prefix.
    """
    n = len(lengths)
    out = np.zeros((n, n_items), np.float32)
    scorer.start(n)
    running = longer_than(lengths).tolist()
    for t in range(len(running) - 1):
        active, ending = running[t], running[t + 1]  # ending: still running after t
        scores = scorer.step(matrix[:active, t])
        out[ending:active] = scores[ending:active]
    return out


BLOCK = 1024  # sessions scored together: bounds the [sessions, items] score blocks


def _exclude(scores: np.ndarray, flat: SessionArrays, rows: np.ndarray) -> None:
    """Set to -inf, in row i of ``scores``, the items of session ``rows[i]`` of ``flat``."""
    if not flat.lengths[rows].any():
        return
    matrix = flat.padded(rows)
    row, position = np.nonzero(matrix >= 0)
    scores[row, matrix[row, position]] = -np.inf


_BLAS: Any = None


def _one_blas_thread():
    """Run numpy's BLAS on one thread: the products here are small, and threads that wait
    for a busy core made batch scoring 5x slower on a loaded 2-core machine."""
    global _BLAS  # noqa: PLW0603 - one controller per process, created on first use
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


@dataclass
class Recommendations:
    """The answer to one request: a table of movies and how the session was read."""

    table: pd.DataFrame  # rank, item, title, year, genres, score
    method: str
    session: list[int] = field(default_factory=list)  # known items used, in order
    ignored: list = field(default_factory=list)  # inputs the model does not know
    cold_start: bool = False
    genres: list[str] = field(default_factory=list)
    model_version: str | None = None

    @property
    def items(self) -> list[int]:
        return self.table["item"].tolist()

    def to_dict(self, titles: pd.Series | None = None) -> dict:
        """A JSON-ready dict (the CLI's ``--json``)."""
        rows = [
            {
                "rank": int(row.rank),
                "item": int(row.item),
                "title": row.title,
                "year": None if row.year is None or pd.isna(row.year) else int(row.year),
                "genres": list(row.genres),
                "score": float(row.score),
            }
            for row in self.table.itertuples(index=False)
        ]
        return {
            "method": self.method,
            "model_version": self.model_version,
            "session": [
                {"item": int(i), "title": None if titles is None else titles.get(i)}
                for i in self.session
            ],
            "ignored": [i if isinstance(i, str) else int(i) for i in self.ignored],
            "cold_start": self.cold_start,
            "genres": self.genres,
            "recommendations": rows,
        }


def _lazy(value):
    """A zero-argument loader for a value, a loader, or None."""
    if value is None or callable(value):
        return value
    return lambda: value


def _item_noun(params: dict) -> str:
    """What the configured dataset calls an item ("movie"; "item" for YOOCHOOSE clicks)."""
    from movielens_sbr.data.movielens import DATASETS, DEFAULT_DATASET

    name = (params.get("ingestion") or {}).get("dataset") or DEFAULT_DATASET
    spec = DATASETS.get(name)
    return spec.item_noun if spec is not None else "item"


class Recommender:
    """Recommends next movies and similar movies from a trained model and the catalogue.

    ``model`` is the Keras model, or None when its ``weights`` (read from the ``.keras``
    file by its method's numpy inference, e.g. ``StepWeights.read`` for GRU4Rec) are
    given: the numpy scorer needs only those, and
    ``load_model`` then loads the Keras model if it is ever needed (a step model the
    numpy scorer does not handle, or ``scorer`` of the model's method).
    """

    def __init__(
        self,
        model: Any,
        item_index: pd.DataFrame,
        movies: pd.DataFrame,
        *,
        weights: Any = None,
        load_model: Callable[[], Any] | None = None,
        train_sessions: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
        session_events: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
        baseline_options: dict[str, dict] | None = None,
        seed: int = 0,
        model_version: str | None = None,
        model_method: str | None = None,
        default_method: str | None = None,
        registered: Any = None,
        exclude_seen: bool = True,
        item_noun: str = "movie",
    ):
        index = item_index.sort_values("item_idx")
        if not np.array_equal(index["item_idx"].to_numpy(), np.arange(len(index))):
            raise ValueError("item_index must number its items 0..n-1")
        self.n_items = len(index)
        if model is None and weights is None:
            raise ValueError("give the Keras model or its weights")
        self._model = model
        self._load_model = load_model
        # The trained method whose model this is, and the method used when none is asked
        # for (recommending.method of the configuration, else the model's).
        self.model_method = model_method or registry.trained()[0].name
        self.default_method = default_method or self.model_method
        # Whether a request leaves out the session's items when it does not say
        # (recommending.exclude_seen: false for clicks, where an item can come again).
        self.exclude_seen = exclude_seen
        # What the output calls an item: "movie", or "item" for clicks (the dataset's
        # ``item_noun``, movielens_sbr.data.movielens.DATASETS).
        self.item_noun = item_noun
        self.model_version = model_version
        self.registered = registered  # model_registry.ModelChoice, when the registry chose
        self.item_of_idx = index["item"].to_numpy().astype(np.int64)
        self.idx_of_item = pd.Series(np.arange(self.n_items), index=self.item_of_idx)
        self._idx = dict(zip(self.item_of_idx.tolist(), range(self.n_items), strict=True))
        self.popularity = index["train_count"].to_numpy().astype(np.float32)
        self.movies = movies.set_index("item")[["title", "year", "genres"]]
        self.titles = self.movies["title"]
        self._title_index: TitleIndex | None = None  # built on the first title asked for
        info = self.movies.reindex(self.item_of_idx)  # per item index, for fast tables
        self._title_of_idx = info["title"].to_numpy(dtype=object)
        self._year_of_idx = info["year"].astype("Int64").to_numpy(dtype=object, na_value=None)
        self._genres_of_idx = np.empty(self.n_items, dtype=object)
        self._genres_of_idx[:] = [
            list(g) if isinstance(g, list | np.ndarray) else [] for g in info["genres"]
        ]
        exploded = pd.Series(
            self.movies["genres"].reindex(self.item_of_idx).to_numpy(), dtype=object
        ).explode()
        exploded = exploded[exploded.notna()]
        self.genre_names = sorted(set(self.movies["genres"].explode().dropna()))
        self._genre_matrix = np.zeros((self.n_items, len(self.genre_names)), dtype=bool)
        codes = pd.Categorical(exploded.to_numpy(), categories=self.genre_names).codes
        self._genre_matrix[exploded.index.to_numpy()[codes >= 0], codes[codes >= 0]] = True
        self._train_sessions = _lazy(train_sessions)
        self._session_events = _lazy(session_events)
        self.baseline_options = dict(baseline_options or {})
        self.seed = seed
        self._scorers: dict[str, Any] = {}
        self._unit_vectors: dict[str, np.ndarray] = {}  # per similarity method
        # The model's numpy inference, when its method has one and handles this model.
        self._numpy: Any = None
        numpy_model = registry.get(self.model_method).numpy_model
        if numpy_model is not None:
            try:
                self._numpy = numpy_model(weights if weights is not None else model)
            except NotImplementedError as reason:
                logger.warning("%s runs through Keras (slower): %s", self.model_method, reason)
        if self._model_items() != self.n_items:
            raise ValueError(
                f"the model scores {self._model_items()} items but item_index has "
                f"{self.n_items}: load the item_index of the run that trained the model"
            )

    @property
    def title_index(self) -> TitleIndex:
        """Forgiving title lookup (``titles.TitleIndex``), built on first use: requests by
        id do not need it."""
        if self._title_index is None:
            self._title_index = TitleIndex(self.movies.reset_index(), noun=self.item_noun)
        return self._title_index

    @property
    def model(self) -> Any:
        """The Keras step model (loaded on first use when built from its weights)."""
        if self._model is None:
            if self._load_model is None:
                raise RecommendError("this recommender has the model's weights only")
            self._model = self._load_model()
        return self._model

    # --- construction from a Kedro project ------------------------------------------
    @classmethod
    def load(
        cls,
        source: str | Path | Any = ".",
        *,
        model_version: str | None = None,
        env: str | None = None,
        method: str | None = None,
        project: str | Path | None = None,
    ) -> Recommender:
        """From a Kedro project folder (or an already built catalog).

        ``method`` answers by default (else ``recommending.method``). The model is the
        ``<name>_model`` of the trained ``method`` (default: ``recommending.method`` when it is a
        trained method, else the first trained method of ``movielens_sbr.methods``).
        ``model_version`` is a Kedro version of it saved by a complete run, or a version (``3``) or
        alias (``champion``) of its registered model in the project's MLflow registry; by default
        the champion, or the latest model of a complete run when there is none. ``project`` is the
        project folder when ``source`` is a catalog (its registry). The item index is the one the
        model was trained with, as its run's manifest records. The model's weights are read from its
        ``.keras`` file without TensorFlow (the Keras model is loaded only if needed); training
        sessions (baselines, item-kNN) and session events (``--user``) are loaded only when needed.
        """
        if isinstance(source, str | Path):
            catalog, params = project_catalog(Path(source), env)
        else:
            catalog = source
            params = try_load(catalog, "parameters") or {}
        default_method = (params.get("recommending") or {}).get("method")
        wanted = registry.find(method or default_method or "")
        model_method = wanted.name if wanted and wanted.trained else registry.trained()[0].name
        if method is not None and wanted is not None:
            default_method = wanted.name  # the method asked for answers by default
        dataset = registry.get(model_method).model_dataset
        # The registry of that method: its champion, or the version --model names.
        registered = _registered_choice(project or source, params, model_version, model_method)
        if registered is not None:
            model_version = registered.kedro_version

        def load_model() -> Any:
            with quiet_kedro():
                return catalog.load(dataset, version=version)

        model, weights = None, None
        version = model_version
        saved = saved_model_file(catalog, model_version, dataset)
        if saved is not None:
            path, version = saved
        numpy_model = registry.get(model_method).numpy_model
        if saved is not None and numpy_model is not None:
            try:
                weights = numpy_model.read_weights(path)
            except (NotImplementedError, KeyError, OSError) as reason:
                logger.warning("reading %s with Keras instead: %s", path, reason)
        with quiet_kedro():
            if weights is None:
                model = catalog.load(dataset, version=model_version)
                version = model_version or catalog.get(dataset).resolve_load_version()
            item_index = trained_item_index(catalog, version)
            movies = catalog.load("movies")

        def loader(name: str) -> Callable[[], pd.DataFrame]:
            def load() -> pd.DataFrame:
                with quiet_kedro():
                    return catalog.load(name)

            return load

        options = (params.get("evaluation") or {}).get("baselines")
        return cls(
            model,
            item_index,
            movies,
            weights=weights,
            load_model=load_model,
            train_sessions=loader("train_sessions"),
            session_events=loader("session_events"),
            baseline_options=options,
            seed=int(params.get("seed", 0)),
            model_version=version,
            model_method=model_method,
            default_method=default_method,
            registered=registered,
            exclude_seen=bool((params.get("recommending") or {}).get("exclude_seen", True)),
            item_noun=_item_noun(params),
        )

    def model_info(self) -> dict[str, Any]:
        """Which model answers: its registered version with the test Recall@20 and MRR@20
        the evaluation measured for it, or only its Kedro version (no champion yet)."""
        if self.registered is None:
            return {"registered_model": None, "kedro_version": self.model_version}
        return self.registered.describe()

    # --- reading requests ---------------------------------------------------------------
    def _model_items(self) -> int:
        if self._numpy is not None:
            return self._numpy.n_items
        return len(self.item_vectors())

    def resolve(self, items: Iterable[int | str]) -> tuple[list[int], list]:
        """Movie ids or titles -> (item ids known to the model, inputs ignored).

        Integers (and strings of ASCII digits) are MovieLens ids; other strings are titles,
        matched forgivingly (``titles.TitleIndex``); a title matching no movie or several
        raises ``TitleError`` with the closest candidates. A movie the model was not
        trained on (rare, or not in movies.dat) is ignored and reported.
        """
        known, ignored = [], []
        for value in items:
            # Only ASCII digits make an id: int() would also read "٢٥٧١" and fail on "²".
            if isinstance(value, str) and not (value.strip().isascii() and value.strip().isdigit()):
                item = self.title_index.match(value)
            else:
                item = int(value)
            if item in self._idx:
                known.append(item)
            else:
                ignored.append(value)
        return known, ignored

    def genre_mask(self, genres: Sequence[str] | None) -> np.ndarray | None:
        """Items having any of ``genres`` (case-insensitive), or None for no filter."""
        if not genres:
            return None
        lookup = {g.lower(): i for i, g in enumerate(self.genre_names)}
        unknown = [g for g in genres if g.lower() not in lookup]
        if unknown:
            raise RecommendError(f"unknown genre(s) {unknown}; choose among {self.genre_names}")
        return self._genre_matrix[:, [lookup[g.lower()] for g in genres]].any(axis=1)

    def _canonical_genres(self, genres: Sequence[str] | None) -> list[str]:
        lookup = {g.lower(): g for g in self.genre_names}
        return [lookup[g.lower()] for g in genres or []]

    # --- scoring ------------------------------------------------------------------------
    @property
    def methods(self) -> list[str]:
        return registry.names()

    def _baseline_options(self, method: str) -> dict:
        """The evaluation's options of a fitted method: those given, else conf/base's."""
        if method in self.baseline_options:
            return self.baseline_options[method]
        from movielens_sbr.params import base_section

        return base_section("evaluation")["baselines"][method]

    def _train(self) -> SessionArrays:
        if self._train_sessions is None:
            raise RecommendError("this method needs the training sessions (train_sessions)")
        return SessionArrays.from_frame(self._train_sessions())

    def scorer(self, method: str) -> Any:
        """The evaluation scorer of ``method``: baselines are fitted once, on first use, on
        the training sessions with the evaluation's options and seed."""
        if method not in self._scorers:
            registered = registry.find(method)
            if registered is None:
                raise RecommendError(f"unknown method {method!r}; choose among {self.methods}")
            if registered.trained and method != self.model_method:
                raise RecommendError(
                    f"{method} needs its own trained model: load the recommender with "
                    f"method={method!r} (this one holds {self.model_method}'s)"
                )
            if registered.trained:
                self._scorers[method] = registered.from_model(self.model)
            else:
                self._scorers[method] = registered.fit(
                    self._train(), self.n_items, self._baseline_options(method), self.seed
                )
        return self._scorers[method]

    def session_scores(
        self, sessions: Sequence[np.ndarray], method: str | None = None
    ) -> np.ndarray:
        """Scores over all items after each session (item indices; each non-empty)."""
        method = method or self.default_method
        flat = SessionArrays.from_sequences(sessions)
        if (flat.lengths == 0).any():
            raise ValueError("every session needs at least one known item")
        out = np.zeros((len(sessions), self.n_items), np.float32)
        order = flat.longest_first()
        for begin in range(0, len(order), BLOCK):
            rows = order[begin : begin + BLOCK]
            out[rows] = self._block_scores(flat, rows, method)
        return out

    def _block_scores(self, flat: SessionArrays, rows: np.ndarray, method: str) -> np.ndarray:
        """Scores after sessions ``rows`` of ``flat``, sorted by length (longest first):
        the model's for the warm ones, training popularity for the empty ones at the end."""
        lengths = flat.lengths[rows]
        warm = int(np.count_nonzero(lengths))
        scores = np.empty((len(rows), self.n_items), np.float32)
        scores[warm:] = self.popularity
        if warm:
            matrix = flat.padded(rows[:warm])
            if method == self.model_method and self._numpy is not None:
                with _one_blas_thread():
                    self._numpy.scores(matrix, lengths[:warm], out=scores[:warm])
            else:
                scores[:warm] = _final_scores(
                    self.scorer(method), matrix, lengths[:warm], self.n_items
                )
        return scores

    def _rank(
        self,
        sessions: list[np.ndarray],
        n: int,
        exclude_seen: bool,
        method: str,
        genres: Sequence[str] | None,
        exclude: list[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-n item indices and scores per session, and which sessions were cold.

        Sessions go in blocks of ``BLOCK``, longest first (so the sessions still running
        at a step are a prefix); a block's scores over all items live only until its top
        n is taken, so memory does not grow with the number of sessions.
        """
        flat = SessionArrays.from_sequences(sessions)
        extra = SessionArrays.from_sequences(exclude) if exclude is not None else None
        mask = self.genre_mask(genres)
        n = min(n, self.n_items)
        top = np.zeros((len(sessions), n), np.int64)
        top_scores = np.zeros((len(sessions), n), np.float32)
        order = flat.longest_first()
        for begin in range(0, len(order), BLOCK):
            rows = order[begin : begin + BLOCK]
            scores = self._block_scores(flat, rows, method)
            if exclude_seen:
                _exclude(scores, flat, rows)
            if extra is not None:
                _exclude(scores, extra, rows)
            if mask is not None:
                scores[:, ~mask] = -np.inf
            top[rows], top_scores[rows] = top_k(scores, n)
        return top, top_scores, flat.lengths == 0

    def _table(self, top: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        keep = np.isfinite(scores)
        idx = top[keep]
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(idx) + 1),
                "item": self.item_of_idx[idx],
                "title": self._title_of_idx[idx],
                "year": self._year_of_idx[idx],
                "genres": self._genres_of_idx[idx],
                "score": scores[keep].astype(np.float64),
            }
        )

    def recommend(
        self,
        items: Iterable[int | str] = (),
        n: int = 10,
        *,
        exclude_seen: bool | None = None,
        method: str | None = None,
        genres: Sequence[str] | None = None,
        exclude: Iterable[int] = (),
    ) -> Recommendations:
        """The top ``n`` next movies after watching ``items`` (ids or titles, in order).

        ``genres`` keeps only movies of any of those genres; ``exclude`` removes further
        movie ids (e.g. a user's earlier history). Without a known item: popular movies,
        flagged ``cold_start``.
        """
        if n < 1:
            raise RecommendError(f"n must be at least 1, got {n}")
        method = method or self.default_method
        exclude_seen = self.exclude_seen if exclude_seen is None else exclude_seen
        known, ignored = self.resolve(items)
        session = np.array([self._idx[i] for i in known], dtype=np.int64)
        extra = np.array([self._idx[i] for i in exclude if i in self._idx], dtype=np.int64)
        top, scores, cold = self._rank([session], n, exclude_seen, method, genres, [extra])
        return Recommendations(
            self._table(top[0], scores[0]),
            method=method if not cold[0] else "popular",
            session=known,
            ignored=ignored,
            cold_start=bool(cold[0]),
            genres=self._canonical_genres(genres),
            model_version=self.model_version,
        )

    def recommend_sessions(
        self,
        sessions: pd.DataFrame,
        n: int = 10,
        *,
        exclude_seen: bool | None = None,
        method: str | None = None,
        genres: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Batch: events ``session_id, item`` (in watch order) -> top-n rows per session.

        Rows are ``session_id, rank, item, title, score, cold_start, n_ignored``; items the
        model does not know are dropped from their session (counted in ``n_ignored``).
        """
        method = method or self.default_method
        exclude_seen = self.exclude_seen if exclude_seen is None else exclude_seen
        missing = {"session_id", "item"} - set(sessions.columns)
        if missing:
            raise RecommendError(f"the sessions need columns {sorted(missing)}")
        if "timestamp" in sessions.columns:
            sessions = sessions.sort_values(["session_id", "timestamp"], kind="stable")
        else:
            sessions = sessions.sort_values("session_id", kind="stable")
        ids = sessions["session_id"].to_numpy()
        idx = self.idx_of_item.reindex(sessions["item"].to_numpy()).to_numpy()
        known = ~np.isnan(idx)
        session_ids, first = np.unique(ids, return_index=True)
        bounds = np.r_[first, len(ids)]
        known_count = np.add.reduceat(known.astype(np.int64), first) if len(ids) else first
        idx = np.where(known, idx, -1).astype(np.int64)
        # One slice per session, not per event.
        groups = [idx[a:b][known[a:b]] for a, b in itertools.pairwise(bounds)]
        top, scores, cold = self._rank(groups, n, exclude_seen, method, genres)
        keep = np.isfinite(scores)
        rows = np.nonzero(keep)[0]
        items = self.item_of_idx[top[keep]]
        return pd.DataFrame(
            {
                "session_id": session_ids[rows],
                "rank": np.nonzero(keep)[1] + 1,
                "item": items,
                "title": self.titles.reindex(items).to_numpy(),
                "score": scores[keep].astype(np.float64),
                "cold_start": cold[rows],
                "n_ignored": (np.diff(bounds) - known_count)[rows],
            }
        )

    # --- users and similar movies -----------------------------------------------------
    def user_session(self, user: int) -> tuple[list[int], list[int]]:
        """The user's most recent session (item ids in order) and everything they saw before."""
        if self._session_events is None:
            raise RecommendError("--user needs the session events (kedro run --pipelines sessions)")
        events = self._session_events()
        mine = events[events["user"] == user]
        if mine.empty:
            raise RecommendError(f"user {user} has no sessions in the data")
        last = mine["session_id"].iloc[mine["timestamp"].to_numpy().argmax()]
        session = mine[mine["session_id"] == last]["item"].astype(int).tolist()
        earlier = mine[mine["session_id"] != last]["item"].astype(int).tolist()
        return session, earlier

    def item_vectors(self) -> np.ndarray:
        """The loaded trained model's learned item vectors (GRU4Rec: the input embedding,
        with ``constrained`` also the output weights, or a one-hot model's output weights)."""
        if self._numpy is not None:
            return self._numpy.item_vectors
        return np.asarray(registry.get(self.model_method).item_vectors(self.model), np.float32)

    def similarity_row(self, idx: int, method: str = registry.EMBEDDING) -> np.ndarray:
        """Similarity of every item to item index ``idx``: cosine of the item vectors of
        ``method`` (``embedding``: the loaded trained model's; ALS: its item factors), or
        the method's own similarity matrix (item-kNN)."""
        if method not in registry.similarity_choices():
            raise RecommendError(
                f"unknown similarity {method!r}; choose among {registry.similarity_choices()}"
            )
        method = self.model_method if method == registry.EMBEDDING else method
        registered = registry.get(method)
        if registered.trained and method != self.model_method:
            self.scorer(method)  # the error that says which model to load
        if registered.similarity == "rows":
            return registered.item_vectors(self.scorer(method))[idx].astype(np.float64)
        if method not in self._unit_vectors:
            vectors = (
                self.item_vectors()
                if registered.trained
                else registered.item_vectors(self.scorer(method))
            ).astype(np.float64)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            self._unit_vectors[method] = vectors / np.where(norms > 0, norms, 1.0)
        unit = self._unit_vectors[method]
        return unit @ unit[idx]

    def similar(
        self, item: int | str, n: int = 10, *, method: str = registry.EMBEDDING
    ) -> Recommendations:
        """The ``n`` movies most similar to ``item``: cosine of the learned item embeddings
        (``embedding``), item-kNN co-occurrence in training sessions (``iknn``) or cosine of
        the ALS item factors (``als``); the baselines are fitted as in the evaluation
        (options from parameters_evaluation.yml, the global seed) once per recommender.
        Ties (e.g. no co-occurrence) go to popularity."""
        known, ignored = self.resolve([item])
        if not known:
            raise RecommendError(f"{item!r} is not in the model's catalogue (too rare in training)")
        idx = self._idx[known[0]]
        similarity = self.similarity_row(idx, method)
        others = np.flatnonzero(np.arange(self.n_items) != idx)
        order = others[np.lexsort((others, -self.popularity[others], -similarity[others]))[:n]]
        table = self._table(order, similarity[order].astype(np.float32))
        return Recommendations(
            table, method=method, session=known, ignored=ignored, model_version=self.model_version
        )


def _registered_choice(source: Any, params: dict, model: str | None, method: str):
    """The version of the trained ``method``'s registered model that ``model`` names
    (default: its champion), or None: no champion yet, or ``model`` is a Kedro version;
    the latest saved model answers then."""
    from movielens_sbr import model_registry

    project = Path(source) if isinstance(source, str | Path) else None
    dataset = (params.get("ingestion") or {}).get("dataset")
    try:
        return model_registry.resolve(project, dataset, model, method)
    except LookupError as error:
        raise RecommendError(str(error)) from None
