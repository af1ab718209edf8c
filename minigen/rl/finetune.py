"""``Finetuner``: REINFORCE fine-tuning of a trained language model toward a reward, held near the original by a KL
penalty, with checkpoints that resume exactly.

One step (B = batch, P = prompt tokens, T = new tokens, V = vocabulary):

1. prompts: B random P-token windows of the training ids;
2. the policy writes T tokens after each, on-policy: ``generate(do_sample=True, top_k=0)`` at
   temperature 1, in evaluation mode, with no graph;
3. ``logp_t`` = log pi(y_t | y_<t), in the graph (training mode), and ``logp_ref_t``, the same
   under the frozen reference model (the model as it was before fine-tuning);
4. per-token rewards, the task's reward less the KL penalty (the k1 estimate of
   KL(pi || pi_ref) as a reward, as RLHF's PPO setups do)::

       r_t = reward_t - beta * (logp_t - logp_ref_t)

   A reward of one number per sequence is ``reward_T`` (the last token), 0 before;
5. returns-to-go G_t = sum_{s >= t} r_s (no discount), a baseline per position (the batch's
   mean), and one scale for the whole batch::

       A_bt = (G_bt - mean_b G_bt) / std(A)

   so a token is credited only with what follows it: a banned letter at t lowers G for
   t and the tokens before it, not after;
6. the surrogate loss -mean_bt(A_bt * logp_bt), whose gradient is the REINFORCE estimate
   (``reinforce_loss`` with the per-token advantages A / T: it sums over tokens and
   divides by B), then the gradient clipped to norm ``grad_clip`` and one Adam step.

The reported ``reward`` is the task's reward per completion (summed over its tokens,
averaged over the batch), and ``kl`` the KL estimate per completion: the mean over the
batch of sum_t (logp_t - logp_ref_t), in nats.
"""

from __future__ import annotations

import copy
import math
import os
import time

from .. import backend, rules
from ..autograd import no_grad
from ..backend import array_namespace, host
from ..checkpoint import Checkpoint, entries_of, load_checkpoint, save_checkpoint
from ..data.batching import random_windows
from ..nn.utils import clip_grad_norm_
from ..optim import Adam
from ..sample.generate import generate
from ..train.trainer import CHECKPOINT_NAME, TrainingError, catch_sigint
from .log_probs import sequence_log_probs
from .policy import reinforce_loss
from .rewards import as_numbers

__all__ = ["Finetuner", "log_line"]

_REWARD = "a function of completions (B, T) -> (B,) or (B, T) numbers"


