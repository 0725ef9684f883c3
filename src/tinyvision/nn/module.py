"""The Module base class: a thin stateful object around a forward/backward pair of layer functions.

A module owns three name -> array dicts and a dict of named children:

- `_params`: learned parameters, updated by an optimiser (e.g. "W", "b", "gamma", "beta");
- `_grads`: the gradient of each parameter, filled by `backward`;
- `_buffers`: state that is not learned, such as batch-norm running statistics;
- `_modules`: child modules, for containers such as `Sequential`.

Parameter names are dotted paths: a `Sequential` whose first child is a `Linear` exposes that
child's weight as "0.W" and its bias as "0.b". `params` is a dict of every parameter in the
tree whose item assignment writes through to the owning module, and assigning a whole dict to
`params` copies it into the modules, so `model.params["0.W"] = new_w` and
`model.params = saved_copy` both change what the next forward pass uses: this is how the
course's Solver updates a model and restores its best parameters.

Writing a new module (Conv2d, MaxPool2d, ...)
---------------------------------------------
Subclass `Module`, call `super().__init__()`, register learned arrays with
`self._params[name] = array`, non-learned state with `self._buffers[name] = array`, and name the
parameters that L2 regularisation applies to in the class attribute `regularized` (for example
`("W",)`). Then implement two methods that call the layer functions, never re-deriving them:

    def forward(self, x):
        w, b = self._params["W"], self._params["b"]
        out, self.cache = conv_forward_fast(x, w, b, self.conv_param)
        return out

    def backward(self, dout):
        dx, self._grads["W"], self._grads["b"] = conv_backward_fast(dout, self.cache)
        return dx

Read parameters from `self._params` on every call (never keep a private reference), because the
Solver replaces the arrays; likewise store updated buffers back into `self._buffers`. Use
`self.training` to pick train/test behaviour. Put the class in its own file under nn/ (e.g.
nn/conv.py) and re-export it from nn/__init__.py.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np

from tinyvision.model import Model, check_state_dict

__all__ = ["Module", "ParameterView"]


class ParameterView(MutableMapping):
    """A module tree's arrays by dotted name; assigning a name writes through to its module.

    Reading gives the modules' own arrays (no copies). Assigning a name stores the new array in
    the module that owns it. Names cannot be added or removed, because the set of parameters is
    fixed by the model's structure. Copies (copy.copy, copy.deepcopy, .copy(), pickling) are
    plain dicts, detached from the model.
    """

    def __init__(self, module: Module, kind: str) -> None:
        self._module = module
        self._kind = kind

    def __getitem__(self, name: str) -> np.ndarray:
        location = self._module._locate(name, self._kind)
        if location is None:
            raise KeyError(name)
        store, leaf = location
        return store[leaf]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        location = self._module._locate(name, self._kind)
        if location is None:
            raise KeyError(
                f"{name!r} is not a {self._kind[:-1]} of this model; names: {list(self)}"
            )
        store, leaf = location
        store[leaf] = value

    def __delitem__(self, name: str) -> None:
        raise TypeError("the names of a model's parameters are fixed by its structure")

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._module._named(self._kind))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))

    def copy(self) -> dict[str, np.ndarray]:
        """A plain dict holding the same arrays (not copies of them)."""
        return dict(self)

    def __copy__(self) -> dict[str, np.ndarray]:
        return dict(self)

    def __deepcopy__(self, memo: dict) -> dict[str, np.ndarray]:
        return {name: copy.deepcopy(value, memo) for name, value in self.items()}

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))


class Module(Model, ABC):
    """Base class of every layer object; see the module docstring for how to write one."""

    regularized: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._modules: dict[str, Module] = {}
        self.cache: Any = None
        self.training = True

    @abstractmethod
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output and keep in `self.cache` what backward needs."""

    @abstractmethod
    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Fill `self._grads` from the upstream gradient and return the gradient of the input."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _named(self, kind: str, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Yield (dotted name, array) for one of "params", "grads" or "buffers", depth first."""
        for name, value in getattr(self, f"_{kind}").items():
            yield prefix + name, value
        for child_name, child in self._modules.items():
            yield from child._named(kind, f"{prefix}{child_name}.")

    def _locate(self, name: str, kind: str) -> tuple[dict[str, np.ndarray], str] | None:
        """The dict holding a dotted name and the key inside it, or None if there is none."""
        head, _, rest = name.partition(".")
        if rest and head in self._modules:
            return self._modules[head]._locate(rest, kind)
        store = getattr(self, f"_{kind}")
        return (store, name) if name in store else None

    @property
    def params(self) -> ParameterView:
        """Every learned parameter by dotted name, as a dict whose assignment writes through."""
        return ParameterView(self, "params")

    @params.setter
    def params(self, new_params: Mapping[str, np.ndarray]) -> None:
        self._assign("params", new_params)

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradient of each parameter from the last backward pass, by dotted name."""
        return dict(self._named("grads"))

    @property
    def buffers(self) -> ParameterView:
        """Non-learned state (running statistics) by dotted name; assignment writes through."""
        return ParameterView(self, "buffers")

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield (dotted name, parameter array) pairs, depth first."""
        return self._named("params")

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield (dotted name, buffer array) pairs, depth first."""
        return self._named("buffers")

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield (dotted name, module) for this module ("" for itself) and every descendant."""
        yield prefix.rstrip("."), self
        for child_name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}{child_name}.")

    def regularized_names(self) -> list[str]:
        """Dotted names of the parameters L2 regularisation applies to (weights, not biases)."""
        names = [name for name in self._params if name in self.regularized]
        for child_name, child in self._modules.items():
            names.extend(f"{child_name}.{name}" for name in child.regularized_names())
        return names

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its children to training (True) or evaluation (False) mode."""
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode: running statistics for batch norm, no dropout."""
        return self.train(False)

    def _forward_in_mode(self, X: np.ndarray, training: bool) -> np.ndarray:
        """Forward pass in the given mode, leaving every module's own mode as it was."""
        previous = [(module, module.training) for _, module in self.named_modules()]
        self.train(training)
        try:
            return self.forward(X)
        finally:
            for module, mode in previous:
                module.training = mode

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass."""
        for _, module in self.named_modules():
            module._grads.clear()

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name (buffers included)."""
        state = {name: np.array(value, copy=True) for name, value in self.named_parameters()}
        state.update({name: np.array(value, copy=True) for name, value in self.named_buffers()})
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy the arrays of a state_dict() back into this module.

        state: name -> array with exactly the names and shapes of this module's state_dict()
        """
        params, buffers = dict(self.named_parameters()), dict(self.named_buffers())
        check_state_dict(state, {**params, **buffers}, type(self).__name__)
        params = {name: state[name] for name in params}
        buffers = {name: state[name] for name in buffers}
        self._assign("params", params)
        self._assign("buffers", buffers)

    def _assign(self, kind: str, new_values: Mapping[str, np.ndarray]) -> None:
        """Replace every array of one kind, after checking that names and shapes all match."""
        current = dict(self._named(kind))
        check_state_dict(new_values, current, f"{type(self).__name__}'s {kind}")
        for name, value in new_values.items():
            store, leaf = self._locate(name, kind)
            store[leaf] = np.array(value, dtype=current[name].dtype, copy=True)

    def _monte_carlo_scores(self, X: np.ndarray) -> np.ndarray:
        """forward(X) with the dropout modules (monte_carlo = True) sampling fresh masks and
        every other module in evaluation mode; modes and seeds are restored afterwards."""
        modules = [module for _, module in self.named_modules()]
        stochastic = [m for m in modules if getattr(m, "monte_carlo", False)]
        if not stochastic:
            return super()._monte_carlo_scores(X)
        previous = [(m, m.training) for m in modules]
        seeds = [(m, m.seed) for m in stochastic]
        self.eval()
        for module in stochastic:
            module.training = True
            module.seed = None  # a fixed seed would give the same mask on every pass
        try:
            return self.forward(X)
        finally:
            for module, mode in previous:
                module.training = mode
            for module, seed in seeds:
                module.seed = seed

    def extra_repr(self) -> str:
        """Constructor arguments shown by repr(); subclasses override it."""
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [
            f"  ({name}): {child!r}".replace("\n", "\n  ") for name, child in self._modules.items()
        ]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"
