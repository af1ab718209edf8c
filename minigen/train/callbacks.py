"""Callbacks: code that runs inside ``Trainer.fit`` at fixed points.

- ``TextGenerator``: at each evaluation, continue a fixed prompt at several
  temperatures, so you watch the model learn to write (the source material's
  callback of the same name). Low temperatures give safe, repetitive text; high
  ones give inventive text, then noise.
- ``LossCurve``: a PNG of the training and validation loss, redrawn at each
  evaluation (needs matplotlib: ``pip install "minigen[plot]"``).

Write your own by overriding any of ``Callback``'s four methods.
"""

from __future__ import annotations

import os

import numpy as np

from .. import backend, rules
from ..sample import generate

__all__ = ["Callback", "TextGenerator", "LossCurve"]


def prompt_ids(fn: str, name: str, tokenizer, prompt):
    """``prompt``'s token ids, (1, P): a non-empty string that ``tokenizer`` encodes to one token or more.

    For ``TextGenerator`` and the commands' prompts (``fn`` "" and ``name`` the flag: ``--prompt``).
    """
    rules.require(isinstance(prompt, str) and prompt, fn, name, "a non-empty string", rules.describe(prompt))
    try:
        ids = np.asarray(tokenizer.encode(prompt))[None, :]                 # (1, P)
    except ValueError as e:
        raise ValueError(f"{fn + ': ' if fn else ''}{name} {prompt!r} cannot be encoded: {e}") from None
    # a word tokenizer drops punctuation: "..." has no words
    kind = getattr(tokenizer, "kind", "given")
    rules.require(ids.size, fn, name, "one token or more", f"{prompt!r}, no tokens for the {kind} tokenizer")
    return ids


class Callback:
    """Hooks that ``Trainer.fit`` calls; each receives the trainer. Override the ones you need."""

    def on_train_begin(self, trainer) -> None:
        """Before the first step of ``fit``."""

    def on_step_end(self, trainer, loss: float) -> None:
        """After each optimizer step, with that batch's loss."""

    def on_evaluate(self, trainer, metrics: dict) -> None:
        """After each evaluation, with its metrics (``step``, ``train_loss``, ``val_loss``, ...)."""

    def on_train_end(self, trainer) -> None:
        """After the last step of ``fit``."""


class TextGenerator(Callback):
    """Print a continuation of ``prompt`` at each temperature, at every evaluation.

    Each sample uses its own generator seeded with ``seed``, so the samples are
    comparable from one evaluation to the next and training's random numbers are
    left alone (a resumed run stays identical). The samples are also kept in
    ``self.samples`` as dicts with ``step``, ``temperature`` and ``text``.

    >>> import minigen
    >>> tok = minigen.data.CharTokenizer.train("to be or not to be")
    >>> TextGenerator(tok, prompt="to be", temperatures=[0.5, 1.0], length=40).temperatures
    [0.5, 1.0]
    """

    def __init__(self, tokenizer, prompt: str = "ROMEO:", temperatures=(0.2, 0.5, 1.0, 1.5), length: int = 200,
                 seed: int = 0):
        fn = "TextGenerator"
        temperatures = [rules.real(fn, "temperatures", t, 0) for t in temperatures]
        rules.require(temperatures, fn, "temperatures", "one temperature or more", "none")
        length = rules.non_negative_int(fn, "length", length)
        seed = rules.non_negative_int(fn, "seed", seed)
        self.prompt_ids = prompt_ids(fn, "prompt", tokenizer, prompt)              # (1, P)
        self.tokenizer, self.prompt, self.temperatures = tokenizer, prompt, temperatures
        self.length, self.seed = length, seed
        self.samples = []

    def on_evaluate(self, trainer, metrics):
        like = next(iter(trainer.model.parameters())).data
        ids = backend.asarray_like(self.prompt_ids, like)
        for t in self.temperatures:
            out = generate(trainer.model, ids, self.length, do_sample=t > 0, temperature=t, top_k=0, seed=self.seed)
            text = self.tokenizer.decode(backend.to_numpy(out)[0, ids.shape[1]:])
            self.samples.append({"step": trainer.step, "temperature": t, "text": text})
            sep = " " if getattr(self.tokenizer, "kind", "") == "word" else ""     # words are joined by spaces
            trainer.log(f"----- temperature {t}:\n{self.prompt}{sep}{text}\n")


class LossCurve(Callback):
    """Draw the training loss (every 10 steps) and the validation loss to ``path``, a PNG.

    Redrawn at every evaluation and at the end, written atomically. Without
    matplotlib it says so once and does nothing.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._warned = False

    def on_evaluate(self, trainer, metrics):
        self.draw(trainer)

    def on_train_end(self, trainer):
        self.draw(trainer)

    def draw(self, trainer) -> bool:
        """Write the PNG; False if matplotlib is missing."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            if not self._warned:
                trainer.log('loss curve skipped: matplotlib is not installed (pip install "minigen[plot]")')
                self._warned = True
            return False
        fig = Figure(figsize=(7, 4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        if trainer.train_curve:
            steps, losses = zip(*trainer.train_curve)
            ax.plot(steps, losses, lw=0.8, alpha=0.7, label="training (mean of 10 steps)")
        val = [(m["step"], m["val_loss"]) for m in trainer.history if "val_loss" in m]
        if val:
            ax.plot(*zip(*val), "o-", label="validation")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy, nats per token")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:          # nothing drawn yet: no legend (matplotlib would warn)
            ax.legend()
        fig.tight_layout()
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(self.path)}.tmp-{os.getpid()}.png")
        fig.savefig(tmp)
        os.replace(tmp, self.path)
        return True
