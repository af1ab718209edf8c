"""Policy-gradient losses: REINFORCE with a baseline, GRPO's group advantages, and a KL penalty to a reference.

The score-function (REINFORCE) identity turns the gradient of an expected reward,
whose samples y cannot be differentiated, into an expectation that can be sampled:

    grad E_{y ~ p_theta}[R(y)] = E_y[(R(y) - b) grad log p_theta(y)]

for any baseline b that does not depend on y (E_y[grad log p(y)] = grad sum_y p(y) = 0,
so b changes the variance, never the mean). With log p(y) = sum_t log p(y_t | y_<t),
``reinforce_loss`` is the surrogate whose gradient is that estimator, averaged over a
batch. Shapes: B = batch, T = generated tokens (T_new of ``sequence_log_probs``).
"""

from __future__ import annotations

from .. import backend, rules
from ..autograd import Tensor, as_tensor
from ..backend import array_namespace, host
from .rewards import as_numbers

__all__ = ["reinforce_loss", "MovingAverageBaseline", "group_advantages", "kl_penalty"]

_BASELINE = "None, a number, an array of rewards' shape or (B,), or a MovingAverageBaseline"
_KINDS = ("k1", "k2", "k3")


class MovingAverageBaseline:
    """An exponential moving average of past rewards, used as the baseline b of ``reinforce_loss``.

        avg_n = decay * avg_{n-1} + (1 - decay) * mean(rewards of batch n),   avg_0 = 0
        value = avg_n / (1 - decay^n)        (Adam's bias correction; 0 before any batch)

    ``reinforce_loss(..., baseline=this)`` reads ``value`` first and only then calls
    ``update`` with the batch's rewards, so the baseline of a batch never depends on
    that batch: the estimator stays unbiased. ``value`` is a Python float.

    >>> b = MovingAverageBaseline(decay=0.5)
    >>> b.value, b.update([1.0, 3.0]), b.update([4.0])
    (0.0, 2.0, 3.3333333333333335)
    """

    def __init__(self, decay: float = 0.9):
        self.decay = rules.real("MovingAverageBaseline", "decay", decay, 0, 1, hi_open=True)
        self.average, self.count = 0.0, 0

    @property
    def value(self) -> float:
        return self.average / (1 - self.decay ** self.count) if self.count else 0.0

    def update(self, rewards) -> float:
        """Fold the mean of ``rewards`` (a number or numbers of any shape) into the average; returns the new value."""
        r = rules.array_of(rewards)
        r = backend.to_numpy(r) if backend.is_array(r) else r                        # one explicit copy to the host
        r = as_numbers("MovingAverageBaseline.update", "rewards", r, host.zeros(0), [(), ("B",), ("B", "T")])
        return self._fold(float(r.mean()))

    def _fold(self, mean: float) -> float:
        self.average = self.decay * self.average + (1 - self.decay) * mean
        self.count += 1
        return self.value

    def __repr__(self):
        return f"MovingAverageBaseline(decay={self.decay}, value={self.value:.6g}, count={self.count})"


def _baseline(fn: str, baseline, R, m, like):
    """The baseline as a number or an array like ``R``; a ``MovingAverageBaseline`` is read, then updated."""
    if baseline is None:
        return 0.0
    if isinstance(baseline, MovingAverageBaseline):
        b, xp = baseline.value, array_namespace(R)                  # read before this batch is folded in
        mean = xp.mean(R) if m is None or R.ndim == 1 else xp.sum(R * m) / xp.sum(m)    # over real tokens
        baseline._fold(float(backend.to_numpy(mean)))
        return b
    if rules.is_real(baseline):
        return rules.real(fn, "baseline", baseline)
    rules.require(backend.is_array(rules.array_of(baseline)), fn, "baseline", _BASELINE, rules.describe(baseline),
                  TypeError)
    b = as_numbers(fn, "baseline", baseline, like, [tuple(R.shape), (R.shape[0],)], like.dtype, like_name="log_probs")
    return b[:, None] if b.ndim < R.ndim else b                       # (B,) against per-token rewards


