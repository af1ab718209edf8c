"""``minigen.sample``: generating text from a language model.

- ``generate`` / ``stream_generate``: greedy, sampling (temperature, top-k, top-p,
  min-p, typical), penalties, stop strings, beam search, with Hugging Face's keywords;
- the logits processors themselves, one small class each, and
  ``reweight_distribution``;
- ``beam_search`` with its search tree, ``plot_beam_tree``;
- ``speculative_generate``: a draft model proposes, the target verifies.
- ``WatermarkLogitsProcessor`` / ``WatermarkDetector``: green-list watermarking and its z-test.
"""

from .beam import BeamSearchOutput, beam_search, plot_beam_tree
from .constraints import *  # noqa: F403  (length, forcing and hygiene processors, as in constraints.__all__)
from .constraints import __all__ as _constraints
from .encoder_penalties import EncoderNoRepeatNGramLogitsProcessor, EncoderRepetitionPenaltyLogitsProcessor
from .generate import GenerateOutput, build_logits_processor, generate, sample_next, stream_generate
from .guidance import UnbatchedClassifierFreeGuidanceLogitsProcessor
from .penalties import *  # noqa: F403  (the penalty processors, as listed in penalties.__all__)
from .penalties import __all__ as _penalties
from .processors import *  # noqa: F403  (the processor classes, as listed in processors.__all__)
from .processors import __all__ as _processors
from .speculative import speculative_generate
from .truncation import EpsilonLogitsWarper, EtaLogitsWarper
from .watermark import WatermarkDetector, WatermarkDetectorOutput, WatermarkLogitsProcessor

__all__ = ["generate", "stream_generate", "sample_next", "GenerateOutput", "build_logits_processor",
           "beam_search", "BeamSearchOutput", "plot_beam_tree", "speculative_generate", *_processors, *_penalties,
           *_constraints,
           "EpsilonLogitsWarper", "EtaLogitsWarper", "EncoderRepetitionPenaltyLogitsProcessor",
           "EncoderNoRepeatNGramLogitsProcessor", "UnbatchedClassifierFreeGuidanceLogitsProcessor",
           "WatermarkLogitsProcessor", "WatermarkDetector", "WatermarkDetectorOutput"]
