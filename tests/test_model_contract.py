"""The one model contract (tinyvision.model): every parameter holder answers the same questions.

Each builder below makes a model the way a course notebook would (constructor signature of the
course, `seed` left out or given). The tests check, for every one of them: the seeding rule,
strict state dicts that name what is wrong, train()/eval() and predict.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision import nn
from tinyvision.classifiers.classification_net import ClassificationNet
from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.classifiers.convnet import ConvNet
from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from tinyvision.classifiers.linear_classifier import LinearSVM, Softmax
from tinyvision.classifiers.logistic_regression import LogisticRegression
from tinyvision.classifiers.rnn import CaptioningRNN
from tinyvision.classifiers.transformer import CaptioningTransformer
from tinyvision.model import Model
from tinyvision.transformer_layers import (
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoderLayer,
)

WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3, "dog": 4}


def _trained_linear(model_class, seed=None):
    model = model_class(seed=seed)
    X = np.random.default_rng(0).standard_normal((30, 4))
    model.train(X, np.arange(30) % 3, num_iters=3, batch_size=10)
    return model


BUILDERS = {
    "TwoLayerNet": lambda seed=None: TwoLayerNet(6, 5, 3, weight_scale=1e-1, seed=seed),
    "FullyConnectedNet": lambda seed=None: FullyConnectedNet(
        [5, 4], input_dim=6, num_classes=3, normalization="batchnorm", seed=seed
    ),
    "ThreeLayerConvNet": lambda seed=None: ThreeLayerConvNet(
        (3, 8, 8), num_filters=2, filter_size=3, hidden_dim=5, seed=seed
    ),
    "ConvNet": lambda seed=None: ConvNet(
        channels=(4,), blocks_per_stage=1, input_shape=(3, 8, 8), num_classes=3, seed=seed
    ),
    "ClassificationNet": lambda seed=None: ClassificationNet(
        input_size=6, hidden_size=5, num_classes=3, seed=seed
    ),
    "LogisticRegression": lambda seed=None: LogisticRegression(num_features=6, seed=seed),
    "CaptioningRNN": lambda seed=None: CaptioningRNN(
        WORDS, input_dim=6, wordvec_dim=4, hidden_dim=5, cell_type="lstm", seed=seed
    ),
    "CaptioningTransformer": lambda seed=None: CaptioningTransformer(
        WORDS, input_dim=6, wordvec_dim=8, num_heads=2, num_layers=1, seed=seed
    ),
    "MultiHeadAttention": lambda seed=None: MultiHeadAttention(8, 2, seed=seed),
    "TransformerDecoderLayer": lambda seed=None: TransformerDecoderLayer(
        8, 2, dim_feedforward=6, seed=seed
    ),
    "Linear": lambda seed=None: nn.Linear(6, 3, seed=seed),
    "Softmax": lambda seed=None: _trained_linear(Softmax, seed),
    "LinearSVM": lambda seed=None: _trained_linear(LinearSVM, seed),
}


def _states_equal(a: Model, b: Model) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", BUILDERS)
def test_every_model_is_a_model(name):
    model = BUILDERS[name](seed=0)
    assert isinstance(model, Model)
    assert set(dict(model.named_parameters())) == set(model.params)
    assert set(model.state_dict()) == set(model.params) | set(dict(model.named_buffers()))


@pytest.mark.parametrize("name", BUILDERS)
def test_np_random_seed_reproduces_a_model_built_without_a_seed(name):
    np.random.seed(231)
    first = BUILDERS[name]()
    np.random.seed(231)
    second = BUILDERS[name]()
    assert _states_equal(first, second)
    np.random.seed(232)
    assert not _states_equal(first, BUILDERS[name]())


@pytest.mark.parametrize("name", BUILDERS)
def test_an_integer_seed_ignores_the_global_generator(name):
    np.random.seed(1)
    first = BUILDERS[name](seed=5)
    np.random.seed(2)
    assert _states_equal(first, BUILDERS[name](seed=5))
    assert not _states_equal(first, BUILDERS[name](seed=6))


@pytest.mark.parametrize("name", BUILDERS)
def test_state_dict_round_trip_is_a_copy(name):
    source, target = BUILDERS[name](seed=1), BUILDERS[name](seed=2)
    state = source.state_dict()
    target.load_state_dict(state)
    assert _states_equal(source, target)
    key = next(iter(state))
    state[key] += 1.0  # the loaded arrays are copies
    assert not np.array_equal(target.state_dict()[key], state[key])


@pytest.mark.parametrize("name", BUILDERS)
def test_load_state_dict_is_strict_and_names_the_key(name):
    model = BUILDERS[name](seed=0)
    state = model.state_dict()
    key = sorted(state)[-1]
    missing = {k: v for k, v in state.items() if k != key}
    with pytest.raises(ValueError, match=f"missing \\[{key!r}\\]"):
        model.load_state_dict(missing)
    with pytest.raises(ValueError, match="unexpected \\['bogus'\\]"):
        model.load_state_dict({**state, "bogus": np.zeros(1)})
    wrong = {**state, key: np.zeros(np.shape(state[key]) + (2,))}
    with pytest.raises(ValueError, match=f"{key!r} has shape"):
        model.load_state_dict(wrong)


@pytest.mark.parametrize("name", BUILDERS)
def test_train_and_eval_switch_the_mode_and_return_the_model(name):
    model = BUILDERS[name](seed=0)
    assert model.eval() is model and model.training is False
    assert model.train() is model and model.training is True
    assert model.train(False) is model and model.training is False


def test_batchnorm_running_statistics_are_buffers_that_checkpoints_keep():
    model = BUILDERS["FullyConnectedNet"](seed=0)
    X, y = np.random.default_rng(0).standard_normal((8, 6)), np.arange(8) % 3
    model.loss(X, y)
    buffers = dict(model.named_buffers())
    stats = ("running_mean", "running_var")
    assert sorted(buffers) == sorted(f"bn{i}/{stat}" for i in (1, 2) for stat in stats)
    fresh = BUILDERS["FullyConnectedNet"](seed=3)
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(fresh.loss(X), model.loss(X))


def test_grads_are_those_of_the_last_loss_call():
    model = BUILDERS["TwoLayerNet"](seed=0)
    assert model.grads == {}
    X, y = np.random.default_rng(0).standard_normal((4, 6)), np.array([0, 1, 2, 0])
    _, grads = model.loss(X, y)
    assert model.grads.keys() == grads.keys()
    assert all(model.grads[k] is grads[k] for k in grads)


def test_predict_gives_labels_for_classifiers_and_captions_for_captioners():
    X = np.random.default_rng(0).standard_normal((7, 6))
    for name in ("TwoLayerNet", "FullyConnectedNet", "ClassificationNet"):
        model = BUILDERS[name](seed=0)
        np.testing.assert_array_equal(model.predict(X), np.argmax(model.loss(X), axis=1))
    captioner = BUILDERS["CaptioningRNN"](seed=0)
    np.testing.assert_array_equal(
        captioner.predict(X, max_length=4), captioner.sample(X, max_length=4)
    )


def test_transformer_layers_use_training_for_dropout():
    layer = PositionalEncoding(8, dropout=0.5, max_len=4, seed=0)
    x = np.ones((2, 3, 8))
    assert layer.mode == "train"
    assert not np.array_equal(layer.forward(x), x + layer.pe[:, :3])
    layer.eval()
    assert layer.mode == "test"
    np.testing.assert_allclose(layer.forward(x), x + layer.pe[:, :3])


def test_dropout_means_the_drop_probability_in_our_classes():
    x = np.ones((400, 250))
    kept = np.mean(nn.Dropout(0.2, seed=0).forward(x) > 0)
    assert abs(kept - 0.8) < 0.01
    convnet = ConvNet(channels=(4,), blocks_per_stage=1, input_shape=(3, 8, 8), dropout=0.25)
    assert [m.p for m in convnet if isinstance(m, nn.Dropout)] == [0.25]
    with pytest.raises(ValueError, match="probability of dropping"):
        ConvNet(channels=(4,), blocks_per_stage=1, input_shape=(3, 8, 8), dropout=1.0)
