"""CaptioningSolver: the course's captioning trainer, running on the one `Solver` loop.

Course usage (CS231n assignment 3)::

    solver = CaptioningSolver(model, data, update_rule="adam",
                              optim_config={"learning_rate": 5e-3}, lr_decay=0.995,
                              num_epochs=50, batch_size=25, print_every=10, verbose=True)
    solver.train()
    plt.plot(solver.loss_history)

`data` is the dict of `load_coco_data` or `load_digit_strips`; the model is a CaptioningRNN or
CaptioningTransformer (anything with ``params``, ``loss(features, captions)`` and
``sample(features, max_length)``). Everything the `Solver` offers comes along: seeding,
progress bars, checkpoints, resume, ``out_dir`` run folders, NaN detection and early stopping.

What changes from the classification Solver:

- An epoch is ``max(num_train_captions // batch_size, 1)`` updates. Each update draws
  batch_size captions with replacement, as `sample_coco_minibatch` does, but from the
  Solver's seeded Generator ``self.rng``, and pairs them with their image features.
- The per-epoch metric (``train_acc_history`` / ``val_acc_history`` / ``best_val_acc``, which
  choose the returned parameters and drive ``patience``) is computed on greedy captions of
  the split's distinct images, at most ``num_train_samples`` / ``num_val_samples`` of them:
  ``val_metric="exact_match"`` (default) is the fraction of images whose caption equals one
  of their reference captions word for word; ``val_metric="bleu4"`` is corpus BLEU-4 against
  all reference captions of each image (the choice for COCO, where exact matches are rare).
  Special tokens are ignored in both. The very first evaluation always counts as the best so
  far, so a model whose metric stays at 0 still ends with trained parameters.
- A model with a ``dropout_seed`` attribute (CaptioningTransformer) gets a new seed drawn from
  ``self.rng`` before every update, so its dropout masks are checkpointed with the Generator
  and a resumed run ends with the same parameters; the attribute is restored after train().
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from tinyvision.metrics import corpus_bleu, exact_match
from tinyvision.solver import _DEFAULTS, Solver
from tinyvision.validation import check_float_array

__all__ = ["VAL_METRICS", "CaptioningSolver", "caption_words", "score_captions"]

VAL_METRICS = ("exact_match", "bleu4")
_SPECIAL = frozenset(("<NULL>", "<START>", "<END>"))
# Dropout seeds drawn for the model stay well below 2**31 so per-module offsets cannot overflow.
_DROPOUT_SEED_BOUND = 2**30


def caption_words(captions: np.ndarray, idx_to_word: Sequence[str]) -> list[list[str]]:
    """The words of each caption, without <NULL>, <START> and <END>, stopping at <END>.

    captions: (N, T) integer word ids (ground truth with <START>, or generated without)
    idx_to_word: the vocabulary list (or dict id -> word)
    returns N lists of words
    """
    sentences = []
    for row in np.atleast_2d(captions):
        words = []
        for idx in row:
            word = idx_to_word[int(idx)]
            if word == "<END>":
                break
            if word not in _SPECIAL:
                words.append(word)
        sentences.append(words)
    return sentences


def score_captions(
    references: Sequence[Sequence[Sequence[str]]],
    hypotheses: Sequence[Sequence[str]],
    metric: str,
) -> float:
    """Exact match or corpus BLEU-4 of generated captions.

    references: for each image, its list of reference captions (lists of words)
    hypotheses: one generated caption (list of words) per image
    metric: "exact_match" or "bleu4"
    returns the score, a float in [0, 1]
    """
    if metric == "exact_match":
        return exact_match(references, hypotheses)
    if metric == "bleu4":
        return corpus_bleu(references, hypotheses, max_n=4)
    raise ValueError(f"metric must be one of {VAL_METRICS}, got {metric!r}")


def _split_arrays(data: Mapping[str, Any], split: str, vocab_size: int) -> dict[str, np.ndarray]:
    """Validated captions, image_idxs and features of one split of a captioning data dict."""
    keys = [f"{split}_{k}" for k in ("captions", "image_idxs", "features")]
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(
            f"data lacks {missing}; pass the dict returned by load_coco_data or load_digit_strips"
        )
    captions = np.asarray(data[f"{split}_captions"])
    image_idxs = np.asarray(data[f"{split}_image_idxs"])
    features = check_float_array(data[f"{split}_features"], f"{split}_features", 2)
    if captions.ndim != 2 or captions.shape[1] < 2 or not np.issubdtype(captions.dtype, np.integer):
        raise ValueError(
            f"{split}_captions must be an (N, T) integer array with T >= 2, got "
            f"{captions.dtype} {captions.shape}"
        )
    if len(captions) == 0:
        raise ValueError(f"{split}_captions is empty; the CaptioningSolver needs captions")
    if captions.min() < 0 or captions.max() >= vocab_size:
        bad = captions.min() if captions.min() < 0 else captions.max()
        raise ValueError(
            f"{split}_captions holds the word id {bad}, outside the vocabulary [0, {vocab_size})"
            "; encode captions with data['word_to_idx']"
        )
    if image_idxs.shape != captions.shape[:1] or not np.issubdtype(image_idxs.dtype, np.integer):
        raise ValueError(
            f"{split}_image_idxs must hold one integer per caption: {len(captions)} captions "
            f"but image_idxs has shape {image_idxs.shape} and dtype {image_idxs.dtype}"
        )
    if image_idxs.min() < 0 or image_idxs.max() >= len(features):
        raise ValueError(
            f"{split}_image_idxs points outside the {len(features)} rows of {split}_features; "
            "features and captions must come from the same data set"
        )
    return {"captions": captions, "image_idxs": image_idxs, "features": features}


class CaptioningSolver(Solver):
    """Train a captioning model (the course's CaptioningSolver) with the Solver's loop.

    model: CaptioningRNN, CaptioningTransformer, or any object with ``params``,
        ``loss(features, captions) -> (loss, grads)`` and ``sample(features, max_length)``.
    data: dict with train_captions (N, T) int, train_image_idxs (N,) int, train_features
        (M, D) float, idx_to_word, and optionally the same for "val" (needed for the per-epoch
        metric; without val data the train metric stands in for it).
    kwargs: every Solver option (update_rule, optim_config, lr_decay, batch_size, num_epochs,
        print_every, verbose, seed, patience, out_dir, resume, lr_schedule, ...), plus
        val_metric ("exact_match" or "bleu4", see the module docstring).
    """

    defaults: ClassVar[dict[str, Any]] = {**_DEFAULTS, "val_metric": "exact_match"}
    metric_name: ClassVar[str] = "metric"

    def _check_model_and_data(self, model: Any, data: Mapping[str, Any]) -> None:
        for name in ("loss", "sample"):
            if not callable(getattr(model, name, None)):
                raise ValueError(
                    f"model must be a captioning model with params, loss(features, captions) "
                    f"and sample(features, max_length); {type(model).__name__} has no {name}()"
                )
        if not isinstance(getattr(model, "params", None), dict):
            raise ValueError("model must have a params dict")
        if not isinstance(data, Mapping) or "idx_to_word" not in data:
            raise ValueError(
                "data must be the dict of load_coco_data or load_digit_strips (with idx_to_word)"
            )
        if self.val_metric not in VAL_METRICS:
            raise ValueError(f"val_metric must be one of {VAL_METRICS}, got {self.val_metric!r}")
        self.idx_to_word = list(data["idx_to_word"])
        self.splits = {"train": _split_arrays(data, "train", len(self.idx_to_word))}
        has_val = len(data.get("val_captions", ())) > 0
        self.splits["val"] = (
            _split_arrays(data, "val", len(self.idx_to_word)) if has_val else self.splits["train"]
        )
        self.references = {split: self._references(split) for split in ("train", "val")}
        self.train_loader = self.val_loader = None
        self.X_train = self.y_train = self.X_val = self.y_val = None

    def _references(self, split: str) -> dict[int, list[list[str]]]:
        """Reference captions (as word lists) of each distinct image of a split."""
        arrays = self.splits[split]
        words = caption_words(arrays["captions"], self.idx_to_word)
        refs: dict[int, list[list[str]]] = {}
        for image, sentence in zip(arrays["image_idxs"].tolist(), words, strict=True):
            refs.setdefault(image, []).append(sentence)
        return refs

    @property
    def iterations_per_epoch(self) -> int:
        """Updates per epoch: max(num_train_captions // batch_size, 1)."""
        return max(len(self.splits["train"]["captions"]) // self.batch_size, 1)

    def _sample_batch(self) -> tuple[np.ndarray, np.ndarray]:
        train = self.splits["train"]
        mask = self.rng.choice(len(train["captions"]), self.batch_size)
        if hasattr(self.model, "dropout_seed"):
            self.model.dropout_seed = int(self.rng.integers(_DROPOUT_SEED_BOUND))
        return train["features"][train["image_idxs"][mask]], train["captions"][mask]

    def check_metric(self, split: str = "val", num_samples: int | None = None) -> float:
        """The val_metric of greedy captions for the distinct images of a split.

        split: "train" or "val"
        num_samples: if given and the split has more images, score that many drawn without
            replacement with the Solver's Generator
        returns the score, a float in [0, 1]
        """
        if split not in self.references:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        refs = self.references[split]
        images = np.fromiter(refs, dtype=np.int64, count=len(refs))
        if num_samples is not None and len(images) > num_samples:
            images = np.sort(self.rng.choice(images, num_samples, replace=False))
        arrays = self.splits[split]
        max_length = arrays["captions"].shape[1] - 1
        generated = self.model.sample(arrays["features"][images], max_length=max_length)
        hypotheses = caption_words(generated, self.idx_to_word)
        return score_captions([refs[i] for i in images.tolist()], hypotheses, self.val_metric)

    def _scores(self) -> tuple[float, float]:
        return (
            self.check_metric("train", self.num_train_samples),
            self.check_metric("val", self.num_val_samples),
        )

    def _reset(self) -> None:
        super()._reset()
        # Below any score, so the first evaluation is kept even when the metric is still 0.
        self.best_val_acc = -1.0

    def train(self) -> None:
        """Run the optimisation (see Solver.train); the model ends with the best parameters."""
        dropout_seed = getattr(self.model, "dropout_seed", None)
        try:
            super().train()
        finally:
            if hasattr(self.model, "dropout_seed"):
                self.model.dropout_seed = dropout_seed
