"""TextVAE: the KL and the reparameterisation, gradchecks, annealing, word dropout, decoding, devices, bad input."""

import numpy as np
import pytest

import minigen
from minigen import backend as B
from minigen.models.vae import TextVAE, kl_divergence, kl_weight, make_batch, reparameterize

V, E, H, Z = 12, 5, 6, 3
PAD, BOS, EOS, UNK = 0, 1, 2, 3


def _sentences(n, seed=0, lo=2, hi=6):
    rng = np.random.default_rng(seed)
    return [rng.integers(4, V, size=rng.integers(lo, hi + 1)).tolist() for _ in range(n)]


def _model(dtype="float64", seed=0, **kw):
    minigen.manual_seed(seed)
    return TextVAE(V, embed_dim=kw.pop("embed_dim", E), hidden_size=kw.pop("hidden_size", H),
                   latent_dim=kw.pop("latent_dim", Z), dtype=dtype, **kw)


def _set_params(model, params):
    """Put the gradcheck's tensors in place of the model's parameters (by dotted name)."""
    for name, value in params.items():
        *path, leaf = name.split(".")
        m = model
        for p in path:
            m = getattr(m, p)
        m._parameters[leaf] = value


# ---------------------------------------------------------------------------- KL and reparameterisation

def test_kl_is_zero_exactly_at_the_prior():
    zeros = minigen.tensor(np.zeros((4, Z)))
    assert kl_divergence(zeros, zeros).numpy().tolist() == [0.0] * 4
    assert kl_divergence(minigen.tensor(np.full((1, Z), 0.1)), zeros[:1]).item() > 0


def test_closed_form_kl_matches_a_monte_carlo_estimate():
    """E_q[log q(z) - log p(z)] over draws made by reparameterize itself."""
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(2, Z)), rng.normal(scale=0.7, size=(2, Z))
    N = 100_000
    minigen.manual_seed(11)
    z = reparameterize(minigen.tensor(np.tile(mu, (N, 1))), minigen.tensor(np.tile(logvar, (N, 1)))).numpy()
    z = z.reshape(N, 2, Z)
    log_q = -0.5 * (logvar + (z - mu) ** 2 / np.exp(logvar))                 # the 2 pi terms cancel with log p
    log_p = -0.5 * z ** 2
    mc = (log_q - log_p).sum(-1).mean(0)                                     # (2,)
    closed = kl_divergence(minigen.tensor(mu), minigen.tensor(logvar)).numpy()
    np.testing.assert_allclose(mc, closed, rtol=0.03, atol=0.02)


def test_reparameterize_and_kl_gradcheck():
    rng = np.random.default_rng(4)
    inputs = {"mu": minigen.tensor(rng.normal(size=(3, Z))), "logvar": minigen.tensor(rng.normal(size=(3, Z))),
              "eps": minigen.tensor(rng.normal(size=(3, Z)))}
    assert minigen.gradcheck(lambda mu, logvar, eps: (reparameterize(mu, logvar, eps), kl_divergence(mu, logvar)),
                             inputs)


def test_loss_gradcheck_through_every_parameter(backend):
    """Loss, mu, logvar and z against every parameter and the noise eps (word dropout on, re-seeded per evaluation)."""
    model = _model(word_dropout=0.3, embed_dim=3, hidden_size=3, latent_dim=2).to(backend.device)
    ids = backend.asarray(make_batch(_sentences(2, seed=1, hi=3)))
    inputs = {n: backend.asarray(p.numpy()) for n, p in model.named_parameters()}
    inputs["eps"] = backend.asarray(np.random.default_rng(5).normal(size=(2, 2)))

    def fn(eps, **params):
        _set_params(model, params)
        out = model(ids, beta=0.7, eps=eps)
        return out.loss, out.mu, out.logvar, out.z

    assert minigen.gradcheck(fn, inputs, fast=backend.fast)


# ---------------------------------------------------------------------------- annealing and training

def test_kl_weight_schedules():
    logistic = [kl_weight(s, midpoint=100, rate=0.05) for s in range(0, 301, 10)]
    assert logistic[0] < 0.01 and logistic[-1] > 0.99 and kl_weight(100, midpoint=100) == 0.5
    assert all(a < b for a, b in zip(logistic, logistic[1:]))
    assert [kl_weight(s, "linear", warmup=4) for s in (0, 1, 4, 9)] == [0.0, 0.25, 1.0, 1.0]
    with pytest.raises(ValueError, match="kind must be one of 'logistic', 'linear'"):
        kl_weight(3, "cosine")
    with pytest.raises(ValueError, match="step must be a finite number >= 0"):
        kl_weight(-1)
    with pytest.raises(ValueError, match="kl_weight: warmup must be a finite number > 0, got 0"):
        kl_weight(3, "linear", warmup=0)


