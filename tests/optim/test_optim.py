"""Optimizers, clipping and schedules: the same updates as torch.optim, state dicts, bad arguments."""

import math
import re

import numpy as np
import pytest

import minigen.nn as nn
import minigen.optim as optim
from minigen.nn.utils import clip_grad_norm_
from minigen.optim import lr_scheduler

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True, eps=1e-6)),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True, weight_decay=0.05, alpha=0.9)),
]


def _grads(rng, shapes, steps):
    return [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]


@pytest.mark.reference
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_updates_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    init = [rng.standard_normal(s) for s in shapes]
    mine = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt_m = getattr(optim, name)([{"params": mine[:1]}, {"params": mine[1:], "lr": kw["lr"] / 2}], **kw)
    opt_t = getattr(torch.optim, name)([{"params": theirs[:1]}, {"params": theirs[1:], "lr": kw["lr"] / 2}], **kw)
    for grads in _grads(rng, shapes, 6):
        for p, q, g in zip(mine, theirs, grads):
            p.grad = g.copy()
            q.grad = torch.tensor(g.copy())
        opt_m.step()
        opt_t.step()
    for p, q in zip(mine, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,kw", CONFIGS)
def test_runs_on_every_backend_and_resumes_exactly(backend, name, kw):
    """A state dict taken mid-way resumes to exactly the same parameters."""
    rng = np.random.default_rng(1)
    shapes = [(2, 3), (3,)]
    init = [rng.standard_normal(s) for s in shapes]
    grads = _grads(rng, shapes, 6)

    def run(split):
        ps = [nn.Parameter(backend.asarray(a.copy())) for a in init]
        opt = getattr(optim, name)(ps, **kw)
        for k, gs in enumerate(grads):
            if k == split:
                saved = opt.state_dict()
                opt = getattr(optim, name)(ps, **kw)
                opt.load_state_dict(saved)
            for p, g in zip(ps, gs):
                p.grad = backend.asarray(g.copy())
            opt.step()
        return [backend.numpy(p.data) for p in ps]

    for a, b in zip(run(None), run(3)):
        np.testing.assert_array_equal(a, b)


def test_parameters_without_grad_are_skipped_and_zero_grad():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    assert np.all(a.data < 1) and np.all(b.data == 1) and b not in opt.state
    opt.zero_grad()
    assert a.grad is None
    a.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]


