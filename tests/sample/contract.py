"""The contract every logits processor keeps, as assertions that the processor test files share."""

from __future__ import annotations

import numpy as np
import pytest

import minigen.sample as P
from minigen import backend as B


def assert_pure(processor, ids, scores):
    """``processor(ids, scores)`` leaves both as they were and returns a new array of the scores' shape and dtype."""
    ids_copy, scores_copy = ids.copy(), scores.copy()
    out = processor(ids, scores)
    np.testing.assert_array_equal(ids, ids_copy)
    np.testing.assert_array_equal(scores, scores_copy)
    assert out.shape == scores.shape and out.dtype == scores.dtype and not np.shares_memory(out, scores)


def assert_same_on_the_device(backend, processor, ids, scores, rtol=1e-12):
    """On the backend's device the processor gives, on that device, what it gives on the host (within ``rtol``)."""
    expected = processor(ids, scores)
    scores_on_device = backend.asarray(scores)
    out = processor(backend.asarray(ids), scores_on_device)
    assert str(B.device_of(out)) == str(B.device_of(scores_on_device))
    np.testing.assert_allclose(backend.numpy(out), expected, rtol=rtol, atol=0)


def assert_as_hugging_face(name, kwargs, batches, rtol=0.0):
    """minigen's processor ``name`` and Hugging Face's, built from the same ``kwargs``, give the same scores on each
    ``(ids, scores)`` of ``batches``: equal, or within ``rtol`` where the two compute in a different order."""
    torch = pytest.importorskip("torch")
    hf = pytest.importorskip("transformers.generation.logits_process")
    ours, theirs = getattr(P, name)(**kwargs), getattr(hf, name)(**kwargs)
    for ids, scores in batches:
        expected = theirs(torch.from_numpy(ids), torch.from_numpy(scores.copy())).numpy()
        np.testing.assert_allclose(ours(ids, scores), expected, rtol=rtol, atol=0)
