"""The Python recommending API: same ranking as the evaluator, cold start, similar movies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SESSIONS_PARAMS, make_movies_lines, make_ratings_lines
from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.baselines import ItemKNN
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.evaluation.protocol import fit_baselines
from movielens_sbr.model.gru4rec import GRU4RecScorer
from movielens_sbr.params import base_section
from movielens_sbr.recommend import Recommender, RecommendError


@pytest.fixture(scope="module")
def trained():
    """Splits, movies and a GRU4Rec trained for one epoch (once for this module)."""
    from movielens_sbr.data.dat_format import parse_movies, parse_ratings
    from movielens_sbr.pipelines.sessions.nodes import build_session_events, split_sessions
    from movielens_sbr.pipelines.training.nodes import ModelTrainer

    ratings = parse_ratings(("\n".join(make_ratings_lines(n_users=80)) + "\n").encode())
    movies = parse_movies(("\n".join(make_movies_lines()) + "\n").encode("latin-1"))
    events, log = build_session_events(ratings, SESSIONS_PARAMS, seed=1)
    train, valid, test, item_index, _ = split_sessions(events, log, SESSIONS_PARAMS)
    params = base_section("training", epochs=1, layers=[8], batch_size=4, embedding="constrained")
    model, _ = ModelTrainer("gru4rec").train(train, valid, item_index, params, seed=0)
    return {
        "model": model,
        "train": train,
        "test": test,
        "item_index": item_index,
        "movies": movies,
        "events": events,
    }


@pytest.fixture(scope="module")
def recommender(trained) -> Recommender:
    return Recommender(
        trained["model"],
        trained["item_index"],
        trained["movies"],
        train_sessions=trained["train"],
        session_events=trained["events"],
        baseline_options={"iknn": {"neighbors": None}},
    )


class Recording:
    """Wraps a scorer and keeps every score matrix the evaluator asked for."""

    def __init__(self, scorer):
        self.scorer, self.name, self.steps = scorer, scorer.name, []

    def start(self, n_sessions):
        self.scorer.start(n_sessions)

    def step(self, items):
        scores = np.array(self.scorer.step(items), dtype=np.float32)
        self.steps.append(scores)
        return scores


def evaluator_rankings(scorer, test: SessionArrays, n_items: int) -> dict:
    """(session, position) -> the evaluator's scores with the seen items removed."""
    recording = Recording(scorer)
    predictions = evaluate(recording, test, n_items, batch_size=10_000)
    lengths = test.lengths
    order = np.flatnonzero(lengths >= 2)
    order = order[np.argsort(-lengths[order], kind="stable")]  # the evaluator's row order
    out = {}
    for position, scores in enumerate(recording.steps, start=1):
        for row, session in enumerate(order[: len(scores)]):
            items = test.items[test.offsets[session] : test.offsets[session + 1]]
            masked = scores[row].copy()
            masked[items[:position]] = -np.inf
            out[session, position] = masked
    return out, predictions


@pytest.mark.parametrize("method", ["gru4rec", "markov", "vsknn"])
def test_api_ranking_equals_the_evaluators(trained, recommender, method):
    test = SessionArrays.from_frame(trained["test"])
    n_items = recommender.n_items
    scorer = (
        GRU4RecScorer(trained["model"])
        if method == "gru4rec"
        else methods.get(method).fit(
            SessionArrays.from_frame(trained["train"]),
            n_items,
            base_section("evaluation")["baselines"][method],
            seed=0,
        )
    )
    rankings, predictions = evaluator_rankings(scorer, test, n_items)
    assert len(rankings) == len(predictions.greater) > 20
    items_of = recommender.item_of_idx
    for (session, position), scores in rankings.items():
        prefix = test.items[test.offsets[session] : test.offsets[session] + position]
        result = recommender.recommend(items_of[prefix].tolist(), n=10, method=method)
        expected = np.argsort(-scores, kind="stable")[:10]
        assert result.items == items_of[expected].tolist(), (session, position)
        np.testing.assert_allclose(result.table["score"], scores[expected], rtol=1e-4, atol=1e-5)
    # The evaluator's rank of every target is where the API puts it (ties: within them).
    for session, position, greater, equal in zip(
        predictions.session,
        predictions.position,
        predictions.greater,
        predictions.equal,
        strict=True,
    ):
        start = test.offsets[session]
        target = items_of[test.items[start + position]]
        prefix = items_of[test.items[start : start + position]].tolist()
        ranked = recommender.recommend(prefix, n=n_items, method=method).items
        assert greater <= ranked.index(target) <= greater + equal


