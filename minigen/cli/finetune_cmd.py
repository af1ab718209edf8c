"""``minigen finetune``: fine-tune a trained language model toward a reward by REINFORCE, with a KL penalty.

    python -m minigen finetune --checkpoint runs/shakespeare-lstm --reward lipogram:e --out runs/no-e

The prompts are random windows of the corpus the run trained on (read as ``train``
reads it); the reward is ``lipogram:LETTER`` (write without the letter, in either
case), ``include:WORD`` (write the word), ``discriminator`` (write text that a
text-CNN, trained first on corpus windows against the model's own samples, takes
for real) or ``MODULE:FUNCTION``, your own function of a completion's text. The
new run in ``--out`` reads with ``minigen sample --checkpoint OUT``; ``--resume``
continues it exactly.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import shlex
import zlib
from functools import partial

import numpy as np

import minigen
from minigen import backend, rules
from minigen.checkpoint import entries_of, load_checkpoint, load_model
from minigen.data import train_val_split
from minigen.models import TextCNNDiscriminator
from minigen.rl import DiscriminatorReward, Finetuner, IncludeWord, Lipogram, text_reward, train_discriminator
from minigen.rl.builtin_rewards import DISCRIMINATOR_SIZES
from minigen.train import CHECKPOINT_NAME

from ._checks import check_settings, flag, text
from ._resume import nothing_left, plan, refuse_changes, saved_run
from .train_cmd import _check_out, _corpus_text, _make_out, parse_duration

# Every option, with its default. The lead's prototype on the main job's checkpoint (2-layer LSTM,
# H = 256): 200 steps of 32 x 96 tokens, about 170 s on 2 cores, take the rate of 'e' from 9% to 0.1%,
# with the samples' NLL under the original model up 9% and 92% of their words in the corpus.
DEFAULTS = dict(checkpoint=None, reward=None, kl_coef=0.05, steps=None, time=None, batch_size=32, prompt_length=16,
                new_tokens=96, lr=3e-4, checkpoint_every=50, out=None, seed=0, progress=True)
DEFAULT_STEPS = 200
# On --resume these may change; the rest are the run's and must stay as they were.
RESUMABLE = {"steps", "time", "checkpoint_every", "out", "progress"}
MAY_BE_NONE = ("steps", "time", "checkpoint", "reward", "out")
SETTINGS = {
    **dict.fromkeys(("steps", "batch_size", "prompt_length", "new_tokens", "checkpoint_every"), rules.positive_int),
    "seed": rules.non_negative_int, "kl_coef": partial(rules.real, lo=0), "lr": partial(rules.real, lo=0, lo_open=True),
    "time": partial(rules.real, lo=0, lo_open=True), "progress": rules.flag,
    **dict.fromkeys(("checkpoint", "reward", "out"), text),
}
REWARDS = "lipogram:LETTER, include:WORD, discriminator or MODULE:FUNCTION"
BUILTIN = ("lipogram", "include", "discriminator")


def add_parser(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a trained model toward a reward (REINFORCE with a KL penalty)",
                       description=__doc__.split("\n\n")[2].replace("\n", " ").replace("``", ""))
    d = DEFAULTS
    p.add_argument("--checkpoint", help="the run to fine-tune (a `minigen train` folder or its .safetensors)")
    p.add_argument("--reward", help=f"{REWARDS}")
    p.add_argument("--kl-coef", type=float, help=f"beta, the weight of the KL penalty to the original model, >= 0 "
                   f"(default {d['kl_coef']})")
    p.add_argument("--steps", type=int, help=f"stop after this many steps (default {DEFAULT_STEPS} when --time is "
                   "not given)")
    p.add_argument("--time", help="stop after this long: 600, 90s, 10m, 1.5h")
    p.add_argument("--batch-size", type=int, help=f"completions per step (default {d['batch_size']})")
    p.add_argument("--prompt-length", type=int, help=f"tokens of corpus before each (default {d['prompt_length']})")
    p.add_argument("--new-tokens", type=int, help=f"tokens generated per completion (default {d['new_tokens']})")
    p.add_argument("--lr", type=float, help=f"Adam's learning rate (default {d['lr']})")
    p.add_argument("--checkpoint-every", type=int, help=f"steps between checkpoints (default {d['checkpoint_every']})")
    p.add_argument("--out", help="output folder (default <checkpoint>-<reward>, or -2, -3, ... if that holds a run)")
    p.add_argument("--resume", action="store_true", help="continue the fine-tuning saved in --out")
    p.add_argument("--seed", type=int, help=f"default {d['seed']}")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")
    p.set_defaults(func=cmd_finetune)


def parse_reward(spec: str) -> tuple[str, str]:
    """``"lipogram:e"`` -> ``("lipogram", "e")``, checked for its form (not yet against a tokenizer)."""
    kind, _, arg = spec.partition(":")
    ok = (kind == "lipogram" and len(arg) == 1 and not arg.isspace()) or (kind == "include" and arg.strip()) \
        or spec == "discriminator" or (kind not in BUILTIN and re.fullmatch(r"[\w.]+:\w+", spec))
    expected = {"lipogram": "lipogram:LETTER, one letter (lipogram:e)", "include": "include:WORD (include:love)"}
    rules.require(ok, "", "--reward", expected.get(kind, f"one of {REWARDS}"), repr(spec))
    return kind, arg


def build_reward(spec: str, tokenizer):
    """The reward ``spec`` names, over ``tokenizer``'s vocabulary (a discriminator: untrained).

    ``MODULE:FUNCTION`` is ``FUNCTION(text) -> number`` in an importable module (the current
    folder's ``MODULE.py``, say), called on each completion's text.
    """
    kind, arg = parse_reward(spec)
    try:
        if kind == "lipogram":
            return Lipogram(tokenizer, arg)
        if kind == "include":
            return IncludeWord(tokenizer, arg)
    except ValueError as e:
        raise ValueError(f"--reward {spec!r}: {e}") from None
    if kind == "discriminator":
        return DiscriminatorReward(TextCNNDiscriminator(tokenizer.vocab_size, **DISCRIMINATOR_SIZES))
    try:
        fn = getattr(importlib.import_module(kind), arg)
    except (ImportError, AttributeError) as e:
        rules.fail("", "--reward", "MODULE:FUNCTION, a function in an importable module", f"{spec!r} ({e})")
    rules.require(callable(fn), "", "--reward", "MODULE:FUNCTION, a function text -> number", f"{spec!r}, of "
                  f"type {type(fn).__name__}")
    return text_reward(fn, tokenizer)


def _checkpoint_file(path: str) -> str:
    return os.path.join(path, CHECKPOINT_NAME) if os.path.isdir(path) else path


def _default_out(cfg) -> str:
    base = os.path.normpath(cfg["checkpoint"])
    if base.endswith(".safetensors"):
        base = os.path.dirname(base) or "."
    kind, arg = parse_reward(cfg["reward"])
    out = base = f"{base}-{kind}" + (f"-{arg}" if arg.isalnum() else "")
    n = 1
    while os.path.exists(os.path.join(out, CHECKPOINT_NAME)):
        n += 1
        out = f"{base}-{n}"
    return out


def _config(args):
    """``(cfg, saved)``: defaults < the run's saved settings (on --resume) < the command line."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    if "time" in given:
        given["time"] = parse_duration(given["time"])
    check_settings(given, SETTINGS, may_be_none=MAY_BE_NONE)
    if "reward" in given:
        parse_reward(given["reward"])
    cfg, saved = dict(DEFAULTS), None
    if args.resume:
        rules.require("out" in given, "", "--resume", "given with --out, the run to continue", "no --out")
        path = os.path.join(given["out"], CHECKPOINT_NAME)
        rules.require(os.path.exists(path), "", "--out", f"a run's folder, with its {CHECKPOINT_NAME}, with --resume",
                      repr(given["out"]))
        saved = load_checkpoint(path)
        with entries_of(path) as fn:
            run = rules.instance(fn, "extra.finetune", saved.meta["extra"].get("finetune"), dict,
                                 "an object (a run of `minigen finetune`)")
            check_settings(run, SETTINGS, fn=fn, name=lambda key: f"extra.finetune.{key}", may_be_none=MAY_BE_NONE)
        if "checkpoint" in given:
            same = os.path.realpath(_checkpoint_file(given["checkpoint"])) == \
                os.path.realpath(_checkpoint_file(run["checkpoint"]))
            given["checkpoint"] = run["checkpoint"] if same else given["checkpoint"]
        refuse_changes(given, run, RESUMABLE)
        cfg.update(run)
        if "steps" in given or "time" in given:                 # a new end replaces the saved one
            cfg["steps"] = cfg["time"] = None
    else:
        for name in ("checkpoint", "reward"):
            rules.require(name in given, "", flag(name), "given (or --resume with --out)", "nothing")
    cfg.update(given)
    if cfg["steps"] is None and cfg["time"] is None:
        cfg["steps"] = DEFAULT_STEPS
    if not cfg["out"]:
        cfg["out"] = _default_out(cfg)
    return cfg, saved


def _prompt_ids(run, tokenizer, cfg, where: str):
    """The training ids of the run's corpus, read as ``minigen train`` read them, checked unchanged and long enough."""
    rules.require(run.get("corpus"), "", where, "a run of `minigen train` (its corpus gives the prompts)",
                  "a checkpoint without one")
    ids = np.asarray(tokenizer.encode(_corpus_text(run["corpus"])))
    fingerprint = zlib.crc32(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    ok = run.get("fingerprint") in (None, fingerprint)
    rules.require(ok, "", where, "a run whose corpus is as it trained on it", f"{run['corpus']!r}, changed since")
    train_ids, _ = train_val_split(ids, run.get("val_fraction", 0.1))
    need = cfg["prompt_length"] + cfg["new_tokens"]
    rules.require(len(train_ids) > need, "", "--prompt-length and --new-tokens", f"fewer in all than the corpus's "
                  f"{len(train_ids):,} training tokens", need)
    return train_ids


def _check_fit(model, cfg) -> None:
    """A GPT reads at most block_size positions: the prompt and the completion must fit; the discriminator reads
    completions at least as long as its widest filter."""
    block = model.config.get("block_size")
    need = cfg["prompt_length"] + cfg["new_tokens"] - 1
    rules.require(block is None or need <= block, "", "--new-tokens", f"at most {block} - --prompt-length + 1 "
                  f"(the GPT's block size {block})", cfg["new_tokens"])
    widest = max(DISCRIMINATOR_SIZES["filter_sizes"])
    ok = cfg["reward"] != "discriminator" or cfg["new_tokens"] >= widest
    rules.require(ok, "", "--new-tokens", f"at least {widest} with --reward discriminator (its widest filter)",
                  cfg["new_tokens"])


def cmd_finetune(args) -> int:
    backend.tune_malloc()
    cfg, saved = _config(args)
    out = cfg["out"]
    ckpt = os.path.join(out, CHECKPOINT_NAME)
    rules.require(saved or not os.path.exists(ckpt), "", "--out", "a new folder, or given with --resume", repr(ckpt))
    if saved:
        loop = saved.meta["extra"].get("finetuner") or {}
        why = nothing_left(cfg, loop.get("step", 0), loop.get("elapsed", 0.0))
        if why:
            raise ValueError(why)
        model, tokenizer, ck = load_model(saved)
        run = saved_run(saved)
        reference = copy.deepcopy(model)                       # its weights come from the checkpoint
    else:
        model, tokenizer, ck = load_model(_checkpoint_file(cfg["checkpoint"]))
        run = saved_run(ck)
        reference = None
        cfg["checkpoint"] = os.path.abspath(cfg["checkpoint"])
    reward = build_reward(cfg["reward"], tokenizer)
    _check_fit(model, cfg)
    _check_out(out)
    train_ids = _prompt_ids(run, tokenizer, cfg, "--out" if saved else "--checkpoint")
    minigen.manual_seed(cfg["seed"])
    if isinstance(reward, DiscriminatorReward) and not saved:
        reward = DiscriminatorReward(train_discriminator(model, train_ids, cfg["prompt_length"], cfg["new_tokens"],
                                                         seed=cfg["seed"], log=print))
    finetuner = Finetuner(model, reward, train_ids, reference=reference, tokenizer=tokenizer, kl_coef=cfg["kl_coef"],
                          batch_size=cfg["batch_size"], prompt_length=cfg["prompt_length"],
                          new_tokens=cfg["new_tokens"], lr=cfg["lr"], max_steps=cfg["steps"],
                          time_budget=cfg["time"], checkpoint_dir=out, checkpoint_every=cfg["checkpoint_every"],
                          progress=cfg["progress"], seed=cfg["seed"], run_config={**run, "out": out},
                          finetune_config=cfg)
    if saved:
        finetuner.resume(saved)
        print(f"resuming {ckpt} at step {finetuner.step} ({finetuner.elapsed:.0f} s fine-tuned)")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"fine-tuning {cfg['checkpoint']} ({n_params:,} parameters) toward {cfg['reward']}, KL coefficient "
          f"{cfg['kl_coef']:g}: batch {cfg['batch_size']} x {cfg['new_tokens']} new tokens after "
          f"{cfg['prompt_length']}-token prompts from {run['corpus']}; adam lr {cfg['lr']:g}; "
          f"{plan(cfg, finetuner.step, finetuner.elapsed)}; saving to {out}", flush=True)
    print("reward: the task's reward per completion; kl: the KL estimate to the original model per completion, "
          "in nats (means over the steps since the last line)")
    _make_out(out)
    history = finetuner.fit()
    quoted = shlex.quote(out)
    if finetuner.interrupted:
        print(f"resume with:  python -m minigen finetune --resume --out {quoted}")
        return 130
    first, last = history[:10], history[-10:]
    print(f"done: step {finetuner.step} after {finetuner.elapsed:.0f} s; reward {_mean(last, 'reward'):.4f} "
          f"(first 10 steps {_mean(first, 'reward'):.4f}), kl {_mean(last, 'kl'):.4f}")
    print(f"sample it:  python -m minigen sample --checkpoint {quoted}")
    return 0


def _mean(history, key) -> float:
    return sum(h[key] for h in history) / len(history) if history else float("nan")
