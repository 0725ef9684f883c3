"""The captioning models: `rnn` and `lstm` (CaptioningRNN) and `transformer`
(CaptioningTransformer), assignment 3, trained by `tinyvision caption train`."""

from __future__ import annotations

import numpy as np

from tinyvision.captioning import CAPTIONING, CaptionPrepared
from tinyvision.classifiers.rnn import CaptioningRNN
from tinyvision.classifiers.transformer import CaptioningTransformer
from tinyvision.config import CaptionConfig
from tinyvision.registry import ModelSpec, register

# Longest caption the transformer's positional table holds (COCO captions have 17 tokens).
TRANSFORMER_MAX_LENGTH = 50

# On digit strips, more strips (new combinations of the same training digits) beat more epochs.
_DIGIT_STRIPS = {
    "batch_size": 50,
    "num_train": 40000,
    "schedule": "cosine",
    "hidden_dim": 128,
    "wordvec_dim": 64,
    "val_metric": "exact_match",
}
# Exact matches are rare on COCO, whose images each have five different captions.
_COCO = {
    "epochs": 5,
    "batch_size": 100,
    "num_train": 50000,
    "num_eval": 1000,
    "val_metric": "bleu4",
}
_COCO_RNN = {**_COCO, "learning_rate": 5e-3, "hidden_dim": 512, "wordvec_dim": 256}


def build_rnn(config: CaptionConfig, prepared: CaptionPrepared) -> CaptioningRNN:
    """A CaptioningRNN whose cell is the model's name ("rnn" or "lstm")."""
    return CaptioningRNN(
        prepared.data["word_to_idx"],
        input_dim=prepared.input_dim,
        wordvec_dim=config.wordvec_dim,
        hidden_dim=config.hidden_dim,
        cell_type=config.model,
        dtype=np.dtype(config.dtype),
        seed=config.seed,
    )


def build_transformer(config: CaptionConfig, prepared: CaptionPrepared) -> CaptioningTransformer:
    return CaptioningTransformer(
        prepared.data["word_to_idx"],
        input_dim=prepared.input_dim,
        wordvec_dim=config.wordvec_dim,
        num_heads=config.num_heads,
        num_layers=config.num_layers,
        max_length=TRANSFORMER_MAX_LENGTH,
        dropout=config.dropout,
        dim_feedforward=config.dim_feedforward or 4 * config.wordvec_dim,
        dtype=np.dtype(config.dtype),
        seed=config.seed,
    )


def check_transformer(config: CaptionConfig) -> None:
    if config.wordvec_dim % (2 * config.num_heads):
        raise ValueError(
            f"the transformer's wordvec_dim ({config.wordvec_dim}) must be a multiple of "
            f"2 * num_heads ({2 * config.num_heads})"
        )


for _cell, _lr in (("rnn", 3e-3), ("lstm", 2e-3)):
    register(
        ModelSpec(
            name=_cell,
            task=CAPTIONING,
            build=build_rnn,
            description=f"CaptioningRNN with {_cell.upper()} cells",
            defaults={
                "digit-strips": {**_DIGIT_STRIPS, "epochs": 5, "learning_rate": _lr},
                "coco": _COCO_RNN,
            },
        )
    )

# The transformer's tuned defaults, shared by its PyTorch twin (models/torch_captioning.py).
TRANSFORMER_DEFAULTS = {
    "digit-strips": {
        **_DIGIT_STRIPS,
        "epochs": 4,
        "learning_rate": 5e-3,
        "dim_feedforward": 128,
    },
    "coco": {
        **_COCO,
        "learning_rate": 1e-3,
        "hidden_dim": 128,
        "wordvec_dim": 256,
        "dim_feedforward": 512,
        "dropout": 0.1,
        "schedule": "cosine",
    },
}

register(
    ModelSpec(
        name="transformer",
        task=CAPTIONING,
        build=build_transformer,
        description="CaptioningTransformer (decoder layers over the image feature)",
        defaults=TRANSFORMER_DEFAULTS,
        check=check_transformer,
    )
)
