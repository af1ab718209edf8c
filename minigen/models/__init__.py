"""``minigen.models``: complete models built from ``minigen.nn``."""

from .. import rules
from .gpt import GPT, GPTConfig
from .oracle import oracle_lm, oracle_samples
from .rnn_lm import RNNLanguageModel
from .text_cnn import TextCNNDiscriminator
from .seq2seq import Seq2Seq
from .vae import TextVAE

__all__ = ["RNNLanguageModel", "GPT", "GPTConfig", "Seq2Seq", "TextVAE", "build_model", "MODEL_TYPES",
           "oracle_lm", "oracle_samples", "TextCNNDiscriminator"]

MODEL_TYPES = {"rnn_lm": RNNLanguageModel, "gpt": GPT, "seq2seq": Seq2Seq, "text_vae": TextVAE}


def build_model(config: dict):
    """A fresh model from a ``model.config`` dict (as saved in checkpoints), keyed by its ``model_type``.

    >>> model = build_model({"model_type": "rnn_lm", "vocab_size": 10, "hidden_size": 16})
    >>> type(model).__name__, model.config["hidden_size"]
    ('RNNLanguageModel', 16)
    """
    config = dict(config)
    kind = rules.choice("build_model", "model_type", config.pop("model_type", "rnn_lm"), tuple(MODEL_TYPES))
    return MODEL_TYPES[kind](**config)
