"""Bad arguments to the functional layers and the modules: one-line messages naming the argument.

- F.lstm makes the checks that F.gru and F.rnn make (time steps, dtype, hx=None).
- Arrays on two devices (a module on the simulated device fed host arrays) are named as such.
- Recurrent states of the wrong kind, and non-floating ``dtype=``, are named by the module.
"""

import numpy as np
import pytest

import minigen
import minigen.functional as F
import minigen.nn as nn
from minigen.nn.utils import clip_grad_norm_

C, H = 3, 4


def _host(*shape, dtype=np.float32):
    return minigen.tensor(np.zeros(shape, dtype))


# ---------------------------------------------------------------------------- F.lstm checks as F.gru

def _lstm_weights(dtype=np.float64):
    return np.zeros((4 * H, C), dtype), np.zeros((4 * H, H), dtype)


def test_lstm_checks_match_gru():
    h = np.zeros((2, H))
    W_ih, W_hh = _lstm_weights()
    with pytest.raises(ValueError, match=r"lstm: input must be of shape \(seq, batch, 3\) with seq >= 1 .*, got shape \(0, 2, 3\)"):
        F.lstm(np.zeros((0, 2, C)), (h, h), W_ih, W_hh)
    with pytest.raises(ValueError, match=r"gru: input must be of shape \(seq, batch, 3\) with seq >= 1 .*, got shape \(0, 2, 3\)"):
        F.gru(np.zeros((0, 2, C)), None, np.zeros((3 * H, C)), np.zeros((3 * H, H)))
    ints = [a.astype(np.int64) for a in (h, h, W_ih, W_hh)]
    with pytest.raises(TypeError, match=r"lstm: input must be floating point \(minigen never upcasts silently\), got int64"):
        F.lstm(np.zeros((5, 2, C), np.int64), tuple(ints[:2]), *ints[2:])
    with pytest.raises(TypeError, match=r"lstm_cell: input must be floating point \(minigen never upcasts silently\), got int64"):
        F.lstm_cell(np.zeros((2, C), np.int64), tuple(ints[:2]), *ints[2:])


def test_lstm_hx_none_is_zeros():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, C))
    W_ih, W_hh = rng.standard_normal((4 * H, C)), rng.standard_normal((4 * H, H))
    zeros = np.zeros((2, H))
    out, (h, c) = F.lstm(x, None, W_ih, W_hh)
    ref, (h_ref, c_ref) = F.lstm(x, (zeros, zeros), W_ih, W_hh)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(c.numpy(), c_ref.numpy())
    h1, c1 = F.lstm_cell(x[0], None, W_ih, W_hh)
    np.testing.assert_array_equal(h1.numpy(), ref.numpy()[0])


def test_lstm_hx_must_be_a_pair():
    W_ih, W_hh = _lstm_weights()
    h = np.zeros((2, H))
    with pytest.raises(TypeError, match=r"lstm_cell: hx must be a pair \(h, c\) .* or None, got ndarray"):
        F.lstm_cell(np.zeros((2, C)), np.zeros((2, 2, H)), W_ih, W_hh)     # would unpack along axis 0
    with pytest.raises(TypeError, match=r"lstm: hx must be a pair \(h, c\) .* got a tuple of length 1"):
        F.lstm(np.zeros((5, 2, C)), (h,), W_ih, W_hh)
    with pytest.raises(TypeError, match="lstm: c must be a Tensor or an array, got list"):
        F.lstm(np.zeros((5, 2, C)), (h, [0.0]), W_ih, W_hh)


# ---------------------------------------------------------------------------- arrays on two devices

MOVE = r" \(move both with .to\(device\)\), got "


@pytest.fixture
def device(backend):
    """A device other than the host's (the strict backend's simulated one, or a GPU)."""
    if backend.name == "numpy":
        pytest.skip("needs a device other than the host")
    return backend


