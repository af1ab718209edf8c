"""``minigen.train``: the training loop and its callbacks."""

from .callbacks import Callback, LossCurve, TextGenerator
from .trainer import CHECKPOINT_NAME, Trainer, TrainingError, loop_state

__all__ = ["Trainer", "TrainingError", "Callback", "TextGenerator", "LossCurve", "CHECKPOINT_NAME", "loop_state"]
