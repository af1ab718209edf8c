"""Module and Parameter: registration, state dicts, modes, dtype conversion; Linear."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
import minigen.nn as nn


class Tiny(nn.Module):
    def __init__(self, dtype=None):
        super().__init__()
        self.embed = nn.Linear(3, 4, dtype=dtype)
        self.head = nn.Linear(4, 3, bias=False, dtype=dtype)
        self.scale = nn.Parameter(np.ones(1, dtype="float64" if dtype == "float64" else "float32"))
        self.register_buffer("steps", np.zeros(1, np.int64))

    def forward(self, x):
        return self.head(self.embed(x).tanh()) * self.scale


def test_registration_and_names():
    m = Tiny()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "embed.weight", "embed.bias", "head.weight"]
    assert list(m.state_dict()) == ["scale", "steps", "embed.weight", "embed.bias", "head.weight"]
    assert m.head.bias is None
    assert [n for n, _ in m.named_modules()] == ["", "embed", "head"]
    assert len(list(m.parameters())) == 4
    assert "Linear(in_features=3, out_features=4, bias=True)" in repr(m)


def test_tied_parameters_appear_once():
    m = Tiny()
    m.head.weight = m.embed.weight  # shapes differ, but tying is about identity here
    assert len(list(m.parameters())) == 3


def test_setattr_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1, np.float32))

    with pytest.raises(AttributeError, match="call super"):
        Broken()


def test_state_dict_round_trip_and_cast():
    a, b = Tiny(), Tiny(dtype="float64")
    b.load_state_dict({k: np.asarray(v, dtype=np.float64) if v.dtype.kind == "f" else v
                       for k, v in a.state_dict().items()})
    for k, v in b.state_dict().items():
        np.testing.assert_allclose(v, a.state_dict()[k], rtol=1e-7)
    assert b.embed.weight.dtype == np.float64, "load_state_dict casts to the module's dtype"
    a.load_state_dict(b.state_dict())
    assert a.embed.weight.dtype == np.float32
    src = b.state_dict()["embed.bias"]
    src[0] = 123.0
    assert a.embed.bias.data[0] != 123.0, "loaded arrays are copies"


def test_load_state_dict_reports_every_problem():
    m = Tiny()
    sd = dict(m.state_dict())
    sd.pop("scale")
    sd["extra.weight"] = np.ones(2)
    sd["embed.weight"] = np.ones((5, 3))
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "Error(s) in loading state_dict for Tiny" in msg
    assert "size mismatch for embed.weight: copying a param with shape (5, 3)" in msg and "(4, 3)" in msg
    assert "Missing key(s): scale" in msg and "Unexpected key(s): extra.weight" in msg
    sd["embed.weight"] = np.ones((4, 3))
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra.weight"]
    assert np.all(m.embed.weight.data == 1)


def test_train_eval_zero_grad_and_conversion():
    m = Tiny()
    assert m.training and m.embed.training
    m.eval()
    assert not m.training and not m.embed.training
    m.train()
    assert m.head.training
    out = m(minigen.tensor(np.ones((2, 3), np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    params = list(m.parameters())
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert params == list(m.parameters()), "conversion keeps the same Parameter objects (optimizers hold them)"
    assert m.steps.dtype == np.int64, "integer buffers are not cast"
    m.float()
    assert m.embed.weight.dtype == np.float32


def test_linear_matches_formula_and_gradchecks(backend):
    lin = nn.Linear(3, 2, dtype="float64")
    x = np.random.default_rng(0).standard_normal((4, 5, 3))
    W, b = lin.weight.numpy(), lin.bias.numpy()
    np.testing.assert_allclose(lin(minigen.tensor(x)).numpy(), x @ W.T + b, rtol=1e-13)
    assert minigen.gradcheck(lambda x, W, b: minigen.functional.linear(x, W, b),
                             {"x": backend.asarray(x), "W": backend.asarray(W), "b": backend.asarray(b)})


def test_linear_initialisation_follows_torch():
    minigen.manual_seed(0)
    lin = nn.Linear(100, 50)
    w = lin.weight.numpy()
    assert w.shape == (50, 100) and lin.bias.shape == (50,)
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0.09        # U(-1/sqrt(100), 1/sqrt(100))
    minigen.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(100, 50).weight.numpy(), w)


def test_linear_bad_input():
    lin = nn.Linear(32, 4)
    with pytest.raises(ValueError, match=r"linear: input must be of shape \(\.\.\., 32\) \(in_features\), got shape \(8, 30\)"):
        lin(minigen.tensor(np.zeros((8, 30), np.float32)))
    with pytest.raises(TypeError, match="linear: weight must be of input's dtype float64 .*, got float32"):
        lin(minigen.tensor(np.zeros((8, 32))))
    x = minigen.tensor(np.zeros((8, 32)))
    with pytest.raises(ValueError, match=r"^linear: weight must be of shape \(out_features, in_features\), got shape "
                                         r"\(32,\)$"):
        F.linear(x, np.zeros(32))
    with pytest.raises(ValueError, match=r"^linear: bias must be of shape \(4,\), got shape \(32,\)$"):
        F.linear(x, np.zeros((4, 32)), np.zeros(32))


@pytest.mark.reference
def test_linear_loads_torch_state_dict():
    torch = pytest.importorskip("torch")
    ref = torch.nn.Linear(6, 3)
    lin = nn.Linear(6, 3)
    lin.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)
    np.testing.assert_allclose(lin(minigen.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------- bad arguments to Module methods

@pytest.mark.parametrize("dtype", ["int64", "int32", np.int64, np.bool_, "bool"])
def test_to_refuses_a_non_floating_dtype(dtype):
    """Casting to an integer dtype would truncate the weights (torch refuses too); nothing is changed."""
    m = Tiny()
    before = m.embed.weight.numpy().copy()
    with pytest.raises(TypeError, match=r"^Tiny.to: dtype must be floating \(others truncate the weights\), "
                                        r"got (int64|int32|bool)$"):
        m.to(dtype)
    assert m.embed.weight.dtype == np.float32
    np.testing.assert_array_equal(m.embed.weight.numpy(), before)


def test_to_still_takes_floating_dtypes_and_devices(backend):
    m = Tiny().to("float64")
    assert m.embed.weight.dtype == np.float64 and m.steps.dtype == np.int64
    m.to(np.float32).to(backend.device)
    assert backend.numpy(m.embed.weight.data).dtype == np.float32


@pytest.mark.parametrize("mode", ["no", 1, None])
def test_train_needs_a_bool(mode):
    m = Tiny()
    with pytest.raises(ValueError, match=rf"^Tiny.train: mode must be True or False, got {mode!r}$"):
        m.train(mode)
    assert m.training is True and m.embed.training is True


def test_load_state_dict_refuses_what_is_not_a_mapping_of_arrays():
    m = Tiny()
    with pytest.raises(TypeError, match=r"^Tiny.load_state_dict: state_dict must be a mapping \(module.state_dict\(\)\), "
                                        r"got list$"):
        m.load_state_dict([1, 2])
    sd = dict(m.state_dict())
    before = sd["embed.bias"].copy()
    sd["embed.weight"] = np.full((4, 3), "a")
    sd["embed.bias"] = [0.0] * 4
    with pytest.raises(TypeError, match=r"^Tiny.load_state_dict: values must be numeric arrays or "
                                        r"Tensors, got ndarray of dtype str32 for 'embed.weight'; list for "
                                        r"'embed.bias'$"):
        m.load_state_dict(sd)
    np.testing.assert_array_equal(m.embed.bias.numpy(), before)        # nothing was loaded
    sd = dict(m.state_dict(), extra="ignored")                        # unexpected keys are not loaded: any value
    assert m.load_state_dict(sd, strict=False).unexpected_keys == ["extra"]
    sd = dict(m.state_dict(), scale=minigen.tensor(np.array([2], np.int64)))   # a Tensor, an integer array: cast
    m.load_state_dict(sd)
    assert m.scale.dtype == np.float32 and m.scale.item() == 2.0


def test_register_checks_names_and_values():
    m = Tiny()
    with pytest.raises(TypeError, match=r"^Tiny.register_parameter: w must be a Parameter or None, "
                                        r"got ndarray$"):
        m.register_parameter("w", np.zeros(2))
    with pytest.raises(TypeError, match=r"^Tiny.register_buffer: b must be an array or None, got list$"):
        m.register_buffer("b", [0])
    with pytest.raises(ValueError, match=r"^Tiny.register_buffer: name must be non-empty and without '.', "
                                         r"got 'a.b'$"):
        m.register_buffer("a.b", np.zeros(2))
    with pytest.raises(TypeError, match=r"^Tiny.register_parameter: name must be a string, got int$"):
        m.register_parameter(0, None)


# ---------------------------------------------------------------------------- ModuleList

def test_module_list_edits_keep_keys_in_order():
    a, b, c, d = (nn.Linear(2, 2) for _ in range(4))
    ml = nn.ModuleList([a])
    assert ml.extend([b, c]) is ml and list(ml) == [a, b, c]
    ml.insert(0, d)
    assert list(ml) == [d, a, b, c]
    assert ml.state_dict()["0.weight"] is d.weight.data and ml.state_dict()["3.bias"] is c.bias.data
    ml.insert(-1, nn.GELU())                           # as list.insert: before the last
    assert isinstance(ml[3], nn.GELU) and ml[4] is c
    ml[np.int64(1)] = b                                # the same module twice: its parameters appear once
    assert ml[1] is b and len(list(ml.parameters())) == 6
    sub = ml[1:3]
    assert isinstance(sub, nn.ModuleList) and list(sub) == [b, b] and list(sub.state_dict())[0] == "0.weight"
    del ml[0]
    del ml[-2:]
    assert list(ml) == [b, b] and list(ml.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # as torch
    assert len(nn.ModuleList()) == 0 and len(nn.ModuleList(None)) == 0


def test_module_list_bad_arguments():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    with pytest.raises(IndexError, match=r"^ModuleList.__getitem__: index must be in \[-1, 1\) for 1 modules, got 1$"):
        ml[1]
    with pytest.raises(TypeError, match=r"^ModuleList.__getitem__: index must be an integer or a slice, got str$"):
        ml["0"]
    with pytest.raises(TypeError, match=r"^ModuleList.__setitem__: index must be an integer, got slice$"):
        ml[0:1] = [nn.GELU()]
    with pytest.raises(TypeError, match=r"^ModuleList.__setitem__: module must be a Module, got int$"):
        ml[0] = 3
    with pytest.raises(TypeError, match=r"^ModuleList.extend: modules must be an iterable of Modules, got int$"):
        ml.extend(3)
    with pytest.raises(TypeError, match=r"^ModuleList.extend: module must be a Module, got str$"):
        ml.extend([nn.GELU(), "relu"])
    assert len(ml) == 1, "a failed extend adds nothing"
    with pytest.raises(TypeError, match=r"^ModuleList.insert: index must be an integer, got float$"):
        ml.insert(0.0, nn.GELU())
    with pytest.raises(TypeError, match=r"^ModuleList.extend: modules must be an iterable of Modules, got Linear$"):
        nn.ModuleList(nn.Linear(2, 2))