def test_bad_arguments():
    p = [nn.Parameter(np.ones(2))]
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0, got -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="SGD: nesterov must be used with momentum > 0 and dampening = 0"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be a number in \[0, 1\), got 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: weight_decay must be a finite number >= 0, got -0.1"):
        optim.AdamW(p, weight_decay=-0.1)
    with pytest.raises(ValueError, match="params must be a non-empty parameter list, got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match=r"params\[0\] of group 0 must be a Tensor"):
        optim.Adam([np.ones(2)])
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        optim.RMSprop(p, alpha=1.5)


def test_params_must_be_a_list_of_tensors_or_of_groups():
    p = nn.Parameter(np.ones((3, 2)))
    # a lone Tensor would be iterated over its rows and train nothing; torch raises a TypeError too
    with pytest.raises(TypeError, match="SGD: params must be an iterable of Tensors or of dicts .* got a single "
                                        "Parameter; wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="got a single dict"):
        optim.SGD({"params": [p]}, lr=0.1)
    with pytest.raises(TypeError, match="SGD: params must be an iterable of Tensors or of dicts .* got NoneType"):
        optim.SGD(None)
    with pytest.raises(TypeError, match="must be an ordered collection.* got a set"):
        optim.SGD({p}, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: parameter group 0 must be a dict with a 'params' entry, got \['lr'\]"):
        optim.SGD([{"lr": 0.1}])
    with pytest.raises(ValueError, match=r"SGD: params\[1\] of group 0 must be a parameter not yet in the group, "
                                         r"got 0"):
        optim.SGD([p, p])
    with pytest.raises(ValueError, match=r"params\[0\] of group 1 must be in one group only "
                                         r".* got one in group 0"):
        optim.SGD([{"params": [p]}, {"params": p}])
    with pytest.raises(TypeError, match="a parameter group must be a dict with a 'params' entry, got Parameter"):
        optim.SGD([{"params": [p]}, p])
    with pytest.raises(ValueError, match="must be a leaf Tensor .* got the result of an operation"):
        optim.SGD([p * 2])
    opt = optim.SGD([{"params": p, "lr": 0.5}], lr=0.1)             # a lone Tensor inside a group is fine, as in torch
    assert opt.param_groups[0]["params"] == [p] and opt.param_groups[0]["lr"] == 0.5


BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=None), "SGD: lr must be a finite number >= 0, got None"),
    ("SGD", dict(lr=True), "SGD: lr must be a finite number >= 0, got True"),
    ("SGD", dict(lr=float("nan")), "SGD: lr must be a finite number >= 0, got nan"),
    ("SGD", dict(lr=float("inf")), "SGD: lr must be a finite number >= 0, got inf"),
    ("SGD", dict(momentum="a"), "SGD: momentum must be a finite number >= 0, got 'a'"),
    ("SGD", dict(weight_decay=None), "SGD: weight_decay must be a finite number >= 0, got None"),
    ("SGD", dict(dampening="0"), "SGD: dampening must be a finite number, got '0'"),
    ("SGD", dict(nesterov="yes"), "SGD: nesterov must be True or False, got 'yes'"),
    ("Adam", dict(betas=(0.9,)), r"Adam: betas must be a pair of numbers in \[0, 1\), got \(0.9,\)"),
    ("Adam", dict(betas=0.9), r"Adam: betas must be a pair of numbers in \[0, 1\), got 0.9"),
    ("Adam", dict(betas=("a", "b")), r"Adam: betas\[0\] must be a number in \[0, 1\), got 'a'"),
    ("Adam", dict(eps=None), "Adam: eps must be a finite number >= 0, got None"),
    ("Adam", dict(amsgrad=None), "Adam: amsgrad must be True or False, got None"),
    ("AdamW", dict(weight_decay="0.1"), "AdamW: weight_decay must be a finite number >= 0, got '0.1'"),
    ("AdamW", dict(maximize=1), "AdamW: maximize must be True or False, got 1"),
    ("RMSprop", dict(alpha=None), r"RMSprop: alpha must be a number in \[0, 1\], got None"),
    ("RMSprop", dict(momentum=-0.5), "RMSprop: momentum must be a finite number >= 0, got -0.5"),
    ("RMSprop", dict(eps=-1e-8), "RMSprop: eps must be a finite number >= 0, got -1e-08"),
    ("RMSprop", dict(centered="no"), "RMSprop: centered must be True or False, got 'no'"),
]


@pytest.mark.parametrize("name,kw,message", BAD_HYPERPARAMETERS)
def test_hyperparameters_are_checked_with_one_kind_of_message(name, kw, message):
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)([p], **kw)
    with pytest.raises(ValueError, match=message.replace(f"{name}:", f"{name}.add_param_group:")):
        getattr(optim, name)([nn.Parameter(np.ones(2))]).add_param_group({"params": [p], **kw})


@pytest.mark.parametrize("name,kw", CONFIGS)
def test_numpy_scalar_hyperparameters_work_on_every_backend(backend, name, kw):
    """np.float32(0.1) is a learning rate like 0.1 (stored as a float: it never meets a strict array)."""
    as_numpy = {k: (np.float32(v) if isinstance(v, float) else tuple(np.float64(b) for b in v) if k == "betas" else v)
                for k, v in kw.items()}
    results = []
    for hyper in (kw, as_numpy):
        p = nn.Parameter(backend.asarray(np.linspace(-1, 1, 4)))
        opt = getattr(optim, name)([p], **hyper)
        assert all(type(opt.param_groups[0][k]) is float for k, v in kw.items() if isinstance(v, float))
        for _ in range(2):
            p.grad = backend.asarray(np.array([0.5, -1.0, 2.0, 0.25]))
            opt.step()
        results.append(backend.numpy(p.data))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def test_step_refuses_a_gradient_unlike_its_parameter(backend):
    a, b = nn.Parameter(backend.asarray(np.ones(3))), nn.Parameter(backend.asarray(np.ones(3)))
    opt = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    b.grad = backend.asarray(np.ones(4))
    with pytest.raises(ValueError, match=r"SGD.step: the .grad of parameter 0 of group 1 must be like the parameter, "
                                         r"\w+ of shape \(3,\) and dtype float64, got \w+ of shape \(4,\)"):
        opt.step()
    b.grad = backend.asarray(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="got .* of shape \\(3,\\) and dtype float32"):
        opt.step()
    b.grad = nn.Parameter(backend.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="got a Parameter"):
        opt.step()
    assert backend.numpy(a.data).tolist() == [1.0, 1.0, 1.0]


