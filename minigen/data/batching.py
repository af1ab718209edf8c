"""Batches of token ids for language-model training (host-side NumPy; the trainer moves them to the device).

Two ways to cut a long id sequence into (input, target) pairs, targets being the
inputs shifted by one token:

- ``random_windows``: B windows of length T at random offsets, independent of
  each other, as Transformer training uses;
- ``StreamBatcher``: the sequence split into B contiguous streams, read T tokens
  at a time in order, so that a recurrent network can carry its hidden state
  from one batch to the next (truncated backpropagation through time).
"""

from __future__ import annotations

import numpy as np

from .. import backend, rules
from ..autograd import Tensor      # only to say how to copy a Tensor of ids to the host

__all__ = ["train_val_split", "random_windows", "StreamBatcher"]

_HOST_IDS = "a 1-D integer NumPy array (batches are cut on the host)"


def _ids(ids, fn):
    """``ids`` as a 1-D integer NumPy array (a device array or a Tensor is refused: batches are cut on the host)."""
    host = not isinstance(ids, Tensor) and (not backend.is_array(ids) or isinstance(ids, np.ndarray))
    copy = f"a {type(ids).__name__}; copy it to the host first, e.g. " + \
        ("ids.numpy()" if isinstance(ids, Tensor) else "minigen.to_numpy(ids)")
    rules.require(host, fn, "ids", _HOST_IDS, copy, TypeError)
    ids = np.asarray(ids)
    int_1d = ids.ndim == 1 and np.issubdtype(ids.dtype, np.integer)
    rules.require(int_1d, fn, "ids", "a 1-D integer array", f"shape {ids.shape} and dtype {ids.dtype}", TypeError)
    return ids


def train_val_split(ids, val_fraction: float = 0.1):
    """The first ``1 - val_fraction`` of the ids for training, the rest for validation (contiguous).

    ``val_fraction`` is a real number in [0, 1); 0 gives an empty validation set.
    """
    ids = _ids(ids, "train_val_split")
    val_fraction = rules.real("train_val_split", "val_fraction", val_fraction, 0, 1, hi_open=True)
    cut = len(ids) - int(round(len(ids) * val_fraction))
    why = f"small enough to leave training ids (val_fraction {val_fraction!r} of {len(ids)} ids leaves none)"
    rules.require(cut > 0 or not len(ids), "train_val_split", "val_fraction", why, val_fraction)
    return ids[:cut], ids[cut:]


def random_windows(ids, batch_size: int, seq_len: int, rng: np.random.Generator | None = None):
    """``(x, y)``, each (batch_size, seq_len): windows at random offsets, y = x shifted by one.

    ``rng`` is a NumPy ``Generator``; None draws from minigen's seeded host generator
    (``backend.get_rng()``, seeded by ``minigen.manual_seed``), as the samplers do.
    """
    fn = "random_windows"
    ids = _ids(ids, fn)
    batch_size, seq_len = rules.positive_ints(fn, batch_size=batch_size, seq_len=seq_len)
    generator = "a numpy.random.Generator (e.g. np.random.default_rng(seed)) or None"
    rng = backend.get_rng() if rng is None else rules.instance(fn, "rng", rng, np.random.Generator, generator)
    rules.require(len(ids) > seq_len, fn, "ids", f"at least seq_len + 1 = {seq_len + 1} ids", len(ids))
    starts = rng.integers(0, len(ids) - seq_len, size=batch_size)
    offsets = starts[:, None] + np.arange(seq_len + 1)[None, :]              # (B, T+1)
    windows = ids[offsets]
    return windows[:, :-1], windows[:, 1:]


class StreamBatcher:
    """Contiguous streams for truncated BPTT: batch k continues batch k-1 row by row.

    The ids are cut into ``batch_size`` equal streams (the remainder dropped); each
    batch is the next ``seq_len`` tokens of every stream. After the last full batch the
    reading wraps around to the start, and ``new_epoch`` turns True so that the
    trainer can reset the carried state. ``position`` can be saved and restored, so a
    resumed run reads exactly the batches an uninterrupted one would.

    >>> import numpy as np
    >>> b = StreamBatcher(np.arange(20), batch_size=2, seq_len=3)
    >>> x, y = b.next_batch()
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2], [10, 11, 12]], [[1, 2, 3], [11, 12, 13]])
    """

    def __init__(self, ids, batch_size: int, seq_len: int):
        ids = _ids(ids, "StreamBatcher")
        batch_size, seq_len = rules.positive_ints("StreamBatcher", batch_size=batch_size, seq_len=seq_len)
        length = len(ids) // batch_size
        streams = f"streams of {length} tokens, too short for seq_len {seq_len}"
        rules.require(length > seq_len, "StreamBatcher", "ids", f"long enough for batch_size {batch_size}", streams)
        self.streams = ids[: length * batch_size].reshape(batch_size, length)    # (B, L)
        self.seq_len = seq_len
        self.batches_per_epoch = (length - 1) // seq_len
        self.position = 0                                                         # batches read so far
        self.new_epoch = True

    @property
    def position(self) -> int:
        """Batches read so far; save it, and set it back to resume where a run stopped."""
        return self._position

    @position.setter
    def position(self, value) -> None:
        self._position = rules.non_negative_int("StreamBatcher", "position", value)

    def next_batch(self):
        """``(x, y)``, each (batch_size, seq_len)."""
        k = self.position % self.batches_per_epoch
        self.new_epoch = k == 0
        self._position += 1
        start = k * self.seq_len
        x = self.streams[:, start:start + self.seq_len]
        y = self.streams[:, start + 1:start + 1 + self.seq_len]
        return x, y
