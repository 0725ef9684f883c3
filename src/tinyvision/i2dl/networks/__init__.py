"""I2DL's `exercise_code.networks`: layers, losses, models and optimisers as thin adapters.

Each module mirrors the exercise's (`layer`, `loss`, `base_networks`, `classifier`,
`classification_net`, `optimizer`, `compute_network_size`), so both
``from tinyvision.i2dl.networks import Relu`` and
``from tinyvision.i2dl.networks.layer import Relu`` work. The maths is tinyvision's own:
`tinyvision.layers`, `tinyvision.nn`, `tinyvision.optim` and the models in
`tinyvision.classifiers`.
"""

from .base_networks import DummyNetwork, Network, save_model
from .classification_net import ClassificationNet
from .classifier import Classifier
from .compute_network_size import GetHumanReadable, compute_network_pass_size
from .layer import LeakyRelu, Relu, Sigmoid, Tanh, affine_backward, affine_forward
from .loss import BCE, L1, MSE, CrossEntropyFromLogits, Loss
from .optimizer import SGD, Adam, Optimizer, SGDMomentum

__all__ = [
    "BCE",
    "L1",
    "MSE",
    "SGD",
    "Adam",
    "ClassificationNet",
    "Classifier",
    "CrossEntropyFromLogits",
    "DummyNetwork",
    "GetHumanReadable",
    "LeakyRelu",
    "Loss",
    "Network",
    "Optimizer",
    "Relu",
    "SGDMomentum",
    "Sigmoid",
    "Tanh",
    "affine_backward",
    "affine_forward",
    "compute_network_pass_size",
    "save_model",
]