def test_load_state_dict_checks_shapes_and_changes_nothing_on_error():
    a = nn.Parameter(np.ones(3))
    opt = optim.Adam([a], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    b = nn.Parameter(np.ones(4))
    other = optim.Adam([b], lr=0.5)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: the saved 'exp_avg' of parameter 0 must be of its "
                                         r"parameter's shape \(4,\), "
                                         r"got shape \(3,\)"):
        other.load_state_dict(saved)
    assert other.state == {} and other.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state_dict must be a dict with 'state' and 'param_groups'"):
        other.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match=r"the saved state's keys must be among the saved params "
                                         r"\[0\], got 3"):
        other.load_state_dict({"state": {3: {}}, "param_groups": saved["param_groups"]})
    bad = {"state": {}, "param_groups": [{**saved["param_groups"][0], "betas": [0.9]}]}
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: betas must be a pair"):
        other.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: saved state 0 must be a dict, got int"):
        other.load_state_dict({"state": {0: 5}, "param_groups": saved["param_groups"]})
    two = optim.Adam([nn.Parameter(np.ones(3)), nn.Parameter(np.ones(3))]).state_dict()
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: the saved groups must be of this optimizer's sizes "
                                         r"\[1\], got sizes \[2\]"):
        other.load_state_dict(two)
    assert other.state == {} and other.param_groups[0]["lr"] == 0.5


