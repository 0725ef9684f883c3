"""The functional core: every layer as a forward/backward pair of pure functions.

`X_forward(...) -> (out, cache)` and `X_backward(dout, cache) -> grads`. One file per concept;
this package re-exports every course name, so `from tinyvision.layers import *` works as the
course's `from cs231n.layers import *` does.
"""

from .activations import *
from .affine import *
from .concat import *
from .conv import *
from .conv_transpose import *
from .dropout import *
from .losses import *
from .normalization import *
from .padding import *
from .pooling import *
from .regularization import *