def reinforce_loss(log_probs, rewards, baseline=None, mask=None):
    """The REINFORCE surrogate loss: its gradient is minus the score-function estimate of grad E[R].

    Per-sequence rewards R (B,), and A_b = R_b - b_b:

        loss = -1/B sum_b A_b sum_t mask_bt log_probs_bt
        -grad loss = 1/B sum_b (R_b - b_b) grad log p(y_b)

    Per-token rewards Q (B, T) (rollout rewards, or any per-token advantages), A_bt = Q_bt - b_bt:

        loss = -1/B sum_b sum_t mask_bt A_bt log_probs_bt

    which is SeqGAN's grad J = sum_t Q(y_<t, y_t) grad log p(y_t | y_<t). Tokens are summed,
    not averaged per row (GRPO's per-length average biases the gradient by the length);
    divide the advantages yourself for that.

    - ``log_probs``: (B, T) Tensor, from ``sequence_log_probs`` (with gradient).
    - ``rewards``: (B,) or (B, T) numbers (a list, an array, a Tensor: constants, no gradient).
    - ``baseline``: None (0), a number, an array of the rewards' shape or (B,), or a
      ``MovingAverageBaseline`` (its value before this batch; then it is updated with
      the batch's mean reward, over the masked tokens for per-token rewards). For GRPO,
      pass ``group_advantages(rewards, G)`` as the rewards and no baseline.
    - ``mask``: (B, T) booleans, False where a token is padding (``completion_mask``).

    >>> import numpy as np, minigen
    >>> lp = minigen.tensor(np.log([[0.5, 0.5], [0.25, 1.0]]), requires_grad=True)
    >>> loss = reinforce_loss(lp, [1.0, 3.0], baseline=2.0)
    >>> loss.backward()
    >>> lp.grad.tolist()                     # -(R - b) / B on every token
    [[0.5, 0.5], [-0.5, -0.5]]
    """
    fn = "reinforce_loss"
    log_probs = as_tensor(rules.floating_array(fn, "log_probs", log_probs, ("B", "T")))
    like = log_probs.data
    B, T = log_probs.shape
    R = as_numbers(fn, "rewards", rewards, like, [(B,), (B, T)], like.dtype, like_name="log_probs")
    m = None
    if mask is not None:
        m = rules.array_of(mask)
        ok = backend.is_array(m) and backend._dtype_name(m.dtype) == "bool"
        rules.require(ok, fn, "mask", "a boolean array (completion_mask)", rules.describe(m), TypeError)
        rules.same_device(fn, log_probs=like, mask=m)
        rules.require(tuple(m.shape) == (B, T), fn, "mask", f"of shape {(B, T)}", f"shape {tuple(m.shape)}")
        m = array_namespace(m).astype(m, like.dtype)                  # (B, T) of 0.0 and 1.0
    A = R - _baseline(fn, baseline, R, m, like)                      # (B,) or (B, T): the advantages
    if A.ndim == 1:
        A = A[:, None]                                               # (B, 1): the row's advantage on every token
    if m is not None:
        A = A * m                                                    # padding scores nothing
    return -(log_probs * A).sum() / B


def group_advantages(rewards, group_size: int, eps: float = 1e-4):
    """GRPO's advantages: each reward standardised within its group of ``group_size`` consecutive samples.

        A_i = (r_i - mean_g) / (std_g + eps)

    over the group g of sample i: samples g*G .. g*G+G-1, G completions of one prompt (as
    ``generate(..., num_return_sequences=G)`` lays them out). ``std_g`` is the sample
    standard deviation (divisor G - 1, as ``torch.std`` and TRL use); ``eps`` > 0 keeps a
    group of equal rewards at 0. The group mean includes the sample itself, so the
    estimator is slightly biased (RLOO's leave-one-out mean is not); the scaling by 1/std
    changes the step size per prompt. Returns float64 (B,) on the rewards' device.

    >>> group_advantages([1.0, 3.0, 5.0, 5.0], group_size=2).round(4).tolist()
    [-0.7071, 0.7071, 0.0, 0.0]
    """
    fn = "group_advantages"
    r = rules.array_of(rewards)
    r = as_numbers(fn, "rewards", r, r if backend.is_array(r) else host.zeros(0), [("B",)])
    B = r.shape[0]
    G = rules.integer(fn, "group_size", group_size, 2)
    rules.require(B % G == 0, fn, "group_size", f"a divisor of the batch size {B}", G)
    eps = rules.real(fn, "eps", eps, 0, lo_open=True)
    xp = array_namespace(r)
    g = xp.reshape(r, (B // G, G))                                   # (groups, G)
    mean = xp.mean(g, axis=1, keepdims=True)                         # (groups, 1)
    std = xp.sqrt(xp.sum((g - mean) ** 2, axis=1, keepdims=True) / (G - 1))
    return xp.reshape((g - mean) / (std + eps), (B,))


def kl_penalty(log_probs, ref_log_probs, kind: str = "k3"):
    """A per-token estimate (B, T) of KL(p || p_ref), from the sampled tokens' log-probabilities.

    With r = log p_ref(y_t) - log p(y_t) for a token y_t sampled from p (John Schulman's
    "Approximating KL divergence" estimators):

        k1 = -r                          unbiased, but negative for some tokens
        k2 = r^2 / 2                     biased, always >= 0, low variance
        k3 = exp(r) - r - 1              unbiased and always >= 0 (GRPO's choice, the default)

    k1 and k3 have expectation KL(p(.|y_<t) || p_ref(.|y_<t)) at each position, so their
    sum over t has expectation the KL between the two models' sequence distributions.
    The gradient flows into ``log_probs`` (B, T) only; ``ref_log_probs`` (the frozen
    reference model's, same shape) is a constant.

    >>> import numpy as np, minigen
    >>> lp = minigen.tensor(np.log([[0.5, 0.2]]))
    >>> kl_penalty(lp, np.log([[0.5, 0.4]])).numpy().round(4).tolist()     # exp(log 2) - log 2 - 1
    [[0.0, 0.3069]]
    """
    fn = "kl_penalty"
    log_probs = as_tensor(rules.floating_array(fn, "log_probs", log_probs, ("B", "T")))
    like = log_probs.data
    ref = as_numbers(fn, "ref_log_probs", ref_log_probs, like, [tuple(like.shape)], like.dtype, like_name="log_probs")
    rules.choice(fn, "kind", kind, _KINDS)
    if kind == "k1":
        return log_probs - ref                                       # log p / p_ref
    if kind == "k2":
        d = log_probs - ref
        return 0.5 * d * d
    r = Tensor(ref) - log_probs                                      # log p_ref / p
    return r.exp() - r - 1.0