def test_modules_on_a_device_name_a_host_input(device):
    dev, host = r"\S+ \(\w+\)", r"cpu \(numpy\)"
    x = _host(5, 2, C)
    # (module, input, the message's function, the argument named, whose device is the reference)
    cases = [(nn.Linear(C, H), _host(2, C), "linear", "weight", "input"),
             (nn.LayerNorm(C), _host(2, C), "layer_norm", "weight", "input"),
             (nn.GRU(C, H), x, "GRU", "input", "weight_ih_l0"),
             (nn.LSTM(C, H), x, "LSTM", "input", "weight_ih_l0"),
             (nn.RNN(C, H), x, "RNN", "input", "weight_ih_l0"),
             (nn.GRUCell(C, H), _host(2, C), "GRUCell", "input", "weight_ih"),
             (nn.LSTMCell(C, H), _host(2, C), "LSTMCell", "input", "weight_ih")]
    for module, inp, fn, name, reference in cases:
        module.to(device.device)
        where, got = (host, dev) if reference == "input" else (dev, host)
        with pytest.raises(TypeError, match=rf"^{fn}: {name} must be on {reference}'s device {where}{MOVE}{got}$"):
            module(inp)
    emb = nn.Embedding(10, C).to(device.device)
    with pytest.raises(TypeError, match=rf"^embedding: weight must be on input's device {host}{MOVE}{dev}$"):
        emb(np.array([1, 2]))
    mha = nn.MultiheadAttention(4, 2, batch_first=True).to(device.device)
    q = _host(1, 3, 4)
    with pytest.raises(TypeError, match=rf"^MultiheadAttention: query must be on in_proj_weight's device {dev}{MOVE}"
                                        rf"{host}$"):
        mha(q, q, q)


def test_functional_entry_points_name_a_host_argument(device):
    rng = np.random.default_rng(1)
    x = device.tensor(rng.standard_normal((5, 2, C)))
    host_h = np.zeros((2, H))
    W3, W4 = (device.asarray(rng.standard_normal((g * H, C))) for g in (3, 4))
    U3, U4 = (device.asarray(rng.standard_normal((g * H, H))) for g in (3, 4))

    def on(name, reference):
        return rf"{name} must be on {reference}'s device \S+ \(\w+\){MOVE}cpu \(numpy\)$"

    with pytest.raises(TypeError, match="^gru: " + on("hx", "input")):
        F.gru(x, host_h, W3, U3)
    with pytest.raises(TypeError, match="^lstm: " + on("h", "input")):
        F.lstm(x, (host_h, host_h), W4, U4)
    with pytest.raises(TypeError, match="^linear: " + on("weight", "input")):
        F.linear(x, np.zeros((H, C)))
    with pytest.raises(TypeError, match="^layer_norm: " + on("bias", "input")):
        F.layer_norm(x, (C,), device.asarray(np.ones(C)), np.zeros(C))
    logits = device.tensor(rng.standard_normal((2, 5)))
    with pytest.raises(TypeError, match="^cross_entropy: " + on("targets", "logits")):
        F.cross_entropy(logits, np.array([1, 2]))
    q = device.tensor(rng.standard_normal((1, 3, 4)))
    with pytest.raises(TypeError, match="^scaled_dot_product_attention: " + on("attn_mask", "query")):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="^scaled_dot_product_attention: " + on("key", "query")):
        F.scaled_dot_product_attention(q, minigen.tensor(np.zeros((1, 3, 4))), q)
    mha = nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64").to(device.device)
    with pytest.raises(TypeError, match="^MultiheadAttention: " + on("key_padding_mask", "query")):
        mha(q, q, q, key_padding_mask=np.zeros((1, 3), bool))
    with pytest.raises(TypeError, match="^MultiheadAttention: " + on("attn_mask", "query")):
        mha(q, q, q, attn_mask=np.zeros((3, 3), bool))
    W = mha.in_proj_weight
    with pytest.raises(TypeError, match="^multi_head_attention_forward: " + on("value", "query")):
        F.multi_head_attention_forward(q, q, minigen.tensor(np.zeros((1, 3, 4))), 4, 2, W, None, None, None, False,
                                       0.0, mha.out_proj.weight, None, batch_first=True)