def test_a_short_run_lowers_the_loss_and_keeps_the_kl_above_zero():
    model = _model(dtype="float32", embed_dim=8, hidden_size=24, latent_dim=4, word_dropout=0.25)
    ids = make_batch(_sentences(16, seed=2))
    opt = minigen.optim.Adam(model.parameters(), lr=0.02)
    recons, kls = [], []
    for step in range(80):
        opt.zero_grad()
        out = model(ids, beta=kl_weight(step, "linear", warmup=80))
        out.loss.backward()
        opt.step()
        recons.append(out.recon.item())
        kls.append(out.kl.item())
    assert np.mean(recons[-5:]) < 0.5 * recons[0]
    assert np.mean(kls[-5:]) > 0.1                     # the latent carries information: no posterior collapse


def test_free_bits_floor_each_dimension_in_the_loss_only():
    model = _model().eval()                                                  # eval: no word dropout, no randomness
    ids = make_batch(_sentences(4, seed=8))
    eps = np.random.default_rng(0).normal(size=(4, Z))
    plain = model(ids, beta=0.5, eps=eps)
    assert model(ids, beta=0.5, eps=eps, free_bits=0.0).loss.item() == plain.loss.item()
    floored = model(ids, beta=0.5, eps=eps, free_bits=100.0)                 # every dimension is below the floor
    np.testing.assert_allclose(floored.kl.item(), plain.kl.item(), rtol=1e-12)   # the reported KL is the true one
    np.testing.assert_allclose(floored.loss.item(), plain.recon.item() + 0.5 * Z * 100.0, rtol=1e-12)
    plain.recon.backward()                                                   # below the floor the KL adds no gradient
    recon_only = {n: p.grad.copy() for n, p in model.named_parameters()}
    model.zero_grad()
    floored.loss.backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, recon_only[n], rtol=1e-10, atol=1e-14, err_msg=n)
    with pytest.raises(ValueError, match="free_bits must be a finite number >= 0"):
        model(ids, free_bits=-1)


# ---------------------------------------------------------------------------- word dropout

def test_word_dropout_replaces_the_expected_fraction_never_specials():
    model = _model(word_dropout=0.25)
    ids = make_batch(_sentences(200, seed=3, lo=3, hi=10))[:, :-1]          # decoder inputs: BOS w.. (EOS) PAD..
    minigen.manual_seed(7)
    dropped = model.drop_words(ids)
    words = (ids != PAD) & (ids != BOS) & (ids != EOS)
    frac = (dropped[words] == UNK).mean()
    assert abs(frac - 0.25) < 0.03, frac
    assert (dropped[~words] == ids[~words]).all()                            # PAD, BOS (and EOS) untouched
    assert ((dropped == ids) | (dropped == UNK)).all()
    minigen.manual_seed(7)
    np.testing.assert_array_equal(model.drop_words(ids), dropped)            # seeded
    assert model.eval().drop_words(ids) is ids                               # off in eval mode


def test_eval_mode_forward_does_not_drop_words():
    model = _model(word_dropout=1.0)
    ids = make_batch(_sentences(3, seed=4))
    eps = np.zeros((3, Z))
    train_loss = model(ids, eps=eps).recon.item()
    model.eval()
    assert model(ids, eps=eps).recon.item() != train_loss
    assert model(ids, eps=eps).recon.item() == model.train(False)(ids, eps=eps).recon.item()
    model_off = _model(word_dropout=0.0)                                     # same weights (same seed)
    np.testing.assert_allclose(model_off(ids, eps=eps).recon.item(), model(ids, eps=eps).recon.item(), rtol=1e-12)


# ---------------------------------------------------------------------------- encoding and decoding

def test_the_encoder_reads_each_sentence_up_to_its_eos():
    """A sentence's q(z|x) does not depend on how much padding its batch needs."""
    model = _model()
    short, long = [5, 6], [7, 8, 9, 10, 11]
    mu_alone, lv_alone = model.encode(make_batch([short]))
    mu_batch, lv_batch = model.encode(make_batch([short, long]))
    np.testing.assert_allclose(mu_batch.numpy()[0], mu_alone.numpy()[0], rtol=1e-12)
    np.testing.assert_allclose(lv_batch.numpy()[0], lv_alone.numpy()[0], rtol=1e-12)


