"""The course models: kNN, linear classifiers, fully-connected, conv and captioning nets.

As the course's assignment-1 `classifiers/__init__.py` does, the package re-exports the kNN and
linear classifiers (and, through the linear classifiers' star import there, the SVM and softmax
losses), so `from tinyvision.classifiers import KNearestNeighbor` and
`from tinyvision.classifiers import *` work in pasted notebooks. The nets stay in their own
modules (`classifiers.fc_net`, `cnn`, `rnn`, `transformer`), which notebooks import by name.
"""

from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor
from tinyvision.classifiers.linear_classifier import LinearClassifier, LinearSVM, Softmax
from tinyvision.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from tinyvision.classifiers.nearest_neighbor import NearestNeighbor
from tinyvision.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

__all__ = [
    "KNearestNeighbor",
    "LinearClassifier",
    "LinearSVM",
    "NearestNeighbor",
    "Softmax",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "svm_loss_naive",
    "svm_loss_vectorized",
]