class Finetuner:
    """Fine-tune ``model`` by REINFORCE on ``reward``, with a KL penalty to ``reference`` (see the module's docstring).

    Args:
        model: a minigen language model (``RNNLanguageModel``, ``GPT``); it is trained in place.
        reward: ``reward(completions)``, completions a host (B, T) array of the new ids,
            returning (B, T) per-token rewards or (B,) per-sequence ones (given at the last
            token). One with ``state_dict``/``load_state_dict`` (``DiscriminatorReward``) is
            saved in the checkpoints.
        train_ids: 1-D host ids; the prompts are random windows of them.
        reference: the frozen model of the KL penalty (None: a copy of ``model`` as it is now).
        tokenizer: saved in the checkpoints, so that ``minigen sample`` reads them.
        kl_coef: beta >= 0. batch_size: B. prompt_length: P. new_tokens: T.
        lr, grad_clip: Adam's learning rate, the gradient's maximum norm (None: no clipping).
        max_steps, time_budget: stop after this many steps or seconds, whichever first.
        checkpoint_dir, checkpoint_every: where ``checkpoint.safetensors`` is written
            (atomically), every this many steps and at the end. log_every: steps per printed line.
        progress: a tqdm bar. seed: the prompts' and the samples' generator.
        run_config, finetune_config: dicts saved as ``extra.run`` and ``extra.finetune``.

    ``fit()`` returns the history: one ``{"step", "reward", "kl"}`` per step. ``resume(path)``
    continues from a checkpoint bit for bit (the weights, Adam's moments, both random
    generators, the reference and the reward's state are all in it).
    """

    def __init__(self, model, reward, train_ids, *, reference=None, tokenizer=None, kl_coef: float = 0.05,
                 batch_size: int = 32, prompt_length: int = 16, new_tokens: int = 96, lr: float = 3e-4,
                 grad_clip: float | None = 1.0, max_steps: int | None = None, time_budget: float | None = None,
                 checkpoint_dir=None, checkpoint_every: int = 50, log_every: int = 10, progress: bool = True,
                 seed: int = 0, run_config: dict | None = None, finetune_config: dict | None = None, log=None):
        fn = "Finetuner"
        rules.require(callable(reward), fn, "reward", _REWARD, rules.describe(reward), TypeError)
        self.batch_size, self.prompt_length, self.new_tokens, self.checkpoint_every, self.log_every = \
            rules.positive_ints(fn, batch_size=batch_size, prompt_length=prompt_length, new_tokens=new_tokens,
                                checkpoint_every=checkpoint_every, log_every=log_every)
        self.max_steps = rules.positive_int(fn, "max_steps", max_steps, optional=True)
        self.time_budget = rules.real(fn, "time_budget", time_budget, 0, lo_open=True, optional=True)
        ends = self.max_steps is not None or self.time_budget is not None
        rules.require(ends, fn, "max_steps or time_budget", "given (or both), so that fine-tuning ends", "neither")
        self.kl_coef = rules.real(fn, "kl_coef", kl_coef, 0)
        self.grad_clip = rules.real(fn, "grad_clip", grad_clip, 0, lo_open=True, optional=True)
        self.progress = rules.flag(fn, "progress", progress)
        self.train_ids = host.asarray(train_ids)
        random_windows(self.train_ids, 1, self.prompt_length, host.random.default_rng(0))    # checks the ids
        self.model, self.reward, self.tokenizer = model, reward, tokenizer
        self.reference = (reference if reference is not None else copy.deepcopy(model)).eval()
        self.optimizer = Adam(model.parameters(), lr=rules.real(fn, "lr", lr, 0, lo_open=True))
        self.rng = host.random.default_rng(rules.non_negative_int(fn, "seed", seed))
        self.run_config, self.finetune_config = dict(run_config or {}), dict(finetune_config or {})
        self.checkpoint_path = os.path.join(os.fspath(checkpoint_dir), CHECKPOINT_NAME) if checkpoint_dir else None
        self.log = log or _log
        self.step, self.elapsed, self.history = 0, 0.0, []
        self.last_batch = None                  # the ids (B, P + T) of the last step, for inspection
        self.should_stop = self.interrupted = False

    # ------------------------------------------------------------------ one step
    def task_rewards(self, completions):
        """The reward's per-token rewards (B, T), float64 on the host: a per-sequence reward at the last token."""
        B, T = completions.shape
        r = as_numbers("Finetuner", "reward", self.reward(completions), host.zeros(0), [(B,), (B, T)],
                       returned=f"(B,) or (B, T) numbers for completions of shape {(B, T)}")
        if r.ndim == 1:
            r = host.concatenate([host.zeros((B, T - 1)), r[:, None]], axis=1)        # (B, T): all at the end
        return r

    def train_step(self) -> dict:
        """One fine-tuning step; returns ``{"step", "reward", "kl"}`` for its batch."""
        B, P, T = self.batch_size, self.prompt_length, self.new_tokens
        like = next(iter(self.model.parameters())).data
        prompts, _ = random_windows(self.train_ids, B, P, self.rng)                    # (B, P)
        self.model.eval()                                                               # sample as `sample` does
        with no_grad():
            ids = generate(self.model, backend.asarray_like(prompts, like), T, do_sample=True, top_k=0,
                           seed=int(self.rng.integers(2**63)))                          # (B, P + T)
        self.model.train()
        log_probs = sequence_log_probs(self.model, ids, P)                             # (B, T), in the graph
        with no_grad():
            ref = sequence_log_probs(self.reference, ids, P).data                      # (B, T)
        xp = array_namespace(like)
        task = backend.asarray_like(self.task_rewards(backend.to_numpy(ids)[:, P:]), like)            # (B, T)
        task = xp.astype(task, xp.float64)
        kl = xp.astype(log_probs.data, xp.float64) - xp.astype(ref, xp.float64)       # (B, T): k1 per token
        r = task - self.kl_coef * kl                                                   # (B, T)
        G = xp.flip(xp.cumulative_sum(xp.flip(r, axis=1), axis=1), axis=1)             # (B, T): returns-to-go
        A = G - xp.mean(G, axis=0, keepdims=True)                                      # baseline per position
        A = A / (xp.std(A) + 1e-8)
        loss = reinforce_loss(log_probs, A / T)                                        # -mean_bt(A * logp)
        self.optimizer.zero_grad()
        loss.backward()
        norm = float(clip_grad_norm_(self.model.parameters(), self.grad_clip or math.inf).item())
        if not math.isfinite(norm):
            raise TrainingError(f"fine-tuning stopped at step {self.step + 1}: the gradient norm is {norm}; "
                                "resume from the last checkpoint with a lower learning rate")
        self.optimizer.step()
        self.step += 1
        self.last_batch = ids
        metrics = {"step": self.step, "reward": _number(xp.mean(xp.sum(task, axis=1))),
                   "kl": _number(xp.mean(xp.sum(kl, axis=1)))}
        self.history.append(metrics)
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path=None) -> None:
        """Write the policy (a model ``minigen sample`` reads), Adam, the loop's state, the reference and the
        reward's state, atomically (default: ``checkpoint_dir``)."""
        path = path or self.checkpoint_path
        if path is None:
            return
        arrays = {f"reference.{k}": v for k, v in self.reference.state_dict().items()}
        if callable(getattr(self.reward, "state_dict", None)):
            arrays.update({f"reward.{k}": v for k, v in self.reward.state_dict().items()})
        loop = {"step": self.step, "elapsed": self.elapsed, "history": self.history,
                "rng": self.rng.bit_generator.state}
        save_checkpoint(path, self.model, self.optimizer, tokenizer=self.tokenizer, step=self.step, arrays=arrays,
                        extra={"run": self.run_config, "finetune": self.finetune_config, "finetuner": loop})

    def resume(self, checkpoint=None) -> None:
        """Continue from a checkpoint this class wrote (default: ``checkpoint_dir``'s), every entry checked."""
        ck = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint or self.checkpoint_path)
        with entries_of(ck.path) as fn:
            loop = rules.instance(fn, "extra.finetuner", ck.meta["extra"].get("finetuner"), dict, "an object")
            saved = ck.meta["step"]
            step = rules.non_negative_int(fn, "extra.finetuner.step", loop.get("step"))
            rules.require(step == saved, fn, "extra.finetuner.step", f"the checkpoint's step, {saved}", step)
            elapsed = rules.real(fn, "extra.finetuner.elapsed", loop.get("elapsed"), 0)
            history = rules.instance(fn, "extra.finetuner.history", loop.get("history"), list, "a list")
            for i, h in enumerate(history):
                ok = isinstance(h, dict) and all(rules.is_real(h.get(k)) for k in ("step", "reward", "kl"))
                rules.require(ok, fn, f"extra.finetuner.history[{i}]", "a {step, reward, kl} object", h)
            rules.require(ck.optimizer_state is not None, fn, "optimizer", "Adam's state", "null")
            self.model.load_state_dict(ck.model_state)
            self.optimizer.load_state_dict(ck.optimizer_state)
            self.reference.load_state_dict(_prefixed(ck.arrays, "reference."))
            if callable(getattr(self.reward, "load_state_dict", None)):
                self.reward.load_state_dict(_prefixed(ck.arrays, "reward."))
            self.rng.bit_generator.state = loop.get("rng")
        backend.set_rng_state(ck.meta["rng_state"])
        self.step, self.elapsed, self.history = step, elapsed, history

    # ------------------------------------------------------------------ the loop
    def _done(self) -> bool:
        return ((self.max_steps is not None and self.step >= self.max_steps)
                or (self.time_budget is not None and self.elapsed >= self.time_budget))

    def fit(self) -> list:
        """Fine-tune until ``max_steps`` or ``time_budget``, printing the reward and the KL; returns the history.

        Every ``log_every`` steps a line gives their mean reward and KL per completion. Ctrl-C
        stops after the current step with a checkpoint (a second one stops at once).
        """
        from tqdm.auto import tqdm

        by_steps = self.max_steps is not None
        bar = tqdm(total=self.max_steps if by_steps else int(self.time_budget), unit="step" if by_steps else "s",
                   initial=self.step if by_steps else int(self.elapsed), disable=not self.progress,
                   dynamic_ncols=True)
        previous_log = self.log
        if self.progress:
            self.log = lambda text: tqdm.write(text)
        restore_sigint = catch_sigint(self)
        start = time.perf_counter() - self.elapsed
        try:
            while not self._done() and not self.should_stop:
                self.train_step()
                self.elapsed = time.perf_counter() - start
                recent = self.history[-self.log_every:]
                bar.set_postfix_str(f"reward {_mean(recent, 'reward'):.3f}, kl {_mean(recent, 'kl'):.3f}",
                                    refresh=False)
                bar.update((self.step if by_steps else int(self.elapsed)) - bar.n)
                if self.step % self.log_every == 0 or self._done() or self.should_stop:
                    self.log(log_line(self.history, self.step, self.elapsed, self.log_every))
                if self.step % self.checkpoint_every == 0 or self._done() or self.should_stop:
                    self.save_checkpoint()
            if self.should_stop:
                self.log(f"stopped at step {self.step}" + (f"; resume from {self.checkpoint_path}"
                                                           if self.checkpoint_path else ""))
        finally:
            bar.close()
            restore_sigint()
            self.log = previous_log
        return self.history


def log_line(history: list, step: int, elapsed: float, every: int) -> str:
    """``step     20    0:17  reward -8.125  kl 0.412``: the means over the steps since the last line (at most
    ``every``, the last ones up to ``step``)."""
    recent = [h for h in history if step - every < h["step"] <= step]
    m, s = divmod(int(elapsed), 60)
    return f"step {step:>6}  {m:>3}:{s:02d}  reward {_mean(recent, 'reward'):.4f}  kl {_mean(recent, 'kl'):.4f}"


def _mean(history: list, key: str) -> float:
    return sum(h[key] for h in history) / len(history) if history else float("nan")


def _number(x) -> float:
    return float(backend.to_numpy(x))                   # one explicit copy to the host


def _prefixed(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _log(text: str) -> None:
    print(text, flush=True)
