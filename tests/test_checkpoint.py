"""Checkpoints: round trip (model, optimizer, tokenizer, RNG), atomic writes, pickles refused, damage reported."""

import os
import pickle

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import backend as B
from minigen.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from minigen.data import CharTokenizer, tokenizer_from_dict
from minigen.models import RNNLanguageModel, build_model


def _train(model, opt, steps, rng, asarray=np.asarray):
    for _ in range(steps):
        ids = rng.integers(0, 7, size=(2, 6))
        opt.zero_grad()
        logits, _ = model(asarray(ids[:, :-1]))
        F.cross_entropy(logits.reshape(-1, 7), asarray(ids[:, 1:].reshape(-1))).backward()
        opt.step()


def test_round_trip_resumes_bit_for_bit(tmp_path):
    minigen.manual_seed(0)
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=2, dropout=0.1)
    opt = minigen.optim.AdamW(model.parameters(), lr=1e-2)
    _train(model, opt, 3, np.random.default_rng(0))
    tok = CharTokenizer.train("abcdefg")
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, opt, tokenizer=tok, step=3, extra={"note": "hi"})

    # an uninterrupted run ...
    _train(model, opt, 4, np.random.default_rng(1))
    # ... and one restored from the checkpoint, reading the same batches
    ck = load_checkpoint(path)
    assert ck.meta["step"] == 3 and ck.meta["extra"] == {"note": "hi"}
    assert type(ck.optimizer_state["state"][0]["step"]) is int            # checked, and kept as saved
    assert tokenizer_from_dict(ck.meta["tokenizer"]).itos == tok.itos
    model2 = build_model(ck.meta["config"])
    model2.load_state_dict(ck.model_state)
    opt2 = minigen.optim.AdamW(model2.parameters(), lr=1e-2)
    opt2.load_state_dict(ck.optimizer_state)
    B.set_rng_state(ck.meta["rng_state"])
    _train(model2, opt2, 4, np.random.default_rng(1))
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_round_trip_on_the_backends(tmp_path, backend):
    """A model and optimizer on a device save to host arrays and resume on that device."""
    minigen.manual_seed(0)
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=2, dropout=0.1, dtype="float64")
    model.to(backend.device)
    opt = minigen.optim.Adam(model.parameters(), lr=1e-2)
    _train(model, opt, 2, np.random.default_rng(0), backend.asarray)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, opt, step=2)
    _train(model, opt, 3, np.random.default_rng(1), backend.asarray)

    ck = load_checkpoint(path)
    assert all(isinstance(v, np.ndarray) for v in ck.model_state.values())       # host arrays in the file
    model2 = build_model(ck.meta["config"]).to("float64").to(backend.device)
    model2.load_state_dict(ck.model_state)
    opt2 = minigen.optim.Adam(model2.parameters(), lr=1e-2)
    opt2.load_state_dict(ck.optimizer_state)
    assert all(str(B.device_of(p.data)) == str(B.device_of(q.data))
               for p, q in zip(model.parameters(), model2.parameters()))
    B.set_rng_state(ck.meta["rng_state"])
    _train(model2, opt2, 3, np.random.default_rng(1), backend.asarray)
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        # CuPy's scatter-add (the embedding's gradient) sums in no fixed order, hence not bit for bit
        np.testing.assert_allclose(backend.numpy(b), backend.numpy(a), rtol=1e-10, atol=1e-12, err_msg=name)