def test_seen_movies_are_excluded_unless_asked(recommender, trained):
    session = trained["test"]["item"].to_numpy()[:4].tolist()
    excluded = recommender.recommend(session, n=recommender.n_items)
    assert not set(session) & set(excluded.items)
    assert len(excluded.items) == recommender.n_items - len(set(session))
    included = recommender.recommend(session, n=recommender.n_items, exclude_seen=False)
    assert set(session) <= set(included.items)
    # Excluding only removes items: the others keep their order.
    assert [i for i in included.items if i not in session] == excluded.items


def test_without_a_choice_seen_movies_follow_the_configuration(recommender, trained, monkeypatch):
    session = trained["test"]["item"].to_numpy()[:4].tolist()
    monkeypatch.setattr(recommender, "exclude_seen", False)  # recommending.exclude_seen
    kept = recommender.recommend(session, n=recommender.n_items)
    assert set(session) <= set(kept.items)
    frame = pd.DataFrame({"session_id": 1, "item": session})
    assert set(session) <= set(recommender.recommend_sessions(frame, n=recommender.n_items)["item"])


CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize("env", sorted(p.name for p in CONF.iterdir() if p.name != "base"))
def test_recommending_keeps_seen_items_where_the_evaluation_does(env):
    """Under --env yoochoose the evaluation keeps re-clicked items, so batch and CLI do."""
    from kedro.config import OmegaConfigLoader

    from movielens_sbr.settings import CONFIG_LOADER_ARGS

    args = {**CONFIG_LOADER_ARGS, "default_run_env": env}
    params = OmegaConfigLoader(str(CONF), **args)["parameters"]
    assert params["recommending"]["exclude_seen"] == params["evaluation"]["exclude_seen"]


def test_empty_session_is_a_flagged_cold_start_with_popular_movies(recommender, trained):
    result = recommender.recommend([], n=5)
    assert result.cold_start and result.method == "popular" and result.session == []
    counts = trained["item_index"].sort_values(["train_count", "item_idx"], ascending=[False, True])
    assert result.items == counts["item"].head(5).tolist()


def test_cold_start_within_genres(recommender, trained):
    result = recommender.recommend([], n=5, genres=["horror"])
    assert result.cold_start and result.genres == ["Horror"]
    assert all("Horror" in genres for genres in result.table["genres"])
    horror = trained["movies"][trained["movies"]["genres"].map(lambda g: "Horror" in g)]
    index = trained["item_index"]
    popular = index[index["item"].isin(horror["item"])].sort_values(
        ["train_count", "item_idx"], ascending=[False, True]
    )
    assert result.items == popular["item"].head(5).tolist()


def test_genres_also_filter_warm_sessions(recommender, trained):
    session = trained["test"]["item"].to_numpy()[:3].tolist()
    result = recommender.recommend(session, n=5, genres=["Comedy", "Drama"])
    assert not result.cold_start
    assert all({"Comedy", "Drama"} & set(genres) for genres in result.table["genres"])


def test_unknown_genre_lists_the_genres(recommender):
    with pytest.raises(RecommendError, match="Sci-Fi"):
        recommender.recommend([], genres=["Western-ish"])


def test_only_unknown_items_is_a_cold_start_that_reports_them(recommender):
    result = recommender.recommend([99_999, 12_345], n=3)
    assert result.cold_start and result.ignored == [99_999, 12_345]


def test_partly_unknown_session_uses_the_known_items(recommender, trained):
    known = trained["test"]["item"].to_numpy()[:2].tolist()
    mixed = recommender.recommend([known[0], 99_999, known[1]], n=5)
    assert not mixed.cold_start
    assert mixed.session == known and mixed.ignored == [99_999]
    assert mixed.items == recommender.recommend(known, n=5).items


