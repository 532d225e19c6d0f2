"""Recommending nodes."""

import pytest

from movielens_sbr.params import ParameterError, base_section
from movielens_sbr.pipelines.recommending.nodes import recommend_batch
from movielens_sbr.pipelines.training.nodes import ModelTrainer
from movielens_sbr.recommend import Recommender

TINY = base_section("training", epochs=1, layers=[8], batch_size=4)
EVALUATION = base_section("evaluation")


def test_batch_node_gives_top_n_per_session_like_the_api(splits, movies):
    train, valid, test, item_index, _ = splits
    model, _ = ModelTrainer("gru4rec").train(train, valid, item_index, TINY, seed=0)
    params = {"n": 3, "exclude_seen": True, "method": "gru4rec", "genres": []}
    table = recommend_batch(
        item_index, movies, train, test, params, EVALUATION, 0, gru4rec_model=model
    )
    assert table.groupby("session_id").size().eq(3).all()
    assert table["session_id"].nunique() == test["session_id"].nunique()
    first = test[test["session_id"] == test["session_id"].min()]
    expected = Recommender(model, item_index, movies).recommend(first["item"].tolist(), n=3)
    assert table[table["session_id"] == first["session_id"].iloc[0]]["item"].tolist() == (
        expected.items
    )
    markov = recommend_batch(
        item_index,
        movies,
        train,
        test,
        {**params, "method": "markov"},
        EVALUATION,
        0,
        gru4rec_model=model,
    )
    assert len(markov) == len(table)
    by_markov = Recommender(
        model, item_index, movies, train_sessions=train, baseline_options=EVALUATION["baselines"]
    ).recommend(first["item"].tolist(), n=3, method="markov")
    assert markov[markov["session_id"] == first["session_id"].iloc[0]]["item"].tolist() == (
        by_markov.items
    )


def test_batch_baseline_is_fitted_with_the_evaluation_options_and_seed(splits, movies):
    train, valid, test, item_index, _ = splits
    model, _ = ModelTrainer("gru4rec").train(train, valid, item_index, TINY, seed=0)
    options = {"als": {"factors": 4, "regularization": 0.1, "alpha": 1.0, "iterations": 3}}
    evaluation = {**EVALUATION, "baselines": {**EVALUATION["baselines"], **options}}
    params = {"n": 3, "exclude_seen": True, "method": "als", "genres": []}
    table = recommend_batch(
        item_index, movies, train, test, params, evaluation, 7, gru4rec_model=model
    )
    first = test[test["session_id"] == test["session_id"].min()]
    recommender = Recommender(
        model, item_index, movies, train_sessions=train, baseline_options=options, seed=7
    )
    expected = recommender.recommend(first["item"].tolist(), n=3, method="als")
    assert table[table["session_id"] == first["session_id"].iloc[0]]["item"].tolist() == (
        expected.items
    )


def test_unknown_method_is_rejected_with_the_key(splits, movies):
    with pytest.raises(ParameterError, match=r"recommending"):
        recommend_batch(None, None, None, None, {"method": "magic"}, EVALUATION, 0)
