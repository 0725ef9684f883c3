"""The course's `rnn_layers` module: the recurrent layers plus the affine layer they build on.

`from tinyvision.rnn_layers import *` gives the same names as the course's
`from cs231n.rnn_layers import *`. The implementations live in `tinyvision.layers.recurrent`
and `tinyvision.layers.affine`.
"""

from tinyvision.layers.affine import affine_backward, affine_forward
from tinyvision.layers.recurrent import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

__all__ = [
    "affine_backward",
    "affine_forward",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]
