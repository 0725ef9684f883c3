"""The course's fast convolution and pooling layers (CS231n `fast_layers`), under its names.

The implementations live in `tinyvision.layers.conv` and `tinyvision.layers.pooling`. The
course had several fast variants (im2col, stride tricks, reshape); here each course name is an
alias of one implementation: every conv name is the im2col + single-GEMM pair, every max-pool
name the separable max pool. Any forward's cache therefore works with any backward of its kind.
"""

from tinyvision.layers.conv import conv_backward_fast, conv_forward_fast
from tinyvision.layers.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward_fast,
    max_pool_backward_im2col,
    max_pool_backward_reshape,
    max_pool_forward_fast,
    max_pool_forward_im2col,
    max_pool_forward_reshape,
)

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "conv_backward_fast",
    "conv_backward_im2col",
    "conv_backward_strides",
    "conv_forward_fast",
    "conv_forward_im2col",
    "conv_forward_strides",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "max_pool_backward_fast",
    "max_pool_backward_im2col",
    "max_pool_backward_reshape",
    "max_pool_forward_fast",
    "max_pool_forward_im2col",
    "max_pool_forward_reshape",
]

conv_forward_im2col = conv_forward_fast
conv_backward_im2col = conv_backward_fast
conv_forward_strides = conv_forward_fast
conv_backward_strides = conv_backward_fast
