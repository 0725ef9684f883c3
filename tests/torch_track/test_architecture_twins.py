"""Each named architecture against its torch.nn twin (tinyvision.torch.architectures).

The twins are written in torch layers from the papers' descriptions, not derived from the NumPy
models, so equal parameter counts check the NumPy layers' sizes (and `tinyvision describe`'s
totals); with the NumPy weights copied in, both must give the same scores (evaluation mode,
running statistics included) and the same gradient of the cross-entropy for every parameter
(training mode, batch statistics), in float64.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")

from assertions import assert_close  # noqa: E402

from tinyvision.classifiers import architectures as numpy_nets  # noqa: E402
from tinyvision.config import TrainConfig, resolve_config  # noqa: E402
from tinyvision.model_summary import describe_model  # noqa: E402
from tinyvision.nn import total_parameters  # noqa: E402
from tinyvision.torch import architectures as twins  # noqa: E402

TOL = {"rtol": 1e-8, "atol": 1e-10}
BLOCKS = (None, (2, 3, 4, 1, 2, 2), None, (3, 2, 2, 2, 3, 1))


def cifar10_defaults(name):
    return resolve_config(TrainConfig(model=name, dataset="cifar10"))


def default_twin(name):
    """The torch twin at the model's registered CIFAR-10 defaults."""
    c = cifar10_defaults(name)
    return {
        "lenet5": lambda: twins.lenet5(),
        "alexnet-small": lambda: twins.alexnet_small(c.channels, c.hidden_dims, dropout=c.dropout),
        "vgg": lambda: twins.vgg(c.depth, c.channels, dropout=c.dropout),
        "inception": lambda: twins.inception(dropout=c.dropout),
        "resnet": lambda: twins.resnet(c.channels, c.blocks_per_stage),
    }[name]()


NAMES = ["lenet5", "alexnet-small", "vgg", "inception", "resnet"]


@pytest.mark.parametrize("name", NAMES)
def test_describe_counts_the_parameters_the_torch_twin_has(name):
    description = describe_model(name, "cifar10")
    torch_count = sum(p.numel() for p in default_twin(name).parameters())
    assert total_parameters(description.rows) == torch_count


def small_pair(name):
    """A narrow float64 NumPy network and its twin, on 1-channel 32x32 images, 4 classes."""
    common = {"num_classes": 4, "input_shape": (1, 32, 32)}
    numpy_only = {"dtype": np.float64, "seed": 0}
    pairs = {
        "lenet5": (numpy_nets.LeNet5(**common, **numpy_only), twins.lenet5(1, 4)),
        "alexnet-small": (
            numpy_nets.AlexNetSmall((3, 4, 5, 4, 3), (6, 5), dropout=0.0, **common, **numpy_only),
            twins.alexnet_small((3, 4, 5, 4, 3), (6, 5), dropout=0.0, **common),
        ),
        "vgg": (
            numpy_nets.VGG(11, (2, 3, 4, 4, 3), **common, **numpy_only),
            twins.vgg(11, (2, 3, 4, 4, 3), **common),
        ),
        "inception": (
            numpy_nets.InceptionNet(BLOCKS, 3, **common, **numpy_only),
            twins.inception(BLOCKS, 3, **common),
        ),
        "resnet": (
            numpy_nets.ResNet((2, 3, 4), 2, **common, **numpy_only),
            twins.resnet((2, 3, 4), 2, **common),
        ),
    }
    ours, theirs = pairs[name]
    return ours, theirs.double()


def randomize(model, rng):
    """Non-trivial batch-norm parameters and running statistics (fresh ones are the identity)."""
    for name, value in model.params.items():
        if name.endswith(("gamma", "beta", ".b")):
            model.params[name] = float(name.endswith("gamma")) + 0.3 * rng.standard_normal(
                value.shape
            )
    for name, value in model.buffers.items():
        low = 0.5 if name.endswith("var") else -0.5
        model.buffers[name] = rng.uniform(low, low + 1.0, value.shape)


def torch_name(numpy_name, linear_owners):
    owner, _, leaf = numpy_name.rpartition(".")
    leaf = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}[leaf]
    return f"{owner}.{leaf}", owner in linear_owners


@pytest.mark.parametrize("name", NAMES)
def test_scores_and_gradients_equal_the_twins_with_the_same_weights(name):
    rng = np.random.default_rng(0)
    ours, theirs = small_pair(name)
    randomize(ours, rng)
    twins.load_numpy_state(theirs, ours.state_dict())
    X, y = rng.standard_normal((4, 1, 32, 32)), np.array([0, 3, 1, 2])

    scores = ours.loss(X)  # evaluation mode: running statistics
    with torch.no_grad():
        expected = theirs.eval()(torch.from_numpy(X)).numpy()
    assert_close(scores, expected, **TOL, name="scores")

    loss, grads = ours.loss(X, y)  # training mode: batch statistics
    theirs.train()
    torch_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(X)), torch.from_numpy(y))
    torch_loss.backward()
    assert_close(loss, torch_loss.item(), **TOL, name="loss")
    linear = {n for n, m in theirs.named_modules() if isinstance(m, torch.nn.Linear)}
    parameters = dict(theirs.named_parameters())
    assert len(parameters) == len(grads)
    for key, grad in grads.items():
        other, transposed = torch_name(key, linear)
        expected_grad = parameters[other].grad.numpy()
        assert_close(grad, expected_grad.T if transposed else expected_grad, **TOL, name=key)


def test_load_numpy_state_refuses_a_model_of_other_layers():
    ours = numpy_nets.ResNet((2,), 1, input_shape=(1, 8, 8), seed=0)
    with pytest.raises((KeyError, RuntimeError)):
        twins.load_numpy_state(twins.resnet((2, 3), 1).double(), ours.state_dict())
