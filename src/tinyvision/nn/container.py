"""Sequential: a chain of modules that also speaks the course's model interface.

Besides forward/backward, a Sequential has what the course's Solver expects of a model:
`params` (a writable dict-like view, names "<index>.<param>", e.g. "0.W", "0.b", "1.gamma")
and `loss(X, y=None)`, which returns class scores when y is None and (loss, grads) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..layers import l2_regularization, softmax_loss, svm_loss
from ..layers.losses import _softmax_loss, _svm_loss
from ..validation import check_labels, check_non_negative
from .module import Module

__all__ = ["LOSSES", "Sequential"]

LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], tuple[np.floating, np.ndarray]]] = {
    "softmax": softmax_loss,
    "svm": svm_loss,
}
# The same losses without their label check: Sequential.loss checks the labels itself.
_UNCHECKED_LOSSES = {"softmax": _softmax_loss, "svm": _svm_loss}


class Sequential(Module):
    """Modules applied one after another; child i is named str(i).

    The data loss is "softmax" (cross-entropy) or "svm" (multiclass hinge) on the last module's
    output. L2 regularisation adds 0.5 * reg * sum(W * W) for every parameter a module lists in
    its `regularized` attribute (the weights of Linear, not biases or normalisation parameters),
    as the course's models do.
    """

    def __init__(self, *modules: Module, loss: str = "softmax", reg: float = 0.0) -> None:
        """modules: the layers in order; loss: "softmax" or "svm"; reg: L2 strength, >= 0."""
        super().__init__()
        for index, module in enumerate(modules):
            if isinstance(module, type):
                raise ValueError(
                    f"Sequential takes Module instances, got the class {module.__name__} at "
                    f"position {index}; write {module.__name__}() rather than {module.__name__}"
                )
            if not isinstance(module, Module):
                raise ValueError(
                    f"Sequential takes Module instances, got {type(module).__name__} at "
                    f"position {index}"
                )
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
        check_non_negative(reg, "reg")
        self._modules = {str(index): module for index, module in enumerate(modules)}
        self.loss_name = loss
        self.reg = float(reg)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: the first module's input; returns the last module's output."""
        for module in self._modules.values():
            x = module.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: gradient of the output; fills every module's grads; returns dx."""
        for module in reversed(self._modules.values()):
            dout = module.backward(dout)
        return dout

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores, or loss and gradients, as the course's models compute them.

        X: (N, ...) float inputs
        y: (N,) int64 labels in [0, C), or None
        returns scores (N, C) computed in evaluation mode when y is None; otherwise
        (loss, grads) from a training-mode pass, grads keyed like `params`
        raises ValueError unless y holds one integer label in [0, C) per example; the labels
        are checked before the forward pass when the last module is a Linear layer (it says
        C), otherwise their upper bound is checked against the scores
        """
        if y is None:
            return self._forward_in_mode(X, training=False)
        num_classes = self._num_outputs()
        y = check_labels(y, num_classes, "y", num_examples=len(X))
        scores = self._forward_in_mode(X, training=True)
        if num_classes is None:
            y = check_labels(y, scores.shape[1], "y")
        loss, dscores = _UNCHECKED_LOSSES[self.loss_name](scores, y)
        self.backward(dscores)
        grads = self.grads
        params = self.params
        for name in self.regularized_names():
            penalty, dw = l2_regularization(params[name], self.reg, scale=0.5)
            loss += penalty
            grads[name] = grads[name] + dw
        return float(loss), grads

    def _num_outputs(self) -> int | None:
        """The number of scores per example when the last module says it (a Linear), else None."""
        last = self[-1] if len(self) else None
        return getattr(last, "out_features", None)

    def extra_repr(self) -> str:
        return f"loss={self.loss_name!r}, reg={self.reg}"
