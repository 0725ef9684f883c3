"""Tests for the CaptioningSolver: learning, the course overfit check, metrics, exact resume,
early stopping, seeding, and clear errors for bad data."""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision.captioning_solver import CaptioningSolver, caption_words, score_captions
from tinyvision.classifiers.rnn import CaptioningRNN
from tinyvision.classifiers.transformer import CaptioningTransformer
from tinyvision.data.digit_strips import load_digit_strips
from tinyvision.metrics import corpus_bleu, exact_match

FEATURE_DIM = 64


@pytest.fixture(scope="module")
def data():
    return load_digit_strips(num_train=50, num_val=20, num_test=0, seed=0, feature_dim=FEATURE_DIM)


def rnn(data, cell_type="rnn", hidden_dim=64, seed=0):
    return CaptioningRNN(
        data["word_to_idx"],
        input_dim=FEATURE_DIM,
        wordvec_dim=32,
        hidden_dim=hidden_dim,
        cell_type=cell_type,
        seed=seed,
    )


def transformer(data, seed=0):
    return CaptioningTransformer(
        data["word_to_idx"],
        input_dim=FEATURE_DIM,
        wordvec_dim=16,
        num_heads=2,
        num_layers=1,
        max_length=8,
        dropout=0.1,
        dim_feedforward=32,
        seed=seed,
    )


def solver(model, data, **kwargs):
    options = {
        "update_rule": "adam",
        "optim_config": {"learning_rate": 5e-3},
        "batch_size": 25,
        "num_epochs": 2,
        "verbose": False,
        "seed": 0,
        **kwargs,
    }
    return CaptioningSolver(model, data, **options)


def test_course_overfit_fifty_captions_with_an_rnn(data):
    # Without val captions the train metric picks the returned parameters, as overfitting wants.
    train_only = {k: v for k, v in data.items() if not k.startswith("val_")}
    model = rnn(data)
    s = solver(model, train_only, optim_config={"learning_rate": 2e-2}, lr_decay=0.95,
               num_epochs=50)  # fmt: skip
    s.train()
    assert len(s.loss_history) == 50 * 2  # 50 captions // 25 per batch = 2 updates per epoch
    assert np.mean(s.loss_history[:4]) > 5 * np.mean(s.loss_history[-4:])
    assert s.loss_history[-1] < 0.1
    # The loss is low on all 50 captions, not only on the last minibatch.
    full_loss, _ = model.loss(data["train_features"], data["train_captions"])
    assert full_loss < 0.5
    assert s.check_metric("train") >= 0.8


def test_metric_is_exact_match_or_bleu4_of_greedy_captions(data):
    model = rnn(data, cell_type="lstm")
    s = solver(model, data, num_epochs=3)
    s.train()
    generated = model.sample(data["val_features"], max_length=6)
    hyps = caption_words(generated, data["idx_to_word"])
    refs = [[ref] for ref in caption_words(data["val_captions"], data["idx_to_word"])]
    assert s.check_metric("val") == exact_match(refs, hyps)
    bleu = CaptioningSolver(model, data, val_metric="bleu4", verbose=False)
    assert bleu.check_metric("val") == corpus_bleu(refs, hyps)
    assert s.val_acc_history[-1] == exact_match(refs, hyps)  # train() ends with those params
    assert len(s.val_acc_history) == 1 + 3  # after update 1, then every epoch


def test_caption_words_strips_special_tokens_and_stops_at_end(data):
    w = data["word_to_idx"]
    captions = np.array(
        [
            [w["<START>"], w["one"], w["two"], w["<END>"], w["three"]],
            [w["four"], w["<NULL>"], w["five"], w["five"], w["five"]],
        ]
    )
    assert caption_words(captions, data["idx_to_word"]) == [
        ["one", "two"],
        ["four", "five", "five", "five"],
    ]
    with pytest.raises(ValueError, match="metric must be one of"):
        score_captions([[["one"]]], [["one"]], "accuracy")