def test_one_device_still_works(backend):
    """The check passes arrays that share a device (including masks and ids)."""
    mha = nn.MultiheadAttention(4, 2, batch_first=True, device=backend.device, dtype="float64")
    q = backend.tensor(np.random.default_rng(2).standard_normal((1, 3, 4)))
    out, _ = mha(q, q, q, key_padding_mask=backend.asarray(np.zeros((1, 3), bool)))
    assert out.shape == (1, 3, 4)
    emb = nn.Embedding(10, C, device=backend.device)
    assert emb(backend.asarray(np.array([1, 2]))).shape == (2, C)


# ---------------------------------------------------------------------------- states and dtypes named by the module

def test_recurrent_states_of_the_wrong_kind():
    x = _host(5, 2, 32)
    h = _host(1, 2, 64)
    with pytest.raises(TypeError, match=r"^GRU: hx must be a Tensor or an array, got tuple$"):
        nn.GRU(32, 64)(x, (h,))
    with pytest.raises(TypeError, match=r"^LSTM: hx must be a pair \(h_0, c_0\) .* got Tensor of shape \(1, 2, 64\)"):
        nn.LSTM(32, 64)(x, h)
    with pytest.raises(TypeError, match=r"^LSTM: c_0 must be a Tensor or an array, got str"):
        nn.LSTM(32, 64)(x, (h, "zeros"))
    with pytest.raises(TypeError, match=r"^LSTMCell: hx must be a pair \(h_0, c_0\) .* got Tensor of shape \(2, 4\)"):
        nn.LSTMCell(C, H)(_host(2, C), _host(2, H))
    with pytest.raises(TypeError, match=r"^LSTMCell: hx must be a pair \(h_0, c_0\) .* got a tuple of length 3$"):
        nn.LSTMCell(C, H)(_host(2, C), (_host(2, H),) * 3)
    with pytest.raises(TypeError, match=r"^GRUCell: hx must be a Tensor or an array, got tuple$"):
        nn.GRUCell(C, H)(_host(2, C), (_host(2, H),))


@pytest.mark.parametrize("make", [lambda d: nn.Linear(3, 4, dtype=d), lambda d: nn.LayerNorm(4, dtype=d),
                                  lambda d: nn.Embedding(5, 4, dtype=d),
                                  lambda d: nn.MultiheadAttention(4, 2, dtype=d),
                                  lambda d: nn.LSTM(3, 4, dtype=d), lambda d: nn.GRU(3, 4, dtype=d),
                                  lambda d: nn.RNN(3, 4, dtype=d), lambda d: nn.LSTMCell(3, 4, dtype=d),
                                  lambda d: nn.GRUCell(3, 4, dtype=d), lambda d: nn.RNNCell(3, 4, dtype=d)])
def test_modules_need_a_floating_dtype(make):
    name = type(make(None)).__name__
    with pytest.raises(ValueError, match=rf"^{name}: dtype must be a floating dtype \(float16/float32/float64\), "
                                         "got int32$"):
        make("int32")
    with pytest.raises(ValueError, match=rf"^{name}: dtype must be a floating dtype .* got bool$"):
        make(np.bool_)
    assert all(p.dtype == np.float64 for p in make("float64").parameters())


# ---------------------------------------------------------------------------- constructor arguments

