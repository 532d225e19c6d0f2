"""A versioned ``.keras`` dataset for SASRec that registers its layers before loading."""

from __future__ import annotations

from kedro_datasets.tensorflow import TensorFlowModelDataset


class SASRecModelDataset(TensorFlowModelDataset):
    """``TensorFlowModelDataset`` whose ``load`` first imports the module that registers
    SASRec's custom Keras classes, so ``catalog.load("sasrec_model")`` works in a fresh
    notebook or pipeline process."""

    def load(self):
        import movielens_sbr.model.sasrec  # noqa: F401  (registers the serializable classes)

        return super().load()