def test_writes_are_atomic(tmp_path, monkeypatch):
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=1)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, step=1)
    before = path.read_bytes()
    import safetensors.numpy

    def dies_midway(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.numpy, "save_file", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, step=2)
    assert path.read_bytes() == before, "the previous checkpoint is intact"
    assert os.listdir(tmp_path) == ["ckpt.safetensors"], "no temporary file is left behind"


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_get_the_usual_permissions(tmp_path, umask):
    """safetensors alone writes mode 0600; a checkpoint gets 0666 less the umask, as any new file does."""
    old = os.umask(umask)
    try:
        save_checkpoint(tmp_path / "ckpt.safetensors", RNNLanguageModel(7, embed_dim=4, hidden_size=5), step=1)
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "ckpt.safetensors").st_mode & 0o777 == 0o666 & ~umask


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(CheckpointError, match="looks like a pickle.*never unpickles"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_damaged_files(tmp_path):
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=1)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors is (not a (valid|readable) safetensors|truncated)"):
        load_checkpoint(tmp_path / "cut.safetensors")
    (tmp_path / "tail.safetensors").write_bytes(data[:-1])          # the header whole, the data one byte short
    with pytest.raises(CheckpointError, match=f"tail.safetensors is truncated: .* {len(data)} bytes, the file "
                                              f"has {len(data) - 1}"):
        load_checkpoint(tmp_path / "tail.safetensors")
    (tmp_path / "json.safetensors").write_bytes(data[:8] + b"{" + b"x" * (len(data) - 9))
    with pytest.raises(CheckpointError, match="header is not valid JSON"):
        load_checkpoint(tmp_path / "json.safetensors")
    (tmp_path / "tiny.safetensors").write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path / "tiny.safetensors")
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="is a folder; give the checkpoint file in it"):
        load_checkpoint(tmp_path)
    import safetensors.numpy
    safetensors.numpy.save_file({"x": np.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a minigen checkpoint"):
        load_checkpoint(tmp_path / "other.safetensors")


def test_a_header_length_starting_with_0x80_is_not_a_pickle(tmp_path):
    """The header length is little-endian: 128 mod 256 bytes of header begins the file with 0x80."""
    import json
    import struct
    path = tmp_path / "odd.safetensors"
    for pad in range(0, 300):
        save_checkpoint(path, RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=1),
                        extra={"pad": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.skip("no padding gave a header length of 128 mod 256")
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    assert n % 256 == 128 and json.loads(path.read_bytes()[8:8 + n])
    assert load_checkpoint(path).meta["extra"]["pad"] == "x" * pad


def _rewrite(path, new_path, meta=None, tensors=None):
    """A copy of the checkpoint at ``path`` with its 'minigen' metadata string or its tensors replaced."""
    from safetensors import safe_open
    from safetensors.numpy import save_file
    with safe_open(str(path), framework="numpy") as f:
        raw, arrays = f.metadata()["minigen"], {k: f.get_tensor(k) for k in f.keys()}
    save_file({**arrays, **(tensors or {})}, str(new_path), metadata={"minigen": raw if meta is None else meta})
    return new_path


def test_damaged_metadata_and_nonfinite_weights_name_the_file(tmp_path):
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=1)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, minigen.optim.Adam(model.parameters()), tokenizer=CharTokenizer.train("abcdefg"))
    bad = _rewrite(path, tmp_path / "json.safetensors", meta='{"format": ')
    with pytest.raises(CheckpointError, match=r"json.safetensors is damaged: its 'minigen' metadata is not valid "
                                              r"JSON \(Expecting value"):
        load_checkpoint(bad)
    bad = _rewrite(path, tmp_path / "list.safetensors", meta="[1, 2]")
    with pytest.raises(CheckpointError, match="list.safetensors: its 'minigen' metadata must be a JSON object, "
                                              "got list"):
        load_checkpoint(bad)
    weight = load_checkpoint(path).model_state["embedding.weight"].copy()
    weight[0, 0] = np.inf
    bad = _rewrite(path, tmp_path / "inf.safetensors", tensors={"model.embedding.weight": weight})
    with pytest.raises(CheckpointError, match=r"checkpoint .*inf.safetensors: tensor model.embedding.weight must "
                                              r"be finite, got NaN or inf"):
        load_checkpoint(bad)


def test_extra_takes_numpy_scalars_and_refuses_what_json_cannot_hold(tmp_path):
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=1)
    path = tmp_path / "ckpt.safetensors"
    extra = {"loss": np.float32(1.5), "n": np.int64(3), "ok": np.bool_(True), "pair": (np.float64(0.25), "a"),
             "zero_d": np.array(2.0), "nested": {"lr": [np.float16(0.5)]}}
    save_checkpoint(path, model, extra=extra)
    got = load_checkpoint(path).meta["extra"]
    assert got == {"loss": 1.5, "n": 3, "ok": True, "pair": [0.25, "a"], "zero_d": 2.0, "nested": {"lr": [0.5]}}
    assert type(got["n"]) is int and type(got["loss"]) is float

    with pytest.raises(TypeError, match=r"save_checkpoint: extra\['h'\] must be JSON \(an array goes in "
                                        r"save_checkpoint's arrays=.*\), got ndarray of shape \(2, 3\)"):
        save_checkpoint(path, model, extra={"h": np.zeros((2, 3))})
    with pytest.raises(TypeError, match=r"save_checkpoint: extra\['run'\]\['when'\]\[1\] is .* of type object, "
                                        "which the JSON metadata cannot hold"):
        save_checkpoint(path, model, extra={"run": {"when": [1, object()]}})
    with pytest.raises(TypeError, match=r"save_checkpoint: the key \(1, 2\) in extra must be str, .*, got tuple"):
        save_checkpoint(path, model, extra={(1, 2): 3})
    with pytest.raises(TypeError, match="save_checkpoint: extra must be a dict .*, got list"):
        save_checkpoint(path, model, extra=[1, 2])
    assert load_checkpoint(path).meta["extra"] == got, "a refused save leaves the previous checkpoint"


