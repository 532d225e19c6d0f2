"""SASRec training node."""

from movielens_sbr.params import base_section
from movielens_sbr.pipelines.sasrec.nodes import train_sasrec
from movielens_sbr.pipelines.training.nodes import plot_training_history

TINY = base_section("sasrec", epochs=2, max_len=8, hidden_size=8, batch_size=8, patience=5)


def test_train_node_returns_a_model_its_history_and_a_checkpoint(splits, tmp_path):
    train, valid, _test, item_index, _stats = splits
    model, history = train_sasrec(train, valid, item_index, TINY, 3, str(tmp_path))
    assert model.n_items == len(item_index) and model.max_len == 8
    assert [epoch["epoch"] for epoch in history["epochs"]] == [1, 2]
    assert all("valid_recall@20" in epoch for epoch in history["epochs"])
    assert history["config"]["seed"] == 3
    assert (tmp_path / "last.npz").exists()
    assert plot_training_history(history).axes
