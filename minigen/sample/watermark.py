"""Watermarking: the green-list method of Kirchenbauer et al., 2023, "A Watermark for Large Language Models".

While generating, the previous token seeds a random split of the vocabulary: a
``greenlist_ratio`` share gamma of it is "green", the rest "red". The processor adds
``bias`` (delta) to the green tokens' scores, so a sampled text holds more green
tokens than chance. Anyone who knows the key can recompute each position's green
list and count: T tokens scored, T_g of them green. Without the watermark T_g is
Binomial(T, gamma), so

    z = (T_g - gamma T) / sqrt(T gamma (1 - gamma))

is about N(0, 1), and a z above 4 (p = 3e-5) says "watermarked". Text written
without the key (by a person, or another model) is not penalised in any way; the
watermark is only a statistical trace of the sampler.

Green lists, as in Hugging Face (``transformers.generation.logits_process.
WatermarkLogitsProcessor``, which follows the authors' repository):

- the seed: ``lefthash`` uses the previous token only, ``seed = hashing_key * x[t-1]``;
  ``selfhash`` mixes the last ``context_width`` tokens with the candidate token itself
  through a fixed random table (HF's rule, int64 overflow included);
- the green list: the first ``int(V * greenlist_ratio)`` entries of ``randperm(V)``
  drawn from a generator seeded with that seed.

Hugging Face draws ``randperm`` from torch's generator. Here it is re-derived without
torch (``_randperm``): torch's CPU generator is the reference MT19937 seeded with the
low 32 bits of the seed, and its ``randperm`` is a Fisher-Yates shuffle, so the green
lists are exactly those of HF on the CPU (the tests check it against torch). HF on a
GPU draws ``randperm`` with CUDA's generator and gets other lists: minigen's do not
depend on the device.

Shapes: B = batch, T = tokens so far, V = vocabulary. As for every processor,
``process(input_ids, scores)`` returns new scores (B, V) and never edits in place.
The green lists are found on the host, in Python (an explicit copy of ``input_ids``),
and the (B, V) green mask is moved to the scores' device.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from functools import lru_cache

from .. import backend, rules
from ..backend import array_namespace, host
from .processors import LogitsProcessor

__all__ = ["WatermarkLogitsProcessor", "WatermarkDetector", "WatermarkDetectorOutput", "randperm"]

SEEDING_SCHEMES = ("lefthash", "selfhash")
TABLE_SIZE = 1_000_003            # HF's fixed table for selfhash: a permutation of range(TABLE_SIZE)
SELFHASH_CANDIDATES = 40          # selfhash tries the 40 highest-scored tokens only (HF and the authors' repository)
_OPTIONS = ("greenlist_ratio", "bias", "hashing_key", "seeding_scheme", "context_width")   # HF's WatermarkingConfig


# --------------------------------------------------------------------------- the random permutations

@lru_cache(maxsize=4096)
def _randperm(seed: int, n: int):
    """``torch.randperm(n)`` after ``generator.manual_seed(seed)`` on the CPU, without torch: a (n,) host array.

    torch's CPU generator is MT19937 seeded with ``seed mod 2^32`` by the reference
    ``init_genrand``; NumPy's legacy ``RandomState(seed)`` is the same generator with
    the same seeding, and ``randint(0, 2^32, dtype=uint32)`` hands out its raw 32-bit
    draws u_0, u_1, ... torch then shuffles ``0, 1, ..., n-1`` in place (Fisher-Yates):
    step i swaps position i with position ``i + u_i mod (n - i)``.
    """
    draws = host.random.RandomState(seed & 0xFFFFFFFF).randint(0, 2**32, size=max(n - 1, 0), dtype=host.uint32)
    steps = host.arange(n - 1)                                                # (n-1,)
    swap_with = (steps + draws.astype(host.int64) % (n - steps)).tolist()     # (n-1,): i + u_i mod (n - i)
    perm = list(range(n))
    for i, j in enumerate(swap_with):
        perm[i], perm[j] = perm[j], perm[i]
    out = host.asarray(perm, dtype=host.int64)
    out.flags.writeable = False                                               # shared by the cache
    return out


def randperm(seed: int, n: int):
    """The permutation behind the green lists: torch's CPU ``randperm(n)`` after ``manual_seed(seed % (2^64 - 1))``,
    as Hugging Face seeds it; a read-only (n,) host array of the ids 0..n-1.

    >>> randperm(0, 10).tolist()
    [4, 1, 7, 5, 3, 9, 0, 8, 6, 2]
    """
    seed = rules.integer("randperm", "seed", seed, 0)
    return _randperm(seed % (2**64 - 1), rules.positive_int("randperm", "n", n))


@lru_cache(maxsize=8)
def _fixed_table(hashing_key: int):
    """HF's table for selfhash: ``randperm(TABLE_SIZE)`` seeded with the key (a million swaps: about 0.5 s, once)."""
    return _randperm(hashing_key, TABLE_SIZE)


