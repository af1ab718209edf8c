"""``minigen.functional`` (import it as ``F``): the kernels as differentiable functions.

Each function here checks its arguments, then calls an autograd Function that
wraps a forward/backward kernel pair from ``minigen.kernels``.
"""

from .activation import dropout, gelu
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .conv import conv1d, max_over_time
from .embedding import embedding
from .gumbel import gumbel_softmax
from .highway import highway
from .linear import linear
from .lstm import lstm, lstm_cell
from .norm import layer_norm
from .recurrent import gru, gru_cell, rnn, rnn_cell
from .softmax import cross_entropy, log_softmax, softmax, softmax_composed

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward",
           "lstm", "lstm_cell", "gru", "gru_cell", "rnn", "rnn_cell",
           "linear", "softmax", "softmax_composed", "log_softmax", "cross_entropy",
           "layer_norm", "gelu", "dropout", "embedding",
           "conv1d", "max_over_time", "highway", "gumbel_softmax"]
