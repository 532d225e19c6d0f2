"""A versioned ``.keras`` dataset for SASRec that registers its layers before loading."""

from __future__ import annotations

from kedro_datasets.tensorflow import TensorFlowModelDataset


class SASRecModelDataset(TensorFlowModelDataset):
    """``TensorFlowModelDataset`` whose ``load`` first imports the module that registers
    SASRec's custom Keras classes, so ``catalog.load("sasrec_model")`` works in a fresh
    notebook or pipeline process.

    Both methods call the parent's undecorated code: Kedro decorates every dataset class's
    own ``load``/``save`` (versioning, logging) once, and the atomic-save hook replaces the
    innermost writing code, which must not already hold the version check.
    """

    def load(self):
        import movielens_sbr.model.sasrec  # noqa: F401  (registers the serializable classes)

        return TensorFlowModelDataset.load.__wrapped__(self)

    def save(self, data) -> None:
        TensorFlowModelDataset.save.__wrapped__(self, data)