def test_shapes_and_eos_then_pad():
    model = _model()
    ids = make_batch(_sentences(4, seed=5))
    assert model.reconstruct(ids).shape == ids.shape
    assert model.reconstruct(ids, max_len=9).shape == (4, 9)
    samples = model.sample(6, max_len=7, seed=0)
    assert samples.shape == (6, 7) and samples.dtype == np.int64
    for row in model.sample(20, max_len=12, seed=1, greedy=False).tolist():
        assert PAD not in row[:row.index(EOS) if EOS in row else len(row)] and BOS not in row
        if EOS in row:
            assert set(row[row.index(EOS) + 1:]) <= {PAD}
    out = model(ids)
    assert out.loss.shape == () and out.mu.shape == out.logvar.shape == out.z.shape == (4, Z)


def test_without_z_at_every_input_the_decoder_starts_from_z_only():
    model = _model(concat_z=False)
    assert model.decoder.input_size == E
    ids = make_batch(_sentences(3, seed=9))
    out = model(ids)
    out.loss.backward()
    assert model.to_mu.weight.grad is not None and np.any(model.to_mu.weight.grad != 0)
    assert model.sample(2, max_len=5, seed=0).shape == (2, 5)


def test_sampling_is_deterministic_with_a_seed_and_leaves_the_global_generator_alone():
    model = _model()
    state = B.get_rng_state()
    a = model.sample(5, max_len=10, seed=3, greedy=False)
    assert B.get_rng_state() == state
    np.testing.assert_array_equal(a, model.sample(5, max_len=10, seed=3, greedy=False))
    assert not np.array_equal(a, model.sample(5, max_len=10, seed=4, greedy=False))
    z = np.random.default_rng(0).normal(size=(4, Z))
    np.testing.assert_array_equal(model.decode(z, 8, greedy=False, temperature=0.8, seed=1),
                                  model.decode(z, 8, greedy=False, temperature=0.8, seed=1))


def test_interpolation_endpoints_decode_from_the_endpoint_means():
    model = _model()
    a, b = make_batch([[4, 5, 6, 7]])[0], make_batch([[9, 10, 11]])[0]
    path = model.interpolate(a, b, steps=5, max_len=10)
    assert path.shape == (5, 10)
    mu_a, _ = model.encode(a[None])
    mu_b, _ = model.encode(b[None])
    np.testing.assert_array_equal(path[0], model.decode(mu_a, 10)[0])
    np.testing.assert_array_equal(path[-1], model.decode(mu_b, 10)[0])
    np.testing.assert_array_equal(model.interpolate(list(a), b[None], steps=2, max_len=10), path[[0, -1]])


def test_make_batch():
    assert make_batch([[5, 6, 7], [8]], max_len=4).tolist() == [[BOS, 5, 6, EOS], [BOS, 8, EOS, PAD]]
    with pytest.raises(ValueError, match="no sentences"):
        make_batch([])


# ---------------------------------------------------------------------------- devices

def test_forward_backward_and_an_adam_step_on_each_backend(backend):
    model = _model(dtype="float32").to(backend.device)
    twin = _model(dtype="float32")                                           # the same weights, on the host
    ids_host = make_batch(_sentences(3, seed=6))
    opt = minigen.optim.Adam(model.parameters(), lr=0.01)
    before = {n: np.array(backend.numpy(p), copy=True) for n, p in model.named_parameters()}
    minigen.manual_seed(1)
    out = model(backend.asarray(ids_host), beta=0.5)
    minigen.manual_seed(1)
    ref = twin(ids_host, beta=0.5)
    np.testing.assert_allclose(float(backend.numpy(out.loss)), ref.loss.item(), rtol=1e-5)
    out.loss.backward()
    opt.step()
    for n, p in model.named_parameters():
        assert type(p.data) is type(backend.asarray(np.zeros(1))), n          # still on the device
        assert p.grad is not None and np.all(np.isfinite(backend.numpy(p))), n
    assert any(not np.array_equal(before[n], backend.numpy(p)) for n, p in model.named_parameters())
    np.testing.assert_array_equal(backend.numpy(model.sample(3, max_len=6, seed=2, greedy=False)),
                                  _host_after_step(model).sample(3, max_len=6, seed=2, greedy=False))
    ids = backend.asarray(ids_host)
    host_eps = model(ids, eps=np.zeros((3, Z), np.float32))                 # host noise moves to the device
    assert np.isfinite(float(backend.numpy(host_eps.loss)))
    assert backend.numpy(model.interpolate(ids[0, ...], ids[1, ...], steps=3, max_len=5)).shape == (3, 5)