def test_references_group_the_captions_of_one_image(data):
    # COCO-style: two captions of image 0, one of image 1; a hypothesis matching either counts.
    w = data["word_to_idx"]
    two = dict(data)
    two["val_captions"] = np.array(
        [
            [w["<START>"], w["one"], w["<END>"], 0],
            [w["<START>"], w["two"], w["<END>"], 0],
            [w["<START>"], w["six"], w["<END>"], 0],
        ]
    )
    two["val_image_idxs"] = np.array([0, 0, 1])
    s = solver(rnn(data), two)
    assert s.references["val"] == {0: [["one"], ["two"]], 1: [["six"]]}


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_resume_gives_the_same_final_parameters(data, tmp_path, kind):
    def build():
        return rnn(data, cell_type="lstm") if kind == "lstm" else transformer(data)

    options = {"lr_decay": 0.9, "num_epochs": 4, "num_train_samples": 10}
    full = build()
    solver(full, data, out_dir=tmp_path / "full", **options).train()

    first = build()
    solver(first, data, out_dir=tmp_path / "part", **{**options, "num_epochs": 2}).train()
    # Throw away some draws: the resumed run must take its RNG states from the checkpoint.
    np.random.seed(123)
    resumed_model = build()
    resumed = solver(
        resumed_model, data, seed=99, resume=tmp_path / "part" / "checkpoint.npz", **options
    )
    assert resumed.epoch == 2
    resumed.train()
    assert set(resumed_model.params) == set(full.params)
    for name, value in full.params.items():
        np.testing.assert_array_equal(resumed_model.params[name], value, err_msg=name)
    if kind == "transformer":
        assert resumed_model.dropout_seed is None  # restored after training


def test_transformer_dropout_masks_follow_the_solver_seed(data):
    losses = []
    for seed in (3, 3, 4):
        s = solver(transformer(data, seed=0), data, seed=seed, num_epochs=1)
        s.train()
        losses.append(s.loss_history)
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_early_stopping_when_the_metric_stalls(data):
    # A learning rate this small leaves every greedy caption unchanged, so after the first
    # check (which always counts) no epoch improves and patience=2 stops after epoch 2.
    s = solver(rnn(data), data, update_rule="sgd", optim_config={"learning_rate": 1e-12},
               num_epochs=10, patience=2)  # fmt: skip
    s.train()
    assert s.stopped_early
    assert s.epoch == 2
    assert len(s.loss_history) == 2 * s.iterations_per_epoch
    assert s.best_val_acc == s.val_acc_history[0]


def test_first_check_counts_even_when_the_metric_is_zero(data):
    s = solver(rnn(data), data, update_rule="sgd", optim_config={"learning_rate": 1e-12},
               num_epochs=1)  # fmt: skip
    s.train()
    assert s.best_val_acc >= 0.0
    assert s.val_acc_history[0] == s.best_val_acc


def test_verbose_messages_name_the_metric(data, monkeypatch):
    import tinyvision.solver as solver_module

    lines = []
    monkeypatch.setattr(solver_module.tqdm, "write", lambda s, *a, **k: lines.append(s))
    solver(rnn(data), data, verbose=True, progress=False, num_epochs=1).train()
    assert lines[0].startswith("(Iteration 1 / 2) loss: ")
    assert lines[-1].startswith("(Epoch 1 / 1) train metric: ")
    assert "; val_metric: " in lines[-1]


def test_without_val_captions_the_train_metric_stands_in(data):
    no_val = {k: v for k, v in data.items() if not k.startswith("val_")}
    s = solver(rnn(data), no_val, num_epochs=1)
    s.train()
    assert s.val_acc_history == s.train_acc_history


def _with(data, **changes):
    return {**data, **changes}


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: _with(d, train_captions=np.where(d["train_captions"] == 5, 99, 5)),
         "word id 99, outside the vocabulary"),
        (lambda d: _with(d, train_image_idxs=d["train_image_idxs"][:-3]),
         "47 captions|one integer per caption"),
        (lambda d: _with(d, train_features=d["train_features"][:10]),
         "points outside the 10 rows"),
        (lambda d: _with(d, train_captions=d["train_captions"][:0],
                         train_image_idxs=d["train_image_idxs"][:0]), "is empty"),
        (lambda d: _with(d, train_captions=d["train_captions"].astype(float)), "integer array"),
        (lambda d: {k: v for k, v in d.items() if k != "train_features"}, "train_features"),
        (lambda d: {k: v for k, v in d.items() if k != "idx_to_word"}, "idx_to_word"),
    ],
)  # fmt: skip
def test_bad_data(data, change, match):
    with pytest.raises(ValueError, match=match):
        solver(rnn(data), change(data))


def test_bad_settings_and_models(data):
    with pytest.raises(ValueError, match="val_metric must be one of"):
        solver(rnn(data), data, val_metric="cider")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        solver(rnn(data), data, batch_size=0)
    with pytest.raises(ValueError, match="Unrecognized arguments beam; CaptioningSolver"):
        solver(rnn(data), data, beam=3)

    class NoSample:
        params: dict = {}

        def loss(self, features, captions):
            return 0.0, {}

    with pytest.raises(ValueError, match="has no sample"):
        solver(NoSample(), data)


def test_model_batches_must_be_consistent(data):
    model = rnn(data)
    with pytest.raises(ValueError, match="features has 3 examples but captions has 5"):
        model.loss(data["train_features"][:3], data["train_captions"][:5])
    with pytest.raises(ValueError, match="empty batch"):
        model.loss(data["train_features"][:0], data["train_captions"][:0])