@pytest.mark.reference
def test_add_param_group_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    init = [rng.standard_normal(3), rng.standard_normal(2)]
    mine = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt_m, opt_t = optim.Adam(mine[:1], lr=0.1), torch.optim.Adam(theirs[:1], lr=0.1)
    for k in range(4):
        if k == 2:                                                  # the second parameter joins half-way
            opt_m.add_param_group({"params": mine[1:], "lr": 0.05, "betas": (0.5, 0.9)})
            opt_t.add_param_group({"params": theirs[1:], "lr": 0.05, "betas": (0.5, 0.9)})
        for p, q in zip(mine, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = g.copy(), torch.tensor(g)
        opt_m.step()
        opt_t.step()
    assert [g["lr"] for g in opt_m.param_groups] == [g["lr"] for g in opt_t.param_groups]
    for p, q in zip(mine, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12)


def test_add_param_group_checks_like_the_constructor():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="SGD.add_param_group: .*a parameter appears in more than one group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="SGD.add_param_group: a parameter group must be a dict .* got list"):
        opt.add_param_group([b])
    with pytest.raises(ValueError, match="SGD.add_param_group: parameter group 1 must be a dict with a 'params' entry"):
        opt.add_param_group({"lr": 0.1})
    assert len(opt.param_groups) == 1                                # nothing was added by the failed calls
    opt.add_param_group({"params": b})
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9


# ---------------------------------------------------------------------------- clipping

@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm(backend, norm_type):
    rng = np.random.default_rng(2)
    gs = [rng.standard_normal((3, 4)) * 5, rng.standard_normal(7)]
    ps = [nn.Parameter(backend.asarray(np.zeros_like(g))) for g in gs]
    for p, g in zip(ps, gs):
        p.grad = backend.asarray(g.copy())
    flat = np.concatenate([g.ravel() for g in gs])
    expected = np.max(np.abs(flat)) if norm_type == math.inf else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    total = clip_grad_norm_(ps, 1.0, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    for p, g in zip(ps, gs):
        np.testing.assert_allclose(backend.numpy(p.grad), g * (1.0 / (expected + 1e-6)), rtol=1e-12)
    before = [backend.numpy(p.grad).copy() for p in ps]
    clip_grad_norm_(ps, 100.0, norm_type=norm_type)                # under the limit: unchanged
    for p, b in zip(ps, before):
        np.testing.assert_allclose(backend.numpy(p.grad), b, rtol=1e-12)


def test_clip_grad_norm_nonfinite_and_arguments():
    p = nn.Parameter(np.zeros(2))
    p.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm must be a non-negative number"):
        clip_grad_norm_([p], -1.0)
    assert clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0
    for bad in ("abc", None, True, float("nan")):
        with pytest.raises(ValueError, match=f"clip_grad_norm_: norm_type must be a number, inf or 'inf', "
                                             f"got {re.escape(repr(bad))}"):
            clip_grad_norm_([p], 1.0, norm_type=bad)
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be a non-negative number, got '1'"):
        clip_grad_norm_([p], "1")
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[0\] must be a Tensor, got ndarray"):
        clip_grad_norm_([np.ones(2)], 1.0)


# the example that the next two tests share: two gradients, each holding a zero
CLIP_GRADS = [np.array([1.0, 0.0, 2.0]), np.array([0.0, 3.0])]
CLIP_TOTALS = {0: 2.0, "inf": 3.0, math.inf: 3.0, "-inf": 0.0, -1: 0.0, 1: 6.0, 2: math.sqrt(14.0)}


@pytest.mark.parametrize("norm_type", list(CLIP_TOTALS))
def test_clip_grad_norm_orders(backend, norm_type):
    """0 counts the gradients that hold a nonzero (torch's norm of per-gradient norms); NumPy scalars pass."""
    ps = [nn.Parameter(backend.asarray(np.zeros_like(g))) for g in CLIP_GRADS]
    for p, g in zip(ps, CLIP_GRADS):
        p.grad = backend.asarray(g.copy())
    total = clip_grad_norm_(ps, np.float32(1.5), norm_type=norm_type)
    expected = CLIP_TOTALS[norm_type]
    assert total.item() == pytest.approx(expected, rel=1e-12)
    for p, g in zip(ps, CLIP_GRADS):
        np.testing.assert_allclose(backend.numpy(p.grad), g * min(1.0, 1.5 / (expected + 1e-6)), rtol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("norm_type", list(CLIP_TOTALS) + [np.float32(3.0), -0.5, 0.5])
def test_clip_grad_norm_orders_match_torch(norm_type):
    torch = pytest.importorskip("torch")
    ps = [nn.Parameter(np.zeros_like(g)) for g in CLIP_GRADS]
    qs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in CLIP_GRADS]
    for p, q, g in zip(ps, qs, CLIP_GRADS):
        p.grad, q.grad = g.copy(), torch.tensor(g.copy())
    theirs = torch.nn.utils.clip_grad_norm_(qs, 1.5, norm_type=norm_type if isinstance(norm_type, str) else float(norm_type))
    np.testing.assert_allclose(clip_grad_norm_(ps, 1.5, norm_type=norm_type).item(), theirs.item(), rtol=1e-12)
    for p, q in zip(ps, qs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)


@pytest.mark.reference
def test_clip_matches_torch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(3).standard_normal((5, 5)) * 3
    p, q = nn.Parameter(np.zeros((5, 5))), torch.zeros((5, 5), dtype=torch.float64, requires_grad=True)
    p.grad, q.grad = g.copy(), torch.tensor(g.copy())
    a, b = clip_grad_norm_([p], 0.5), torch.nn.utils.clip_grad_norm_([q], 0.5)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------- schedules

def _lrs(sched, n):
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


@pytest.mark.reference
@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=3, gamma=0.5)), ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
                                     ("LambdaLR", dict(lr_lambda=lambda s: 1 / (1 + s)))])
def test_schedules_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    mine = getattr(lr_scheduler, name)(optim.SGD([nn.Parameter(np.zeros(1))], lr=0.3), **kw)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3), **kw)
    np.testing.assert_allclose(_lrs(mine, 10), _lrs(theirs, 10), rtol=1e-12)


