"""``minigen.metrics``: scoring generated text (host-side Python; only the NLLs call a model).

- ``corpus_bleu`` / ``sentence_bleu``: BLEU as sacreBLEU computes it with
  ``tokenize="none"``, with its smoothing methods; ``BLEUScore`` holds the result
  and the n-gram statistics, ``bleu_from_stats`` scores already-summed statistics;
- ``perplexity``, ``bits_per_token``, ``bits_per_char``: a language model's mean
  loss in nats, in other units;
- ``exact_match``: the fraction of outputs equal to their target, for seq2seq tasks;
- ``nll_oracle``, ``nll_test``, ``bleu``, ``self_bleu``: the synthetic oracle benchmark's
  metrics (SeqGAN, Texygen): a model's NLL per token of given sequences, and nltk's
  smoothed sentence BLEU averaged over token sequences (Self-BLEU: each against the others).

>>> from minigen.metrics import corpus_bleu, perplexity
>>> round(corpus_bleu(["a b c d"], [["a b c d"]]).score, 6)
100.0
>>> perplexity(0.0)
1.0
"""

from .bleu import BLEUScore, bleu_from_stats, corpus_bleu, sentence_bleu
from .lm import bits_per_char, bits_per_token, exact_match, perplexity
from .textgan import bleu, nll_oracle, nll_test, self_bleu

__all__ = ["corpus_bleu", "sentence_bleu", "BLEUScore", "bleu_from_stats",
           "perplexity", "bits_per_token", "bits_per_char", "exact_match",
           "nll_oracle", "nll_test", "bleu", "self_bleu"]
