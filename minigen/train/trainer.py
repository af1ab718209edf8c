"""``Trainer``: the training loop of a language model, with checkpoints that survive ``kill -9``.

One step reads a batch of B rows of T token ids and their next-token targets,
runs the model, takes the mean cross-entropy, backpropagates, clips the gradient
norm and lets the optimizer update the weights:

    logits, state = model(x, state)          # (B, T, V); the state is carried (truncated BPTT)
    loss = cross_entropy(logits, y)          # nats per token
    loss.backward(); clip_grad_norm_(...); optimizer.step()

A recurrent model (one with ``detach_state``) reads the training ids as B contiguous
streams and carries its hidden state from batch to batch, cut from the graph; each
step some rows start again from the model's initial state (``fresh_state_every``),
because generation starts from it: zeros, or a learned state that the step trains.
Any other model gets windows at random offsets.

Every ``eval_interval`` steps the trainer measures the validation loss (with its
perplexity ``e^loss`` and bits per character), writes a checkpoint atomically, and
then calls the callbacks. The checkpoint holds everything the loop needs to go on:
weights, optimizer moments, the step, the data position, the carried hidden state
and the random generators, so ``resume`` continues a killed run exactly as if it
had never stopped (bit for bit on CPU, for runs limited by steps).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from functools import partial

import numpy as np

from .. import backend, functional as F, rules
from ..autograd import Tensor, no_grad
from ..checkpoint import Checkpoint, CheckpointError, entries_of, load_checkpoint, save_checkpoint
from ..data.batching import StreamBatcher, random_windows
from ..distributed import SINGLE
from ..nn.utils import clip_grad_norm_

__all__ = ["Trainer", "TrainingError", "loop_state"]

CHECKPOINT_NAME = "checkpoint.safetensors"


class TrainingError(RuntimeError):
    """Training stopped because the loss or the gradient stopped being a finite number."""


# The training loop's state, as Trainer.save_checkpoint writes it (extra.trainer): entry -> rule.
LOOP = {"step": rules.non_negative_int, "tokens_seen": rules.non_negative_int, "elapsed": partial(rules.real, lo=0),
        "state_is_tuple": rules.flag, "history": partial(rules.instance, kind=list, expected="a list"),
        "train_curve": partial(rules.instance, kind=list, expected="a list"),
        "batch_rng": partial(rules.instance, kind=(dict, type(None)), expected="an object or null")}
_OPTIMIZER = "the optimizer's state (to start it afresh, resume with reset_optimizer=True, or --reset-optimizer)"


def loop_state(ck: Checkpoint, reset_optimizer: bool = False) -> dict:
    """The training loop's state saved in ``ck`` (``extra.trainer``), every entry checked (a CheckpointError if not).

    ``position`` counts the batches read, one a step, so it is at most ``step``. Nothing is
    reset silently: a checkpoint without the optimizer's state is refused unless
    ``reset_optimizer``.
    """
    with entries_of(ck.path) as fn:
        rules.require(ck.optimizer_state is not None or reset_optimizer, fn, "optimizer", _OPTIMIZER, "null")
        loop = rules.instance(fn, "extra.trainer", ck.meta["extra"].get("trainer"), dict, "an object")
        for key, rule in LOOP.items():
            rule(fn, f"extra.trainer.{key}", loop.get(key))
        rules.integer(fn, "extra.trainer.position", loop.get("position"), 0, loop["step"], optional=True)
        step = ck.meta["step"]
        rules.require(loop["step"] == step, fn, "extra.trainer.step", f"the checkpoint's step, {step}", loop["step"])
        for i, metrics in enumerate(loop["history"]):        # one dict of numbers per evaluation
            for key, value in rules.instance(fn, f"extra.trainer.history[{i}]", metrics, dict, "an object").items():
                rules.real(fn, f"extra.trainer.history[{i}].{key}", value)
        for i, point in enumerate(loop["train_curve"]):      # [step, mean training loss] pairs
            ok = isinstance(point, list) and len(point) == 2 and all(rules.is_real(v) for v in point)
            rules.require(ok, fn, f"extra.trainer.train_curve[{i}]", "a [step, loss] pair", rules.describe(point))
    return loop


class Trainer:
    """Train ``model`` on a long sequence of token ids.

    Args:
        model: a language model; ``model(ids, state)`` returns ``(logits, state)``.
        optimizer: a ``minigen.optim`` optimizer over the model's parameters; its
            learning rate is the peak of the schedule.
        train_ids, val_ids: 1-D integer arrays (host).
        tokenizer: used to report bits per character and saved in checkpoints.
        val_chars: how many characters of raw text the validation ids came from, for bits
            per character (None: the length of ``tokenizer.decode(val_ids)``, which is exact
            for characters and BPE but not for words, whose decoding drops punctuation and
            case: see ``WordTokenizer.offsets``).
        batch_size, seq_len: B rows of T tokens per step.
        max_steps, time_budget: stop after this many steps, or this many seconds
            of training (evaluations included), whichever comes first.
        warmup_steps, lr_schedule, min_lr_ratio: the learning rate rises linearly
            over the warmup, then follows ``"cosine"`` from the peak down to
            ``min_lr_ratio`` times it at the end of the run, or stays ``"constant"``.
        grad_clip: the maximum global gradient norm (None: no clipping).
        eval_interval, eval_tokens: evaluate every this many steps, on about
            ``eval_tokens`` validation ids read from 32 places spread over the
            whole split (None: all of them). The evaluation at the end of the run
            always reads the whole split.
        checkpoint_dir: where ``checkpoint.safetensors`` is written (None: nowhere).
        callbacks: ``Callback`` objects (``TextGenerator``, ``LossCurve``, ...).
        device: the device the model lives on; batches are moved there.
        progress: show a tqdm progress bar.
        seed: seeds the random windows of non-recurrent models.
        run_config: a dict saved in the checkpoint (the CLI keeps its arguments there).
        fresh_state_every: K; a recurrent model's row b restarts from its initial state after
            the steps where (step + b) % K == 0, so one row in K does at each step (0: never;
            1: every row, every step). Without it the model never learns to start, and samples
            begin with garbage.
        group: a ``minigen.distributed.Group`` (from ``minigen.distributed.init()`` under
            ``mpiexec``) to train data-parallel: every rank takes its ``batch_size / N`` rows of
            each global batch of ``batch_size`` rows, the gradients are averaged over the ranks,
            and rank 0 alone prints, runs the callbacks and writes checkpoints. None: one process.
    """

    def __init__(self, model, optimizer, train_ids, val_ids=None, *, tokenizer=None, val_chars: int | None = None,
                 batch_size: int = 32,
                 seq_len: int = 64, max_steps: int | None = None, time_budget: float | None = None,
                 warmup_steps: int = 100, lr_schedule: str = "cosine", min_lr_ratio: float = 0.1,
                 grad_clip: float | None = 1.0, eval_interval: int = 250, eval_tokens: int | None = 131072,
                 checkpoint_dir=None, callbacks=(), device=None, progress: bool = True, seed: int = 0,
                 run_config: dict | None = None, log=None, fresh_state_every: int = 4, group=None):
        self.fresh_state_every = rules.non_negative_int("Trainer", "fresh_state_every", fresh_state_every)
        self.batch_size, self.seq_len, self.eval_interval = rules.positive_ints(
            "Trainer", batch_size=batch_size, seq_len=seq_len, eval_interval=eval_interval)
        self.max_steps, eval_tokens, val_chars = rules.positive_ints(
            "Trainer", max_steps=max_steps, eval_tokens=eval_tokens, val_chars=val_chars, optional=True)
        time_budget = rules.real("Trainer", "time_budget", time_budget, 0, lo_open=True, optional=True)
        ends = self.max_steps is not None or time_budget is not None
        rules.require(ends, "Trainer", "max_steps or time_budget", "given (or both), so that training ends", "neither")
        lr_schedule = rules.choice("Trainer", "lr_schedule", lr_schedule, ("cosine", "constant"))
        min_lr_ratio = rules.real("Trainer", "min_lr_ratio", min_lr_ratio, 0, 1)
        warmup_steps = rules.non_negative_int("Trainer", "warmup_steps", warmup_steps)
        grad_clip = rules.real("Trainer", "grad_clip", grad_clip, 0, lo_open=True, optional=True)
        progress, seed = rules.flag("Trainer", "progress", progress), rules.non_negative_int("Trainer", "seed", seed)
        self.group = group or SINGLE
        N = self.group.world_size
        rules.require(self.batch_size % N == 0, "Trainer", "batch_size", f"a multiple of the {N} ranks (each "
                      "takes an equal share of every batch)", self.batch_size)
        self.model, self.optimizer, self.tokenizer = model, optimizer, tokenizer
        self.time_budget, self.warmup_steps = time_budget, warmup_steps
        self.lr_schedule, self.min_lr_ratio, self.grad_clip = lr_schedule, min_lr_ratio, grad_clip
        main = self.group.is_main                                  # rank 0 prints and saves; the others train
        self.callbacks, self.device, self.progress = list(callbacks) if main else [], device, progress and main
        self.run_config = dict(run_config or {})
        self.log = (log or _log) if main else _quiet
        self.group.broadcast_parameters(model.parameters())       # every rank starts from rank 0's weights
        self.stateful = hasattr(model, "detach_state")
        self.train_ids = np.asarray(train_ids)
        if self.stateful:
            self.batcher = StreamBatcher(self.train_ids, self.batch_size, self.seq_len)
        else:
            random_windows(self.train_ids, 1, self.seq_len, np.random.default_rng(0))   # validates the ids
            self.batch_rng = np.random.default_rng(seed)
        self.val_ids = np.asarray(val_ids) if val_ids is not None and len(val_ids) >= 2 else None
        self.eval_tokens = eval_tokens
        self.chars_per_token = 1.0
        if self.val_ids is not None and val_chars is not None:
            self.chars_per_token = val_chars / len(self.val_ids)
        elif tokenizer is not None and self.val_ids is not None and getattr(tokenizer, "kind", "char") != "char":
            self.chars_per_token = len(tokenizer.decode(self.val_ids)) / len(self.val_ids)
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.checkpoint_path = os.path.join(os.fspath(checkpoint_dir), CHECKPOINT_NAME) if checkpoint_dir else None
        # The loop's state: all of it goes into the checkpoint.
        self.step, self.elapsed, self.tokens_seen = 0, 0.0, 0
        self.state = None                      # the carried hidden state
        self.history = []                      # one dict per evaluation
        self.train_curve = []                  # [step, mean training loss] every few steps
        self.last_checkpoint = None            # (path, step) of the last checkpoint written
        self.should_stop = False              # set it (from a callback, say) to end fit() after this step
        self.interrupted = False              # True once Ctrl-C stopped fit()

    # ------------------------------------------------------------------ schedule
    @property
    def progress_fraction(self) -> float:
        """How far through the run: steps done over ``max_steps``, or time over ``time_budget``."""
        parts = []
        if self.max_steps:
            parts.append(self.step / self.max_steps)
        if self.time_budget:
            parts.append(self.elapsed / self.time_budget)
        return min(1.0, max(parts))

    def lr_factor(self) -> float:
        """The learning rate of the next step, as a fraction of the peak."""
        warm = min(1.0, (self.step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if self.lr_schedule == "constant":
            return warm
        cosine = 0.5 * (1.0 + math.cos(math.pi * self.progress_fraction))
        return warm * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)

    def _done(self) -> bool:
        return ((self.max_steps is not None and self.step >= self.max_steps)
                or (self.time_budget is not None and self.elapsed >= self.time_budget))

    # ------------------------------------------------------------------ one step
    def _to_device(self, ids):
        return ids if self.device is None else backend.to_device(ids, self.device)

    def _loss(self, x, y, state):
        out = self.model(self._to_device(x), state) if self.stateful else self.model(self._to_device(x))
        logits, state = out if isinstance(out, tuple) else (out, None)
        V = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, V), self._to_device(y.reshape(-1))), state

    def train_step(self) -> float:
        """One optimizer step; returns the batch's loss (nats per token)."""
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * self.lr_factor()
        if self.stateful:
            x, y = self.batcher.next_batch()
            if self.batcher.new_epoch:
                self.state = None                                    # a new pass starts afresh
        else:
            x, y = random_windows(self.train_ids, self.batch_size, self.seq_len, self.batch_rng)
        rows = self.group.rows(len(x))                              # this rank's share of the global batch
        loss, state = self._loss(x[rows], y[rows], self._started(self.state))
        value = self.group.mean(float(loss.item()))                # the global batch's loss, on every rank
        if not math.isfinite(value):
            self._fail(self.step + 1, f"the loss is {value}")
        self.optimizer.zero_grad()
        loss.backward()
        self.group.all_reduce_gradients(self.model.parameters())   # the global batch's gradient, on every rank
        norm = float(clip_grad_norm_(self.model.parameters(), self.grad_clip or math.inf).item())
        if not math.isfinite(norm):
            self._fail(self.step + 1, f"the gradient norm is {norm}")
        self.optimizer.step()
        self.state = self._fresh_rows(self.model.detach_state(state)) if self.stateful else None
        self.step += 1
        self.tokens_seen += x.size
        return value

    def _fresh_rows(self, state):
        """The carried state with some rows set to zero: row b starts afresh at steps where (step + b) % K == 0.

        Generation starts from the initial state (zeros, or the model's learned one:
        ``_started`` puts it in these rows), but a state carried from batch to batch is
        almost never that, so without this the model never learns to start: the first
        characters after a prompt come out as garbage. With K = ``fresh_state_every``,
        each row reads K batches of context between fresh starts, and a resumed run
        resets the same rows (the rule depends on the step only). A recurrent state is
        (num_layers, B, H), or a tuple of such (the LSTM's h and c).
        """
        K = self.fresh_state_every
        if not K or state is None:
            return state
        states = state if isinstance(state, tuple) else (state,)
        like = states[0].data
        restart = (self._row_numbers(like.shape[1]) + self.step) % K == 0  # (B,)
        keep = backend.array_namespace(like).astype(backend.asarray_like(~restart[None, :, None], like), like.dtype)
        fresh = tuple(Tensor(s.data * keep) for s in states)
        return fresh if isinstance(state, tuple) else fresh[0]

    def _started(self, state):
        """The carried state with the rows that ``_fresh_rows`` restarted after the last step set to
        the model's learned initial state, in the graph, so that the step trains it too (a model
        with ``initial_state(B)`` returning None starts from the zeros already there)."""
        K, start = self.fresh_state_every, getattr(self.model, "initial_state", None)
        if not K or state is None or self.step == 0 or start is None:
            return state
        states = state if isinstance(state, tuple) else (state,)
        starts = start(states[0].shape[1])
        if starts is None:
            return state
        restarted = (self._row_numbers(states[0].shape[1]) + self.step - 1) % K == 0    # as _fresh_rows chose
        like = states[0].data
        rows = backend.array_namespace(like).astype(backend.asarray_like(restarted[None, :, None], like), like.dtype)
        mixed = tuple(s + a * Tensor(rows) for s, a in zip(states, starts if isinstance(starts, tuple) else (starts,)))
        return mixed if isinstance(state, tuple) else mixed[0]

    def _row_numbers(self, B: int):
        """The numbers of this rank's B rows in the global batch (0..B-1 in one process)."""
        return np.arange(B) + self.group.rows(self.batch_size).start

    def _fail(self, step: int, what: str):
        """Raise ``TrainingError`` for ``step`` (the one being taken, or the one just evaluated)."""
        where = (f"The last good checkpoint, {self.last_checkpoint[0]} (step {self.last_checkpoint[1]}), is intact: "
                 "resume from it with a lower learning rate or more clipping."
                 if self.last_checkpoint else "No checkpoint had been written yet.")
        raise TrainingError(f"training stopped at step {step}: {what}. {where}")

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, ids=None, max_tokens: int | None = None) -> dict:
        """Mean validation loss in nats per token, its perplexity, and bits per character.

        The ids (default: the validation split) are read as 32 contiguous streams,
        with the hidden state carried along each; ``max_tokens`` stops after about
        that many tokens, taken from the start of every stream, so that a partial
        evaluation still samples the whole split.
        """
        ids = self.val_ids if ids is None else np.asarray(ids)
        if ids is None:
            return {}
        T = min(256 if self.stateful else self.seq_len, len(ids) - 1)   # a model without state reads seq_len windows
        B = max(1, min(32, len(ids) // (T + 1)))
        batcher = StreamBatcher(ids, B, T)
        batches = batcher.batches_per_epoch
        if max_tokens is not None:
            batches = max(1, min(batches, -(-max_tokens // (B * T))))
        was_training = self.model.training
        self.model.eval()
        total, count, state = 0.0, 0, None
        try:
            with no_grad():
                rows = self.group.rows(B)                           # this rank's streams
                for _ in range(batches if rows.stop > rows.start else 0):
                    x, y = batcher.next_batch()
                    x, y = x[rows], y[rows]
                    loss, state = self._loss(x, y, state if self.stateful else None)
                    total += float(loss.item()) * y.size
                    count += y.size
        finally:
            self.model.train(was_training)
        total, count = self.group.sum([total, count])              # over the ranks' streams
        loss = total / count
        return {"val_loss": loss, "perplexity": math.exp(min(loss, 700.0)),
                "bits_per_char": loss / math.log(2) / self.chars_per_token}

    def _evaluate_and_save(self, train_loss, final=False):
        metrics = {"step": self.step, "elapsed": round(self.elapsed, 2), "tokens": self.tokens_seen,
                   "train_loss": train_loss, **self.evaluate(max_tokens=None if final else self.eval_tokens)}
        self.history.append(metrics)
        text = f"step {self.step:>6}  {_clock(self.elapsed)}  train {train_loss:.4f}"
        if "val_loss" in metrics:
            text += (f"  val {metrics['val_loss']:.4f} nats  perplexity {metrics['perplexity']:.2f}  "
                     f"{metrics['bits_per_char']:.3f} bits/char" + ("  (whole validation split)" if final else ""))
            if not math.isfinite(metrics["val_loss"]):
                self._fail(self.step, f"the validation loss is {metrics['val_loss']}")   # the step just taken
        self.log(text)
        self.save_checkpoint()                  # first, so that a callback that fails loses nothing
        for cb in self.callbacks:
            cb.on_evaluate(self, metrics)
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path=None) -> None:
        """Write the model, the optimizer and the loop's state atomically (default: ``checkpoint_dir``)."""
        path = path or self.checkpoint_path
        if path is None:
            return
        arrays, state = {}, self.state
        if state is not None:
            for i, s in enumerate(state if isinstance(state, tuple) else (state,)):
                arrays[f"state.{i}"] = self.group.gather_rows(s.data)   # every rank's rows, on rank 0
        self.last_checkpoint = (path, self.step)
        if not self.group.is_main:
            return
        loop = {"step": self.step, "elapsed": self.elapsed, "tokens_seen": self.tokens_seen,
                "state_is_tuple": isinstance(state, tuple), "history": self.history, "train_curve": self.train_curve,
                "position": self.batcher.position if self.stateful else None,
                "batch_rng": self.batch_rng.bit_generator.state if not self.stateful else None}
        save_checkpoint(path, self.model, self.optimizer, tokenizer=self.tokenizer, step=self.step,
                        extra={"trainer": loop, "run": self.run_config}, arrays=arrays)

    def resume(self, checkpoint=None, *, reset_optimizer: bool = False) -> None:
        """Load a checkpoint written by this trainer (default: ``checkpoint_dir``'s) and continue from it.

        Every entry is checked before it is used (``loop_state``): a damaged one is a
        ``CheckpointError`` naming it. ``reset_optimizer`` starts the optimizer afresh
        (a checkpoint without the optimizer's state is refused without it).
        """
        reset_optimizer = rules.flag("Trainer.resume", "reset_optimizer", reset_optimizer)
        ck = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint or self.checkpoint_path)
        loop = loop_state(ck, reset_optimizer)
        with entries_of(ck.path) as fn:
            self.model.load_state_dict(ck.model_state)
            if not reset_optimizer:
                self.optimizer.load_state_dict(ck.optimizer_state)
            if self.stateful:
                self.batcher.position = loop["position"]
            else:
                self.batch_rng.bit_generator.state = loop["batch_rng"]
            like = next(iter(self.model.parameters())).data
            n = sum(k.startswith("state.") for k in ck.arrays)
            saved = [rules.floating_array(fn, f"extra.state.{i}", ck.arrays.get(f"state.{i}")) for i in range(n)]
            rows = self.group.rows(self.batch_size)                 # the global batch's state: this rank's rows
            states = [Tensor(backend.asarray_like(a[:, rows], like)) for a in saved]
            self.state = (tuple(states) if loop["state_is_tuple"] else states[0]) if states else None
            if self.state is not None:          # one token with the carried state: one that does not fit fails now
                ids = np.zeros((rows.stop - rows.start, 1), np.int64)
                try:
                    with no_grad():
                        self._loss(ids, ids, self.state)
                except (ValueError, TypeError) as e:
                    raise CheckpointError(f"{fn}: its carried state (extra.state.<k>, extra.trainer.state_is_tuple) "
                                          f"does not fit the model: {e}") from None
        backend.set_rng_state(ck.meta["rng_state"])            # last: the trial above may have drawn numbers
        self.step, self.elapsed, self.tokens_seen = loop["step"], loop["elapsed"], loop["tokens_seen"]
        self.history, self.train_curve = loop["history"], loop["train_curve"]
        self.last_checkpoint = (self.checkpoint_path, self.step) if self.checkpoint_path else None

    # ------------------------------------------------------------------ the loop
    def fit(self) -> dict:
        """Train until ``max_steps`` or ``time_budget``; returns the last evaluation's metrics.

        Ctrl-C stops cleanly after the current step, with a checkpoint (a second
        Ctrl-C stops at once). A non-finite loss raises ``TrainingError`` and leaves
        the last checkpoint as it was.
        """
        from tqdm.auto import tqdm

        by_steps = self.max_steps is not None
        # tqdm puts ", " before the postfix (the loss), so something must come before it: the clock
        by_time_format = "{l_bar}{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}{postfix}]"
        bar = tqdm(total=self.max_steps if by_steps else int(self.time_budget), initial=self.step if by_steps else
                   int(self.elapsed), unit="step" if by_steps else "s", disable=not self.progress, dynamic_ncols=True,
                   bar_format=None if by_steps else by_time_format)
        previous_log = self.log
        if self.progress:
            self.log = lambda text: tqdm.write(text)
        restore_sigint = catch_sigint(self)
        for cb in self.callbacks:
            cb.on_train_begin(self)
        start = time.perf_counter() - self.elapsed
        window, shown_tokens, shown_time = [], self.tokens_seen, time.perf_counter()
        metrics = self.history[-1] if self.history else {}
        try:
            stop, done = self.group.agree(self.should_stop, self._done())        # the same on every rank
            while not (stop or done):
                loss = self.train_step()
                self.elapsed = time.perf_counter() - start
                window.append(loss)
                for cb in self.callbacks:
                    cb.on_step_end(self, loss)
                if self.step % 10 == 0:
                    self.train_curve.append([self.step, sum(window[-10:]) / len(window[-10:])])
                stop, done = self.group.agree(self.should_stop, self._done())    # one message per step
                now = time.perf_counter()
                if now - shown_time > 0.5 or done:
                    rate = (self.tokens_seen - shown_tokens) / (now - shown_time)
                    bar.set_postfix_str(f"loss {sum(window[-20:]) / len(window[-20:]):.3f}, "
                                        f"{rate / 1000:.1f}k tok/s, lr {self.optimizer.param_groups[0]['lr']:.1e}",
                                        refresh=False)
                    bar.update((self.step if by_steps else int(self.elapsed)) - bar.n)
                    shown_tokens, shown_time = self.tokens_seen, now
                if self.step % self.eval_interval == 0 or done:
                    metrics = self._evaluate_and_save(sum(window) / len(window), final=done)
                    window = []
                    stop = self.group.agree(self.should_stop, False)[0]         # a callback may ask to stop
            if stop:                                           # Ctrl-C or a callback: save where we are
                if window:
                    metrics = self._evaluate_and_save(sum(window) / len(window))
                self.log(f"stopped at step {self.step}"
                         + (f"; resume from {self.checkpoint_path}" if self.checkpoint_path else ""))
        finally:
            bar.close()
            restore_sigint()
            self.log = previous_log
        for cb in self.callbacks:
            cb.on_train_end(self)
        return metrics


def _log(text: str) -> None:
    print(text, flush=True)


def _quiet(text: str) -> None:
    """The log of ranks other than 0: rank 0 speaks for all."""


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:>3}:{s:02d}"


def catch_sigint(loop):
    """Ctrl-C sets ``loop.should_stop`` (and ``interrupted``), which the loop checks after each step; a second
    Ctrl-C stops at once. Returns the undo. For ``Trainer`` and ``minigen.rl.Finetuner`` alike."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        if loop.should_stop:
            raise KeyboardInterrupt
        loop.should_stop = loop.interrupted = True
        loop.log("Ctrl-C: stopping after this step and saving a checkpoint (Ctrl-C again to stop at once)")
    previous = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)
