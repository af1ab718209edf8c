"""``minigen.nn``: layers with the names, arguments and state-dict keys of ``torch.nn``."""

from . import init, utils
from .activation import GELU
from .attention import KVCache, MultiheadAttention
from .container import ModuleList
from .conv import Conv1d, MaxOverTime
from .dropout import Dropout
from .highway import Highway
from .linear import Linear
from .module import Module, Parameter
from .normalization import LayerNorm
from .rnn import GRU, LSTM, RNN
from .rnn_cell import GRUCell, LSTMCell, RNNCell
from .sparse import Embedding

__all__ = ["MultiheadAttention", "KVCache", "Module", "Parameter", "Linear", "init", "utils", "RNN", "LSTM", "GRU",
           "RNNCell", "LSTMCell", "GRUCell", "LayerNorm", "Embedding", "Dropout", "GELU", "ModuleList", "Conv1d",
           "MaxOverTime", "Highway"]
