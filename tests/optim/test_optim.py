"""Optimizers, clipping and schedules: the same updates as torch.optim, state dicts, bad arguments."""

import math

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
    with pytest.raises(ValueError, match="SGD: lr must be a non-negative number, got -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="nesterov momentum needs momentum > 0 and dampening = 0"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be in \[0, 1\), got 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: weight_decay must be >= 0"):
        optim.AdamW(p, weight_decay=-0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="params must be Tensors"):
        optim.Adam([np.ones(2)])
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        optim.RMSprop(p, alpha=1.5)


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
    with pytest.raises(ValueError, match="num_training_steps must be an integer > num_warmup_steps"):
        lr_scheduler.get_cosine_schedule_with_warmup(opt, 10, 5)
