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

import numbers

import numpy as np

from .. import backend
from ..autograd import Tensor      # only to say how to copy a Tensor of ids to the host

__all__ = ["train_val_split", "random_windows", "StreamBatcher"]


def _ids(ids, fn):
    if isinstance(ids, Tensor) or (backend.is_array(ids) and not isinstance(ids, np.ndarray)):
        copy = "ids.numpy()" if isinstance(ids, Tensor) else "minigen.to_numpy(ids)"
        raise TypeError(f"{fn}: ids must be a 1-D integer NumPy array (batches are cut on the host), got a "
                        f"{type(ids).__name__}; copy it to the host first, e.g. {copy}")
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{fn}: ids must be a 1-D integer array, got shape {ids.shape} and dtype {ids.dtype}")
    return ids


def _positive_int(fn: str, name: str, value) -> int:
    """``value`` as a Python int if it is a positive integer (Python or NumPy, not a bool), else a ValueError."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{fn}: {name} must be a positive integer, got {value!r}")
    return int(value)


def train_val_split(ids, val_fraction: float = 0.1):
    """The first ``1 - val_fraction`` of the ids for training, the rest for validation (contiguous).

    ``val_fraction`` is a real number in [0, 1); 0 gives an empty validation set.
    """
    ids = _ids(ids, "train_val_split")
    if not isinstance(val_fraction, numbers.Real) or isinstance(val_fraction, bool) or not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be a number in [0, 1), got {val_fraction!r}")
    cut = len(ids) - int(round(len(ids) * val_fraction))
    if cut == 0 and len(ids):
        raise ValueError(f"train_val_split: val_fraction {val_fraction!r} of {len(ids)} ids leaves no training ids; "
                         "use a smaller val_fraction or more data")
    return ids[:cut], ids[cut:]


def random_windows(ids, batch_size: int, seq_len: int, rng: np.random.Generator | None = None):
    """``(x, y)``, each (batch_size, seq_len): windows at random offsets, y = x shifted by one.

    ``rng`` is a NumPy ``Generator``; None draws from minigen's seeded host generator
    (``backend.get_rng()``, seeded by ``minigen.manual_seed``), as the samplers do.
    """
    ids = _ids(ids, "random_windows")
    batch_size = _positive_int("random_windows", "batch_size", batch_size)
    seq_len = _positive_int("random_windows", "seq_len", seq_len)
    if rng is None:
        rng = backend.get_rng()
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"random_windows: rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)) "
                        f"or None, got {type(rng).__name__} {rng!r}")
    if len(ids) < seq_len + 1:
        raise ValueError(f"random_windows: need at least seq_len + 1 = {seq_len + 1} ids, got {len(ids)}")
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
        batch_size = _positive_int("StreamBatcher", "batch_size", batch_size)
        seq_len = _positive_int("StreamBatcher", "seq_len", seq_len)
        length = len(ids) // batch_size
        if length < seq_len + 1:
            raise ValueError(f"StreamBatcher: {len(ids)} ids make streams of {length} tokens for batch_size "
                             f"{batch_size}, too short for seq_len {seq_len}; use a smaller batch or sequence")
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
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise ValueError(f"StreamBatcher: position must be a non-negative integer, got {value!r}")
        self._position = int(value)

    def next_batch(self):
        """``(x, y)``, each (batch_size, seq_len)."""
        k = self.position % self.batches_per_epoch
        self.new_epoch = k == 0
        self._position += 1
        start = k * self.seq_len
        x = self.streams[:, start:start + self.seq_len]
        y = self.streams[:, start + 1:start + 1 + self.seq_len]
        return x, y