@lru_cache(maxsize=4096)
def _green_mask(seed32: int, vocab_size: int, greenlist_size: int):
    """(vocab_size,) bool host array: True at the first ``greenlist_size`` entries of ``randperm(vocab_size)``."""
    mask = host.zeros(vocab_size, dtype=bool)
    mask[_randperm(seed32, vocab_size)[:greenlist_size]] = True
    mask.flags.writeable = False
    return mask


def _int64(x: int) -> int:
    """``x`` wrapped to a signed 64-bit integer, as torch's int64 products wrap on overflow."""
    return (x + 2**63) % 2**64 - 2**63


# --------------------------------------------------------------------------- the processor

class WatermarkLogitsProcessor(LogitsProcessor):
    """Add ``bias`` to the scores of the green tokens, a ``greenlist_ratio`` share of the vocabulary.

    For row b, with the green list G(x) seeded by its last tokens x (see the module)::

        scores'[b, v] = scores[b, v] + bias   if v in G(x)
                        scores[b, v]          otherwise

    With p = softmax(scores), a green token's probability rises from p_v to
    ``p_v e^bias / (1 + (e^bias - 1) P_G)``, P_G the green mass: a strong push where the
    model is unsure, almost none where one token dominates (low entropy), which is
    why short or predictable texts are hard to detect.

    - ``lefthash`` (Algorithm 2 of the paper): G depends on the previous token only
      (``context_width`` then only sets how many tokens a row needs, as in HF);
    - ``selfhash`` (Algorithm 3): each of the 40 highest-scored candidates c gets the
      green list seeded by (the last ``context_width`` tokens ending with c), and gets
      the bias if c is in it. (With fewer than 40 tokens HF fails; minigen tries all.)

    ``vocab_size`` is the size of the permuted vocabulary (the scores may be wider:
    ids >= ``vocab_size`` are never green). Rows shorter than ``context_width``
    tokens are returned as they are (HF also logs a warning). HF's constructor also
    takes the ``device`` of its torch generator; minigen's green lists are drawn on the
    host and are the same on every device, so there is no ``device`` argument.

    >>> import numpy as np
    >>> watermark = WatermarkLogitsProcessor(vocab_size=8, greenlist_ratio=0.25)
    >>> watermark.greenlist_ids([3]).tolist()          # the green list after token 3
    [2, 3]
    >>> watermark(np.array([[5, 3]]), np.zeros((1, 8))).tolist()
    [[0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, vocab_size: int, greenlist_ratio: float = 0.25, bias: float = 2.0,
                 hashing_key: int = 15485863, seeding_scheme: str = "lefthash", context_width: int = 1):
        fn = "WatermarkLogitsProcessor"
        self.vocab_size = rules.positive_int(fn, "vocab_size", vocab_size)
        self.greenlist_ratio = rules.real(fn, "greenlist_ratio", greenlist_ratio, 0, 1, lo_open=True, hi_open=True)
        self.bias = rules.real(fn, "bias", bias)
        self.hashing_key = rules.integer(fn, "hashing_key", hashing_key, 0, 2**63 - 1)   # torch's int64 seeds
        self.seeding_scheme = rules.choice(fn, "seeding_scheme", seeding_scheme, SEEDING_SCHEMES)
        self.context_width = rules.positive_int(fn, "context_width", context_width)
        self.greenlist_size = int(self.vocab_size * self.greenlist_ratio)

    @classmethod
    def from_config(cls, vocab_size: int, watermarking_config=None, fn: str = "WatermarkLogitsProcessor"):
        """The processor of a ``watermarking_config``: a dict of the options above (Hugging Face's
        ``WatermarkingConfig`` fields), a ``WatermarkingConfig`` itself, or None for the defaults."""
        config = {} if watermarking_config is None else watermarking_config
        if hasattr(config, "to_dict"):                                         # HF's WatermarkingConfig
            config = config.to_dict()
        rules.instance(fn, "watermarking_config", config, dict, "a dict of the watermark's options or None")
        unknown = sorted(set(config) - set(_OPTIONS), key=str)
        rules.require(not unknown, fn, "watermarking_config", f"a dict with keys among {', '.join(_OPTIONS)}",
                      f"unknown keys {unknown}")
        return cls(vocab_size, **config)

    def seed(self, context) -> int:
        """The generator's seed for a context (a list of ids ending with the token that seeds): HF's ``set_seed``."""
        context = [int(t) for t in context[-self.context_width:]]           # Python ints: no int64 overflow
        if self.seeding_scheme == "lefthash":
            seed = self.hashing_key * context[-1]
        else:                                        # selfhash: the smallest of key * table[t] * table[last], in int64
            table = _fixed_table(self.hashing_key)
            last = int(table[context[-1] % TABLE_SIZE]) + 1
            seed = min(_int64(self.hashing_key * (int(table[t % TABLE_SIZE]) + 1) * last) for t in context)
        return seed % (2**64 - 1)

    def green_mask(self, context):
        """(vocab_size,) bool host array, True on the green list of ``context`` (read-only: it is cached)."""
        return _green_mask(self.seed(context) & 0xFFFFFFFF, self.vocab_size, self.greenlist_size)

    def greenlist_ids(self, context):
        """The green token ids of ``context`` (a list of ids), ascending."""
        return host.flatnonzero(self.green_mask(context))

    def process(self, input_ids, scores):
        xp = array_namespace(scores)
        (B, T), V = input_ids.shape, scores.shape[-1]
        rules.require(V >= self.vocab_size, "WatermarkLogitsProcessor", "scores",
                      f"(batch, vocab) with vocab >= vocab_size={self.vocab_size}", f"vocab {V}")
        if T < self.context_width:                                             # too few tokens to seed
            return scores
        rows = backend.to_numpy(input_ids).tolist()                            # B lists of ids, on the host
        green = backend.host_full((B, V), False, dtype="bool")                 # (B, V) on the host
        if self.seeding_scheme == "lefthash":
            for b, row in enumerate(rows):
                green[b, :self.vocab_size] = self.green_mask(row)
        else:
            ranked = host.argsort(-backend.to_numpy(scores), axis=-1, kind="stable")[:, :SELFHASH_CANDIDATES]
            for b, row in enumerate(rows):
                for c in ranked[b].tolist():                                   # the 40 highest scores, best first
                    if c < self.vocab_size:                                    # is c green in its own list?
                        green[b, c] = self.green_mask(row + [c])[c]
        return xp.where(backend.asarray_like(green, scores), scores + self.bias, scores)


# --------------------------------------------------------------------------- the detector

@dataclass
class WatermarkDetectorOutput:
    """What ``WatermarkDetector(..., return_dict=True)`` returns: (B,) host arrays, one entry per row."""

    num_tokens_scored: object = None         # T
    num_green_tokens: object = None          # T_g
    green_fraction: object = None            # T_g / T
    z_score: object = None                   # (T_g - gamma T) / sqrt(T gamma (1 - gamma))
    p_value: object = None                   # P(Z > z) for Z ~ N(0, 1)
    prediction: object = None                # z > z_threshold
    confidence: object = None                # 1 - p_value


class WatermarkDetector:
    """Count the green tokens of a text and test them against chance: the z-test of Kirchenbauer et al.

    Each position t >= ``context_width`` is scored: its token is green if it is in the
    green list that the processor, with the same ``watermarking_config``, used there.
    With T positions scored and T_g green::

        z = (T_g - gamma T) / sqrt(T gamma (1 - gamma)),    p = P(Z > z) = erfc(z / sqrt 2) / 2

    - ``ignore_repeated_ngrams=True`` scores each distinct (context, token) n-gram
      once: a repeated phrase then counts once, so a text that loops cannot inflate z;
    - ``bos_token_id``: if every row starts with it, that first token is dropped (HF
      takes it from the model's config; a mix of rows with and without is an error).

    Pass only the generated part (and the token before it, which seeds the first
    green list): the prompt was not watermarked and dilutes z.

    The arguments follow Hugging Face's ``WatermarkDetector(model_config, device,
    watermarking_config, ignore_repeated_ngrams)``: ``vocab_size`` and ``bos_token_id``
    replace the model's config, and there is no ``device`` (see the processor). Its
    call, ``detector(input_ids, z_threshold, return_dict)``, returns the predictions
    (a (B,) bool array), or with ``return_dict=True`` a ``WatermarkDetectorOutput``.
    The default ``z_threshold`` is Hugging Face's 3.0; the paper tests at 4.0, which is stricter.

    >>> import numpy as np
    >>> detector = WatermarkDetector(vocab_size=8)
    >>> out = detector(np.array([[3, 2, 4, 0]]), return_dict=True)    # 2 is green after 3, 4 after 2, 0 after 4
    >>> out.num_tokens_scored.tolist(), out.num_green_tokens.tolist(), out.z_score.tolist(), out.prediction.tolist()
    ([3.0], [3.0], [3.0], [False])
    """

    def __init__(self, vocab_size: int, watermarking_config=None, ignore_repeated_ngrams: bool = False,
                 bos_token_id: int | None = None):
        fn = "WatermarkDetector"
        self.processor = WatermarkLogitsProcessor.from_config(vocab_size, watermarking_config, fn)
        self.greenlist_ratio = self.processor.greenlist_ratio
        self.ignore_repeated_ngrams = rules.flag(fn, "ignore_repeated_ngrams", ignore_repeated_ngrams)
        self.bos_token_id = rules.token_id(fn, "bos_token_id", bos_token_id, optional=True)

    def _is_green(self, ngram: tuple) -> bool:
        """Is the n-gram's last token in the green list that its context seeds?"""
        token, selfhash = ngram[-1], self.processor.seeding_scheme == "selfhash"
        context = list(ngram) if selfhash else list(ngram[:-1])                # selfhash's context ends with the token
        return token < self.processor.vocab_size and bool(self.processor.green_mask(context)[token])

    def _score_row(self, tokens: list[int]) -> tuple[int, int]:
        """(T, T_g) for one row: every n-gram (context, token) counted, or each distinct one once."""
        n = self.processor.context_width + (self.processor.seeding_scheme == "lefthash")   # tokens an n-gram spans
        ngrams = collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        green = {g: self._is_green(g) for g in ngrams}
        if self.ignore_repeated_ngrams:
            return len(ngrams), sum(green.values())
        return sum(ngrams.values()), sum(count for g, count in ngrams.items() if green[g])

    def __call__(self, input_ids, z_threshold: float = 3.0, return_dict: bool = False):
        """The predictions ``z > z_threshold`` for the rows of ``input_ids`` (B, T), or every statistic (see above)."""
        fn = "WatermarkDetector"
        rules.token_ids(fn, "input_ids", input_ids, ndim=2)
        z_threshold = rules.real(fn, "z_threshold", z_threshold)
        return_dict = rules.flag(fn, "return_dict", return_dict)
        ids = backend.to_numpy(rules.array_of(input_ids))                     # (B, T) on the host
        if self.bos_token_id is not None and ids.shape[1] > 0:
            has_bos = ids[:, 0] == self.bos_token_id                           # (B,)
            rules.require(has_bos.all() or not has_bos.any(), fn, "input_ids",
                          f"rows that all start with bos_token_id={self.bos_token_id}, or none", has_bos.tolist())
            ids = ids[:, 1:] if has_bos.all() else ids
        width = self.processor.context_width
        rules.require(ids.shape[1] > width, fn, "input_ids", f"at least context_width + 1 = {width + 1} tokens a row"
                      + (" after the BOS token" if self.bos_token_id is not None else ""), f"shape {ids.shape}")
        counts = [self._score_row(row) for row in ids.tolist()]
        scored = host.asarray([T for T, _ in counts], dtype=host.float64)       # (B,): T
        green = host.asarray([T_g for _, T_g in counts], dtype=host.float64)    # (B,): T_g
        gamma = self.greenlist_ratio
        z = (green - gamma * scored) / host.sqrt(scored * gamma * (1 - gamma))    # (B,)
        prediction = z > z_threshold
        if not return_dict:
            return prediction
        p_value = host.asarray([0.5 * math.erfc(v / math.sqrt(2)) for v in z.tolist()])   # P(Z > z)
        return WatermarkDetectorOutput(num_tokens_scored=scored, num_green_tokens=green, green_fraction=green / scored,
                                       z_score=z, p_value=p_value, prediction=prediction, confidence=1 - p_value)
