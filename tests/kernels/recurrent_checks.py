"""A check shared by the GRU and RNN kernel tests: the sequence kernel equals a loop of cell kernels."""

import numpy as np


def assert_sequence_equals_cell_loop(backend, seq_forward, seq_backward, cell_forward, cell_backward, p, T, B, H):
    """Forward: out[t] is the t-th cell's h. Backward: BPTT by hand through the cell kernels.

    ``p`` holds x, h0 and then the weights, in the kernels' argument order.
    """
    rng = np.random.default_rng(9)
    dout, dh_n = (backend.asarray(rng.standard_normal(s)) for s in ((T, B, H), (B, H)))
    W = list(p.values())[2:]
    (out, h_n), cache = seq_forward(*p.values())
    h, caches = p["h0"], []
    for t in range(T):
        h, c = cell_forward(p["x"][t, ...], h, *W)
        caches.append(c)
        np.testing.assert_allclose(backend.numpy(out)[t], backend.numpy(h), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(backend.numpy(h_n), backend.numpy(h), rtol=1e-12, atol=1e-14)

    seq = seq_backward((dout, dh_n), cache)
    dh, dx = dh_n, [None] * T
    dW = [0.0] * len(W)
    for t in reversed(range(T)):
        dx[t], dh, *dWt = cell_backward(dh + dout[t, ...], caches[t])
        dW = [a + backend.numpy(b) if b is not None else None for a, b in zip(dW, dWt)]
    loop = [np.stack([backend.numpy(d) for d in dx]), backend.numpy(dh)] + dW
    for name, a, b in zip(["dx", "dh0", "dW_ih", "dW_hh", "db_ih", "db_hh"], seq, loop):
        if b is None:
            assert a is None, name
        else:
            np.testing.assert_allclose(backend.numpy(a), b, rtol=1e-11, atol=1e-13, err_msg=name)