def _host_after_step(model):
    host = _model(dtype="float32")
    host.load_state_dict({k: B.to_numpy(v) for k, v in model.state_dict().items()})
    return host


# ---------------------------------------------------------------------------- bad input

def test_bad_input():
    model = _model()
    with pytest.raises(IndexError, match=r"TextVAE: ids must be ids in \[0, 12\), got id 12"):
        model(np.array([[BOS, 12, EOS]]))
    with pytest.raises(IndexError, match="id -1"):
        model.encode(np.array([[BOS, -1, EOS]]))
    with pytest.raises(ValueError, match=r"TextVAE: ids must be a 2-D array of token ids, got shape \(5,\)"):
        model(np.array([BOS, 4, 5, 6, EOS]))
    with pytest.raises(ValueError, match=r"with seq >= 2 \(BOS .. EOS\), got shape \(2, 1\)"):
        model(np.array([[BOS], [BOS]]))
    with pytest.raises(TypeError, match="ids must be an integer array of token ids, got float64"):
        model(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"ids must be rows that start with a token \(BOS\), not PAD"):
        model(np.array([[PAD, 4, EOS]]))
    with pytest.raises(ValueError, match=r"TextVAE: z must be of shape \(batch, 3\)"):
        model.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        model.decode(np.zeros((2, Z)), max_len=0)
    with pytest.raises(ValueError, match="TextVAE.decode: temperature must be a finite number >= 0, got -1.0"):
        model.decode(np.zeros((2, Z)), greedy=False, temperature=-1.0)
    with pytest.raises(ValueError, match="TextVAE.sample: n must be a positive integer, got 0"):
        model.sample(0)
    with pytest.raises(ValueError, match="make_batch: max_len must be an integer >= 2, got 1"):
        make_batch([[4, 5]], max_len=1)
    with pytest.raises(ValueError, match="must be one sentence"):
        model.interpolate(make_batch([[4], [5]]), make_batch([[6]]))
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        model.interpolate(make_batch([[4]]), make_batch([[6]]), steps=1)
    for bad in (0, -2, 2.5):
        with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
            TextVAE(V, E, H, bad)
    with pytest.raises(ValueError, match=r"word_dropout must be a probability in \[0, 1\]"):
        TextVAE(V, E, H, Z, word_dropout=1.5)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got True"):
        TextVAE(V, E, H, True)                                # a bool is no size; a NumPy int is one
    assert TextVAE(np.int64(V), np.int32(E), H, np.int64(Z)).latent_dim == Z
    with pytest.raises(ValueError, match="TextVAE: concat_z must be True or False, got 'no'"):
        TextVAE(V, E, H, Z, concat_z="no")
    with pytest.raises(ValueError, match="pad_id, bos_id, eos_id, unk_id must be four different ids"):
        TextVAE(V, E, H, Z, unk_id=PAD)
    with pytest.raises(ValueError, match=r"eos_id must be an integer in \[0, 11\], got 12"):
        TextVAE(V, E, H, Z, eos_id=12)


def test_bad_eps_is_named_before_the_product():
    """eps must be (batch, latent_dim) in the model's dtype; the product exp(logvar / 2) * eps would otherwise
    fail inside ``mul`` without naming it."""
    model = _model()
    ids = make_batch([[4, 5, 6], [7, 8]])
    with pytest.raises(ValueError, match=r"TextVAE: eps must be of shape \(batch, latent_dim\) = \(2, 3\), "
                                         r"got \(2, 4\)"):
        model(ids, eps=np.zeros((2, Z + 1)))
    with pytest.raises(ValueError, match=r"= \(2, 3\), got \(3, 3\)"):
        model(ids, eps=minigen.tensor(np.zeros((3, Z))))
    with pytest.raises(TypeError, match=r"TextVAE: eps must be of dtype float64 \(the model's; convert it first: "
                                        r"eps.astype\('float64'\)\), got float32"):
        model(ids, eps=np.zeros((2, Z), np.float32))
    with pytest.raises(TypeError, match="TextVAE: eps must be an array or a Tensor .*, got str"):
        model(ids, eps="noise")
    with pytest.raises(ValueError, match=r"reparameterize: eps must be of shape \(batch, latent_dim\) = \(2, 3\)"):
        reparameterize(minigen.tensor(np.zeros((2, Z))), minigen.tensor(np.zeros((2, Z))), np.zeros((2, 1)))
    as_list = model(ids, eps=[[0.5] * Z, [0.0] * Z])                              # nested lists are read as arrays
    np.testing.assert_array_equal(as_list.z.numpy(), model(ids, eps=np.array([[0.5] * Z, [0.0] * Z])).z.numpy())
