"""Batching: train/validation split, random windows, contiguous TBPTT streams with resumable position."""

import re

import numpy as np
import pytest

import minigen
from minigen.data import StreamBatcher, random_windows, train_val_split


def test_train_val_split():
    train, val = train_val_split(np.arange(100), 0.1)
    assert len(train) == 90 and len(val) == 10 and val[0] == 90
    with pytest.raises(ValueError, match=r"val_fraction must be a number in \[0, 1\), got 1.0"):
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
    with pytest.raises(ValueError, match="random_windows: ids must be at least seq_len \\+ 1 = 17 ids, got 10"):
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
    with pytest.raises(ValueError, match="StreamBatcher: batch_size must be a positive integer, got 0"):
        StreamBatcher(np.arange(20), batch_size=0, seq_len=2)


@pytest.mark.parametrize("fraction", ["0.1", None, True, -0.1, float("nan"), [0.1]])
def test_train_val_split_refuses_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match=rf"train_val_split: val_fraction must be a number in \[0, 1\), "
                                         rf"got {re.escape(repr(fraction))}"):
        train_val_split(np.arange(10), fraction)


def test_train_val_split_takes_numpy_reals_and_refuses_an_empty_train_set():
    train, val = train_val_split(np.arange(100), np.float32(0.25))
    assert len(train) == 75 and len(val) == 25
    assert len(train_val_split(np.arange(10), 0)[1]) == 0
    with pytest.raises(ValueError, match="val_fraction 0.9 of 3 ids leaves none"):
        train_val_split(np.arange(3), 0.9)


BAD_INTS = [(0, "0"), (-3, "-3"), (4.0, "4.0"), (np.float64(4.0), "4.0"), ("4", "'4'"),
            (True, "True"), (None, "None")]


@pytest.mark.parametrize("value,shown", BAD_INTS)
@pytest.mark.parametrize("name", ["batch_size", "seq_len"])
def test_random_windows_refuses_a_bad_size(name, value, shown):
    kw = dict(batch_size=2, seq_len=4)
    kw[name] = value
    with pytest.raises(ValueError, match=rf"^random_windows: {name} must be a positive integer, "
                                         rf"got {re.escape(shown)}$"):
        random_windows(np.arange(100), rng=np.random.default_rng(0), **kw)


@pytest.mark.parametrize("value,shown", BAD_INTS)
@pytest.mark.parametrize("name", ["batch_size", "seq_len"])
def test_stream_batcher_refuses_a_bad_size(name, value, shown):
    kw = dict(batch_size=2, seq_len=4)
    kw[name] = value
    with pytest.raises(ValueError, match=rf"StreamBatcher: {name} must be a positive integer, got {re.escape(shown)}$"):
        StreamBatcher(np.arange(100), **kw)


def test_sizes_may_be_numpy_integers():
    x, y = random_windows(np.arange(100), np.int64(3), np.int32(5), np.random.default_rng(0))
    assert x.shape == y.shape == (3, 5)
    b = StreamBatcher(np.arange(100), np.int64(2), np.int8(4))
    assert b.next_batch()[0].shape == (2, 4) and type(b.seq_len) is int


def test_random_windows_rng_none_uses_the_seeded_generator():
    minigen.manual_seed(7)
    a, _ = random_windows(np.arange(1000), 4, 8)
    minigen.manual_seed(7)
    b, _ = random_windows(np.arange(1000), 4, 8, None)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match=r"random_windows: rng must be a numpy\.random\.Generator "
                                        r"\(e\.g\. np\.random\.default_rng\(seed\)\) or None, got int"):
        random_windows(np.arange(100), 2, 4, 0)


def test_stream_position_must_be_a_non_negative_integer():
    b = StreamBatcher(np.arange(100), 2, 4)
    b.position = np.int64(3)
    assert b.position == 3 and type(b.position) is int
    for bad in [-1, 1.5, "2", None]:
        with pytest.raises(ValueError, match=rf"StreamBatcher: position must be a non-negative integer, "
                                             rf"got {re.escape(repr(bad))}$"):
            b.position = bad


def test_ids_on_a_device_or_in_a_tensor_say_how_to_copy_them(backend):
    with pytest.raises(TypeError, match=r"train_val_split: ids must be a 1-D integer NumPy array .* got a Tensor; "
                                        r"copy it to the host first, e\.g\. ids\.numpy\(\)"):
        train_val_split(backend.tensor(np.arange(10)), 0.1)
    if backend.name != "numpy":
        with pytest.raises(TypeError, match=r"random_windows: ids must be .* e\.g\. minigen\.to_numpy\(ids\)"):
            random_windows(backend.asarray(np.arange(10)), 2, 3)