def test_titles_resolve_to_ids(recommender):
    by_title = recommender.recommend(["the matrix", "amelie"], n=5)
    assert by_title.session == [2, 1]
    assert by_title.items == recommender.recommend([2, 1], n=5).items


def test_unknown_method_is_an_error(recommender):
    with pytest.raises(RecommendError, match="gru4rec"):
        recommender.recommend([2], method="deep-magic")


def test_batch_equals_one_by_one_and_flags_cold_sessions(recommender, trained):
    test = trained["test"][["session_id", "item"]]
    cold = pd.DataFrame({"session_id": [-1, -1], "item": [99_999, 99_998]})
    frame = pd.concat([test, cold], ignore_index=True)
    table = recommender.recommend_sessions(frame, n=4)
    assert table.groupby("session_id").size().eq(4).all()
    for session_id, events in list(test.groupby("session_id"))[:10]:
        expected = recommender.recommend(events["item"].tolist(), n=4).items
        assert table[table["session_id"] == session_id]["item"].tolist() == expected
    cold_rows = table[table["session_id"] == -1]
    assert cold_rows["cold_start"].all() and (cold_rows["n_ignored"] == 2).all()
    assert not table[table["session_id"] != -1]["cold_start"].any()


def test_batch_with_a_baseline_equals_one_by_one(recommender, trained):
    test = trained["test"][["session_id", "item"]]
    table = recommender.recommend_sessions(test, n=3, method="sknn")
    for session_id, events in list(test.groupby("session_id"))[:5]:
        expected = recommender.recommend(events["item"].tolist(), n=3, method="sknn").items
        assert table[table["session_id"] == session_id]["item"].tolist() == expected


def test_similar_by_embedding_is_cosine_on_the_item_embedding(recommender, trained):
    result = recommender.similar(2, n=5)
    embedding = trained["model"].get_layer("item_embedding").get_weights()[0]
    unit = embedding / np.linalg.norm(embedding, axis=1, keepdims=True)
    idx = int(recommender.idx_of_item[2])
    cosine = unit @ unit[idx]
    cosine[idx] = -np.inf
    expected = np.argsort(-cosine, kind="stable")[:5]
    assert result.items == recommender.item_of_idx[expected].tolist()
    assert 2 not in result.items
    np.testing.assert_allclose(result.table["score"], cosine[expected], rtol=1e-5)


def test_similar_by_item_knn_follows_co_occurrence(recommender, trained):
    result = recommender.similar("Matrix", n=5, method="iknn")
    knn = ItemKNN(SessionArrays.from_frame(trained["train"]), recommender.n_items, neighbors=None)
    idx = int(recommender.idx_of_item[2])
    similarity = knn.similarity[idx].astype(np.float64)
    others = np.flatnonzero(np.arange(recommender.n_items) != idx)
    popularity = recommender.popularity[others]
    expected = others[np.lexsort((others, -popularity, -similarity[others]))[:5]]
    assert result.items == recommender.item_of_idx[expected].tolist()
    assert (np.diff(result.table["score"]) <= 0).all()
    np.testing.assert_allclose(result.table["score"], similarity[expected], rtol=1e-5)


def test_similar_by_als_is_cosine_on_the_als_item_factors_fitted_once(trained):
    options = {"factors": 8, "regularization": 1.0, "alpha": 1.0, "iterations": 5}
    recommender = Recommender(
        trained["model"],
        trained["item_index"],
        trained["movies"],
        train_sessions=trained["train"],
        baseline_options={"als": options},
        seed=3,
    )
    result = recommender.similar("Matrix", n=5, method="als")
    # The evaluation's ALS: same train sessions, options and seed.
    (als,), _ = fit_baselines(
        SessionArrays.from_frame(trained["train"]), recommender.n_items, {"als": options}, 3
    )
    factors = als.item_factors.astype(np.float64)
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    idx = int(recommender.idx_of_item[2])
    cosine = unit @ unit[idx]
    cosine[idx] = -np.inf
    expected = np.argsort(-cosine, kind="stable")[:5]
    assert result.method == "als" and 2 not in result.items
    assert result.items == recommender.item_of_idx[expected].tolist()
    np.testing.assert_allclose(result.table["score"], cosine[expected], rtol=1e-5)
    # Fitted once per recommender: a second question reuses the same factors.
    fitted = recommender.scorer("als")
    recommender.similar(3, n=5, method="als")
    assert recommender.scorer("als") is fitted


