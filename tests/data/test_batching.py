"""Batching: train/validation split, random windows, contiguous TBPTT streams with resumable position."""

import numpy as np
import pytest

from minigen.data import StreamBatcher, random_windows, train_val_split


def test_train_val_split():
    train, val = train_val_split(np.arange(100), 0.1)
    assert len(train) == 90 and len(val) == 10 and val[0] == 90
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\)"):
        train_val_split(np.arange(10), 1.0)
    with pytest.raises(TypeError, match="1-D integer array"):
        train_val_split(np.zeros((2, 2)), 0.1)


def test_random_windows_are_shifted_and_seeded():
    ids = np.arange(1000)
    x, y = random_windows(ids, 4, 16, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 16)
    np.testing.assert_array_equal(y, x + 1)
    x2, _ = random_windows(ids, 4, 16, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)
    with pytest.raises(ValueError, match="need at least seq_len \\+ 1 = 17 ids, got 10"):
        random_windows(np.arange(10), 2, 16, np.random.default_rng(0))


def test_streams_continue_row_by_row_and_wrap():
    b = StreamBatcher(np.arange(103), batch_size=4, seq_len=5)       # streams of 25; 4 batches an epoch
    assert b.batches_per_epoch == 4
    x0, y0 = b.next_batch()
    assert b.new_epoch
    x1, _ = b.next_batch()
    assert not b.new_epoch
    np.testing.assert_array_equal(x1[:, 0], y0[:, -1])               # batch 1 continues batch 0
    np.testing.assert_array_equal(x0[:, 0], [0, 25, 50, 75])
    for _ in range(2):
        b.next_batch()
    xw, _ = b.next_batch()                                            # wraps to the start
    assert b.new_epoch
    np.testing.assert_array_equal(xw, x0)


def test_stream_position_resumes_exactly():
    a = StreamBatcher(np.arange(500), 3, 7)
    for _ in range(5):
        a.next_batch()
    b = StreamBatcher(np.arange(500), 3, 7)
    b.position = a.position
    for _ in range(30):
        np.testing.assert_array_equal(a.next_batch()[0], b.next_batch()[0])


def test_stream_errors():
    with pytest.raises(ValueError, match="too short for seq_len 8"):
        StreamBatcher(np.arange(20), batch_size=4, seq_len=8)
    with pytest.raises(ValueError, match="must be positive"):
        StreamBatcher(np.arange(20), batch_size=0, seq_len=2)
