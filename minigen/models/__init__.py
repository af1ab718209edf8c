"""``minigen.models``: complete models built from ``minigen.nn``."""

from .rnn_lm import RNNLanguageModel

__all__ = ["RNNLanguageModel"]