def test_unknown_similarity_method_lists_the_methods(recommender):
    with pytest.raises(RecommendError, match=r"embedding.*iknn.*als"):
        recommender.similar(2, method="word2vec")


def test_user_session_is_the_latest_one(recommender, trained):
    events = trained["events"]
    user = int(events["user"].iloc[0])
    session, earlier = recommender.user_session(user)
    mine = events[events["user"] == user]
    last = mine.loc[mine["timestamp"].idxmax(), "session_id"]
    assert session == mine[mine["session_id"] == last]["item"].tolist()
    assert len(session) + len(earlier) == len(mine)
    with pytest.raises(RecommendError, match="no sessions"):
        recommender.user_session(10**6)


def test_model_and_item_index_must_agree(trained):
    with pytest.raises(ValueError, match="item_index"):
        Recommender(trained["model"], trained["item_index"].head(5), trained["movies"])


def test_methods_and_defaults_come_from_the_registry(recommender, trained, monkeypatch):
    assert recommender.methods == methods.names()
    assert recommender.model_method == recommender.default_method == methods.names(trained=True)[0]
    # `embedding` is the held model's item embedding, also reachable by its method's name.
    by_name = recommender.similar("Matrix", n=5, method=recommender.model_method)
    assert by_name.items == recommender.similar("Matrix", n=5).items
    with pytest.raises(RecommendError, match="unknown method 'gru5rec'"):
        recommender.recommend([1, 2], method="gru5rec")
    # recommending.method picks the default method.
    by_markov = Recommender(
        trained["model"],
        trained["item_index"],
        trained["movies"],
        train_sessions=trained["train"],
        default_method="markov",
    )
    result = by_markov.recommend([1, 2], n=5)
    assert result.method == "markov"
    assert result.items == recommender.recommend([1, 2], n=5, method="markov").items
    # Another trained method needs its own model, and says so.
    entry = methods.Method("other", "another trained model", "x:y", trained=True)
    monkeypatch.setattr(methods, "_REGISTRY", {**methods._REGISTRY, "other": entry})
    with pytest.raises(RecommendError, match="other needs its own trained model"):
        recommender.recommend([1, 2], method="other")


def test_sasrec_recommends_and_finds_similar_movies_by_its_item_embedding(trained):
    import keras

    from movielens_sbr.model.sasrec import build_model
    from movielens_sbr.model.sasrec import model_config as sasrec_config
    from movielens_sbr.params import config_from_base

    keras.utils.set_random_seed(0)
    n_items = len(trained["item_index"])
    config = sasrec_config(config_from_base("sasrec", max_len=4, hidden_size=8), seed=0)
    model = build_model(n_items, config)
    recommender = Recommender(
        model, trained["item_index"], trained["movies"], model_method="sasrec"
    )
    prefix = [0, 3, 5, 7, 9]  # longer than max_len: the model sees the last four
    result = recommender.recommend(
        recommender.item_of_idx[prefix].tolist(), n=5, method="sasrec", exclude_seen=False
    )
    scores = np.asarray(model(np.array([prefix[-4:]], np.int32)))[0, -1]
    expected = np.argsort(-scores, kind="stable")[:5]
    assert result.items == recommender.item_of_idx[expected].tolist()

    similar = recommender.similar(2, n=5, method="sasrec")
    vectors = np.asarray(model.item_vectors(), np.float64)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    idx = int(recommender.idx_of_item[2])
    cosine = unit @ unit[idx]
    cosine[idx] = -np.inf
    assert similar.items == recommender.item_of_idx[np.argsort(-cosine, kind="stable")[:5]].tolist()