def _from_pretrained_freeze_none():
    return nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32), freeze=None)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Linear(-1, 3), "Linear: in_features must be a non-negative integer, got -1"),
    (lambda: nn.Linear(3.5, 3), "Linear: in_features must be a non-negative integer, got 3.5"),
    (lambda: nn.Linear(3, "4"), "Linear: out_features must be a non-negative integer, got '4'"),
    (lambda: nn.Linear(True, 3), "Linear: in_features must be a non-negative integer, got True"),
    (lambda: nn.Linear(3, 4, bias="no"), "Linear: bias must be True or False, got 'no'"),
    (lambda: nn.LayerNorm(4, eps=-1), "LayerNorm: eps must be a finite number > 0, got -1"),
    (lambda: nn.LayerNorm(4, eps=0.0), "LayerNorm: eps must be a finite number > 0, got 0.0"),
    (lambda: nn.LayerNorm(4, eps=True), "LayerNorm: eps must be a finite number > 0, got True"),
    (lambda: nn.LayerNorm(4, eps="1e-5"), "LayerNorm: eps must be a finite number > 0, got '1e-5'"),
    (lambda: nn.LayerNorm((2, 0)), r"LayerNorm: normalized_shape must be a positive int .* got \(2, 0\)"),
    (lambda: nn.LayerNorm(4, elementwise_affine=1), "LayerNorm: elementwise_affine must be True or False, got 1"),
    (lambda: nn.Dropout(True), r"Dropout: p must be a probability in \[0, 1\], got True"),
    (lambda: nn.Dropout(-0.1), r"Dropout: p must be a probability in \[0, 1\], got -0.1"),
    (lambda: nn.Dropout(0.5, inplace="yes"), "Dropout: inplace must be True or False, got 'yes'"),
    (lambda: nn.RNN(3, 4, dropout=True), r"RNN: dropout must be a probability in \[0, 1\], got True"),
    (lambda: nn.LSTM(3, 4, 2, 0.5), "LSTM: bias must be True or False, got 0.5"),     # dropout meant, bias given
    (lambda: nn.GRU(3, 4, num_layers=0), "GRU: num_layers must be a positive integer, got 0"),
    (lambda: nn.GRU(3, 4.0), "GRU: hidden_size must be a positive integer, got 4.0"),
    (lambda: nn.LSTM(3, 4, batch_first="yes"), "LSTM: batch_first must be True or False, got 'yes'"),
    (lambda: nn.LSTM(3, 4, proj_size=-1), "LSTM: proj_size must be a non-negative integer, got -1"),
    (lambda: nn.LSTMCell(3, 4.0), "LSTMCell: hidden_size must be a positive integer, got 4.0"),
    (lambda: nn.GRUCell(0, 4), "GRUCell: input_size must be a positive integer, got 0"),
    (lambda: nn.RNNCell(3, 4, bias=None), "RNNCell: bias must be True or False, got None"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="sigmoid"), "RNNCell: nonlinearity must be one of 'tanh', 'relu', "
                                                       "got 'sigmoid'"),
    (lambda: nn.MultiheadAttention(8, 2, dropout=True), r"MultiheadAttention: dropout must be a probability in "
                                                        r"\[0, 1\], got True"),
    (lambda: nn.MultiheadAttention(8, 2.0), "MultiheadAttention: num_heads must be a positive integer, got 2.0"),
    (lambda: nn.MultiheadAttention(8, 2, batch_first=1), "MultiheadAttention: batch_first must be True or False"),
    (lambda: nn.Embedding(True, 3), "Embedding: num_embeddings must be a positive integer, got True"),
    (lambda: nn.Embedding(10, 3, scale_grad_by_freq="no"), "Embedding: scale_grad_by_freq must be True or False"),
    (lambda: nn.Embedding(10, 3, _freeze="yes"), "Embedding: _freeze must be True or False, got 'yes'"),
    (_from_pretrained_freeze_none, "Embedding.from_pretrained: freeze must be True or False, got None"),
])
def test_constructors_name_the_bad_argument(make, message):
    with pytest.raises(ValueError, match="^" + message):
        make()


def test_numpy_scalars_are_accepted_as_sizes_and_probabilities():
    """Sizes read from an array or a config (np.int64) work everywhere, and are stored as Python ints."""
    i, f = np.int64, np.float32
    lin = nn.Linear(i(3), np.int32(2))
    assert (lin.in_features, lin.out_features) == (3, 2) and type(lin.in_features) is int
    assert nn.LayerNorm(i(4), eps=f(1e-5))(_host(2, 4)).shape == (2, 4)
    assert nn.Dropout(np.float64(0.2)).p == pytest.approx(0.2)
    for cls in (nn.RNN, nn.LSTM, nn.GRU):
        m = cls(i(C), i(H), num_layers=i(2), dropout=f(0.25))
        assert (m.input_size, m.hidden_size, m.num_layers) == (C, H, 2) and type(m.hidden_size) is int
        assert m(_host(5, 2, C))[0].shape == (5, 2, H)
    for cls in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        assert type(cls(i(C), i(H)).hidden_size) is int
    mha = nn.MultiheadAttention(i(8), i(2), dropout=f(0.0), batch_first=True)
    q = _host(1, 3, 8)
    assert mha(q, q, q)[0].shape == (1, 3, 8)
    assert nn.Embedding(i(10), i(3)).weight.shape == (10, 3)
    assert nn.Linear(0, 3).weight.shape == (3, 0), "zero features are allowed, as in torch"