def test_arrays_and_other_arguments_are_checked(tmp_path):
    model = RNNLanguageModel(7, embed_dim=4, hidden_size=5, num_layers=1)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, arrays={"h": minigen.tensor(np.ones((2, 3)))})        # a Tensor is stored too
    np.testing.assert_array_equal(load_checkpoint(path).arrays["h"], np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"save_checkpoint: arrays\['h'\] must be an array or a Tensor, got list"):
        save_checkpoint(path, model, arrays={"h": [1.0, 2.0]})
    with pytest.raises(TypeError, match="save_checkpoint: arrays must be a dict of name -> array, got list"):
        save_checkpoint(path, model, arrays=[np.ones(2)])
    with pytest.raises(ValueError, match="save_checkpoint: step must be a non-negative integer, got '3'"):
        save_checkpoint(path, model, step="3")
    with pytest.raises(TypeError, match=r"save_checkpoint: tokenizer must be a minigen tokenizer \(with a to_dict\(\)\), got str"):
        save_checkpoint(path, model, tokenizer="abc")
    with pytest.raises(TypeError, match=r"save_checkpoint: model must be a Module .*got dict"):
        save_checkpoint(path, dict(model.state_dict()))


# ---------------------------------------------------------------------------- load_model: config against weights

def _gpt_checkpoint(tmp_path):
    from minigen.models import GPT, GPTConfig
    tok = CharTokenizer.train("abcdefghij")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=8))
    path = tmp_path / "gpt.safetensors"
    save_checkpoint(path, model, minigen.optim.AdamW(model.parameters()), tokenizer=tok)
    return path, model


def test_load_model_round_trip(tmp_path):
    path, model = _gpt_checkpoint(tmp_path)
    loaded, tok, ck = load_model(path)
    assert ck.path == str(path) and tok.vocab_size == 10 and loaded.config == model.config
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        np.testing.assert_array_equal(B.to_numpy(a), B.to_numpy(b), err_msg=name)


