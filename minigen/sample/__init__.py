"""``minigen.sample``: generating text from a language model."""

from .generate import generate, sample_next, stream_generate

__all__ = ["generate", "stream_generate", "sample_next"]