# ---------------------------------------------------------------------------- forward arguments

@pytest.mark.parametrize("module", [nn.Linear(C, H), nn.LayerNorm(C), nn.Dropout(), nn.GELU(), nn.LSTM(C, H),
                                    nn.GRUCell(C, H)], ids=lambda m: type(m).__name__)
def test_inputs_must_be_tensors_or_arrays(module):
    name = type(module).__name__
    fn = {"Linear": "linear", "LayerNorm": "layer_norm", "Dropout": "dropout", "GELU": "gelu"}.get(name, name)
    with pytest.raises(TypeError, match=f"^{fn}: input must be a Tensor or an array, got list$"):
        module([[0.0] * C])
    x = np.zeros((2, 2, C), np.float32) if name == "LSTM" else np.zeros((2, C), np.float32)
    assert module(x) is not None, "a bare array is wrapped as a Tensor"


def test_an_empty_sequence_is_reported_with_the_shape_given():
    """The layer transposes batch_first input before the kernel: the message shows the user's shape, not that one."""
    with pytest.raises(ValueError, match=r"^LSTM: input must be of shape \(batch, seq, 32\) with seq >= 1, got shape "
                                         r"\(8, 0, 32\)$"):
        nn.LSTM(32, 16, batch_first=True)(_host(8, 0, 32))
    with pytest.raises(ValueError, match=r"^GRU: input must be of shape \(seq, batch, 32\) with seq >= 1, got shape "
                                         r"\(0, 8, 32\)"):
        nn.GRU(32, 16)(_host(0, 8, 32))
    with pytest.raises(ValueError, match=r"^RNN: input must be of shape \(seq, 32\) with seq >= 1, got shape \(0, 32\)"):
        nn.RNN(32, 16)(_host(0, 32))
    out, (h, _) = nn.LSTM(32, 16, batch_first=True)(_host(0, 5, 32))         # an empty batch is fine
    assert out.shape == (0, 5, 16) and h.shape == (1, 0, 16)


def test_lstm_cell_names_the_state_of_the_wrong_shape():
    cell, x = nn.LSTMCell(C, H), _host(2, C)
    with pytest.raises(ValueError, match=r"^LSTMCell: c_0 must be of shape \(2, 4\), got shape \(2, 5\)$"):
        cell(x, (_host(2, H), _host(2, H + 1)))
    with pytest.raises(ValueError, match=r"^LSTMCell: h_0 must be of shape \(4,\), got shape \(2, 4\)$"):
        cell(_host(C), (_host(2, H), _host(H)))
    with pytest.raises(ValueError, match=r"^GRUCell: hx must be of shape \(2, 4\), got shape \(4,\)$"):
        nn.GRUCell(C, H)(x, _host(H))


@pytest.mark.parametrize("call, error, message", [
    (lambda w: clip_grad_norm_(5, 1.0), TypeError,
     r"parameters must be a Tensor or an iterable of Tensors \(e\.g\. model\.parameters\(\)\), got int"),
    (lambda w: clip_grad_norm_(None, 1.0), TypeError, "parameters must be a Tensor or an iterable .*, got NoneType"),
    (lambda w: clip_grad_norm_([w], 1.0, error_if_nonfinite="yes"), ValueError,
     "error_if_nonfinite must be True or False, got 'yes'"),
])
def test_clip_grad_norm_names_the_bad_argument(call, error, message):
    w = nn.Parameter(np.zeros(2))
    w.grad = np.ones(2)
    with pytest.raises(error, match=f"^clip_grad_norm_: {message}$"):
        call(w)


def test_kv_cache_must_be_a_cache():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = _host(1, 3, 8)
    for bad in (5, [], "cache"):
        with pytest.raises(TypeError, match=rf"^MultiheadAttention: kv_cache must be a KVCache or None, "
                                            rf"got {type(bad).__name__}$"):
            mha(x, x, x, kv_cache=bad)
    cache = nn.KVCache()
    assert mha(x, x, x, kv_cache=cache)[0].shape == (1, 3, 8) and len(cache) == 3