def test_warmup_then_cosine():
    opt = optim.AdamW([nn.Parameter(np.zeros(1))], lr=1.0)
    lrs = _lrs(lr_scheduler.get_cosine_schedule_with_warmup(opt, 4, 12), 12)
    np.testing.assert_allclose(lrs[:5], [0.0, 0.25, 0.5, 0.75, 1.0])
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:])), "decays monotonically after warmup"
    np.testing.assert_allclose(lrs[8], 0.5, atol=1e-12)             # half-way through the cosine
    assert lrs[12] == pytest.approx(0.0, abs=1e-12)
    floor = _lrs(lr_scheduler.get_cosine_schedule_with_warmup(optim.SGD([nn.Parameter(np.zeros(1))], lr=2.0), 0, 10,
                                                             min_lr_ratio=0.1), 10)
    assert floor[-1] == pytest.approx(0.2)
    lin = _lrs(lr_scheduler.get_linear_schedule_with_warmup(optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0), 2, 6), 6)
    np.testing.assert_allclose(lin, [0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0])


def test_scheduler_state_round_trip_and_errors():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    s = lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        s.step()
    state = s.state_dict()
    s2 = lr_scheduler.StepLR(optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0), step_size=2)
    s2.load_state_dict(state)
    s.step()
    s2.step()
    assert s.get_last_lr() == s2.get_last_lr()
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match=r"StepLR.load_state_dict: state must be a dict as state_dict\(\) returns, "
                                         "got list"):
        s2.load_state_dict([state])
    with pytest.raises(ValueError, match="num_training_steps must be an integer >= 11"):
        lr_scheduler.get_cosine_schedule_with_warmup(opt, 10, 5)


def test_scheduler_arguments():
    def opt():
        return optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    cases = [
        (lambda: lr_scheduler.StepLR(opt(), step_size=True), "StepLR: step_size must be a positive integer, got True"),
        (lambda: lr_scheduler.StepLR(opt(), 2, gamma="0.5"), "StepLR: gamma must be a finite number >= 0, got '0.5'"),
        (lambda: lr_scheduler.CosineAnnealingLR(opt(), 5, eta_min=None), "eta_min must be a finite number >= 0"),
        (lambda: lr_scheduler.StepLR(opt(), 2, last_epoch=-2), "StepLR: last_epoch must be an integer >= -1"),
        (lambda: lr_scheduler.StepLR(opt(), 2, last_epoch=4), "needs 'initial_lr' in every param group"),
        (lambda: lr_scheduler.get_cosine_schedule_with_warmup(opt(), 1, 5, min_lr_ratio=2),
         r"min_lr_ratio must be a number in \[0, 1\], got 2"),
        (lambda: lr_scheduler.get_linear_schedule_with_warmup(opt(), 1.0, 5), "num_warmup_steps must be a non-neg"),
        (lambda: lr_scheduler.get_cosine_schedule_with_warmup(opt(), 1, 5, num_cycles=-0.5),
         "get_cosine_schedule_with_warmup: num_cycles must be a finite number >= 0, got -0.5"),
        (lambda: lr_scheduler.CosineAnnealingLR(opt(), 0),
         "CosineAnnealingLR: T_max must be a positive integer, got 0"),
        (lambda: lr_scheduler.LambdaLR(opt(), [abs, abs]), r"LambdaLR: lr_lambda must be one function or a list of 1, got a list of 2"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(TypeError, match=r"StepLR: optimizer must be a minigen.optim optimizer \(SGD, Adam, ...\), got list"):
        lr_scheduler.StepLR([], 2)
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must be a function of the step .* got float"):
        lr_scheduler.LambdaLR(opt(), 0.5)
    # NumPy ints are ints, as everywhere in minigen (bools are refused above)
    assert lr_scheduler.StepLR(opt(), np.int64(2), last_epoch=np.int32(-1)).step_size == 2
    assert lr_scheduler.get_linear_schedule_with_warmup(opt(), np.int64(1), np.int64(5)).last_epoch == 0
    assert lr_scheduler.StepLR(opt(), np.int64(2), gamma=np.float32(0.5)).step_size == 2   # NumPy scalars pass