@pytest.mark.parametrize("entry,value,message", [
    ("block_size", 10**9, r"config.block_size must be 8 \(axis 0 of model.wpe.weight\), got 1000000000"),
    ("n_embd", 2**40, r"config.n_embd must be 8 \(axis 1 of model.wte.weight\), got 1099511627776"),
    ("n_layer", 3, r"config.n_layer must be 2 \(the number of model.h.<k>.ln_1.weight in the weights\), got 3"),
    ("vocab_size", True, r"config.vocab_size must be 10 \(axis 0 of model.wte.weight\), got True"),
    ("n_head", 3, "n_embd must be divisible by n_head"),                    # GPTConfig's own rule
    ("model_type", "seq2seq", "config.model_type must be one of 'rnn_lm', 'gpt', got 'seq2seq'"),
])
def test_load_model_checks_the_config_against_the_weights_before_building(tmp_path, entry, value, message):
    """A damaged size is refused before NumPy is asked for the memory it would take."""
    import json
    path, _ = _gpt_checkpoint(tmp_path)
    meta = load_checkpoint(path).meta
    bad = _rewrite(path, tmp_path / "bad.safetensors", meta=json.dumps({**meta, "config": {**meta["config"],
                                                                                           entry: value}}))
    with pytest.raises(CheckpointError, match=f"checkpoint {bad}: .*{message}"):
        load_model(bad)


def test_load_model_refuses_weights_that_do_not_fit(tmp_path):
    path, _ = _gpt_checkpoint(tmp_path)
    bad = _rewrite(path, tmp_path / "bad.safetensors", tensors={"model.ln_f.bias": np.zeros(9, np.float32)})
    with pytest.raises(CheckpointError, match=r"its weights do not fit its config: model.ln_f.bias has shape \(9,\), "
                                              r"the config's model \(8,\)"):
        load_model(bad)
    ck = load_checkpoint(path)
    del ck.model_state["h.1.mlp.c_fc.bias"]
    with pytest.raises(CheckpointError, match="model.h.1.mlp.c_fc.bias is missing"):
        load_model(ck)
    ck = load_checkpoint(path)
    del ck.model_state["wpe.weight"]                # the tensor that gives config.block_size
    with pytest.raises(CheckpointError, match=f"checkpoint {path}: model.wpe.weight must be in the weights, "
                                              "got none"):
        load_model(ck)
    no_config = tmp_path / "plain.safetensors"
    save_checkpoint(no_config, RNNLanguageModel(7, embed_dim=4, hidden_size=5), step=1)      # no tokenizer
    with pytest.raises(CheckpointError, match="config and tokenizer must be present .*, got null"):
        load_model(no_config)


@pytest.mark.parametrize("change,message", [
    (lambda m: m.update(step=-1), "step must be a non-negative integer, got -1"),
    (lambda m: m.update(format="other"), "format must be one of 'minigen-checkpoint-1', got 'other'"),
    (lambda m: m.update(config=[1]), "config must be an object or null, got list"),
    (lambda m: m.update(extra=None), "extra must be an object, got NoneType"),
    (lambda m: m["optimizer"].update(param_groups={}), "optimizer.param_groups must be a list of objects, got {}"),
    (lambda m: m["optimizer"].update(scalars=[]), "optimizer.scalars must be an object, got list"),
    (lambda m: m["optimizer"]["scalars"].update({"x": {"step": 1}}), "optimizer.scalars.x must be named by a "
                                                                     "parameter's index"),
    (lambda m: m["optimizer"]["scalars"].update({"0": {"step": float("nan")}}), "optimizer.scalars.0.step must be a "
                                                                                 "finite number, got nan"),
])
def test_every_metadata_entry_is_checked_on_load(tmp_path, change, message):
    import json
    path, _ = _gpt_checkpoint(tmp_path)
    meta = load_checkpoint(path).meta
    change(meta)
    bad = _rewrite(path, tmp_path / "bad.safetensors", meta=json.dumps(meta))
    with pytest.raises(CheckpointError, match=f"checkpoint {bad}: {message}"):
        load_checkpoint(bad)
