"""tinyvision: deep learning for computer vision from first principles.

The NumPy engine (`layers`, `fast_layers`, `rnn_layers`, `transformer_layers`), the classic
course models (`classifiers`), the training machinery (`optim`, `solver`), data (`data`) and
the command line (`tinyvision ...`). Module names follow the CS231n assignment package, so
course code runs after renaming `cs231n.` to `tinyvision.`.
"""

__version__ = "0.1.0"
