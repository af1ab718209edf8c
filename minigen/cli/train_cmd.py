"""``minigen train``: train a language model on a corpus, with progress, samples and checkpoints.

With no arguments it runs minigen's main job: a 2-layer character LSTM on all of
Shakespeare for 10 minutes, printing samples at four temperatures at every
evaluation and writing ``runs/shakespeare-lstm/checkpoint.safetensors`` and
``loss.png``. ``--resume`` continues a run that was stopped or killed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
import zlib

import numpy as np

import minigen
from minigen import backend, distributed, rules
from minigen.checkpoint import entries_of, load_checkpoint, load_model
from minigen.data import (BPETokenizer, CharTokenizer, WordTokenizer, load_text, python_source, shakespeare,
                          train_val_split)
from minigen.models import GPT, GPTConfig, RNNLanguageModel
from minigen.train import CHECKPOINT_NAME, LossCurve, TextGenerator, Trainer, loop_state
from minigen.train.callbacks import prompt_ids

from ._checks import CHOICES, check_device, check_settings, flag
from ._resume import BUILTIN_CORPORA, nothing_left, plan, refuse_changes, same_corpus, saved_run

# Every option, with its default. On --resume the run's saved values are used, and
# only the options in RESUMABLE may be changed; the rest fix the model and the data.
# lr: over so short a cosine decay (10 minutes on 2 CPU cores) a high peak rate learns most.
# batch_size x seq_len (85 x 48, about 4,096 tokens a step), fresh_state_every=1 and the learned
# initial state: every row starts each step from the state generation starts from, every 48
# characters, so that samples start cleanly. Reading from the initial state then costs the 20
# characters after it about 9% more than reading them after 256 others (12.7% with rows 64
# long, one in 4 restarted), and the validation loss stays under 1.50 (benchmarks/cold_start.py).
DEFAULTS = dict(
    corpus="shakespeare", tokenizer="char", vocab_size=None, val_fraction=0.1,
    model="rnn", cell="lstm", embed_dim=64, hidden_size=256, num_layers=2, dropout=0.0,
    n_layer=4, n_head=4, n_embd=128,
    optimizer="adam", lr=1e-2, weight_decay=0.0, batch_size=85, seq_len=48, grad_clip=1.0,
    warmup_steps=100, lr_schedule="cosine", min_lr_ratio=0.05, fresh_state_every=1,
    learn_initial_state=True,
    steps=None, time=None, eval_interval=250, eval_tokens=65536,
    out=None, prompt=None, temperatures=[0.2, 0.5, 1.0, 1.5], sample_length=200,
    seed=0, device="cpu", dtype="float32", progress=True,
)
# A GPT trains differently from an LSTM: these replace the defaults above for --model gpt.
# Chosen for 10 minutes on 2 CPU cores: many small steps learn more in the time than few large
# ones (150-second trials: width 192, B=32, T=128 at lr 1e-3 reached 2.43; this, 1.87).
GPT_DEFAULTS = dict(batch_size=16, seq_len=64, lr=3e-3, optimizer="adamw", weight_decay=0.1, warmup_steps=100)
# lr and grad_clip may change on resume, as the advice after a non-finite loss says ("resume with a lower
# learning rate or more clipping"); they take effect from the resumed step on.
TUNABLE = ("lr", "grad_clip")
RESUMABLE = {"steps", "time", "eval_interval", "eval_tokens", "prompt", "temperatures", "sample_length",
             "device", "progress", "out", *TUNABLE}
# Options that only some values of another setting (the model, the tokenizer) read: given otherwise, a mistake.
ONLY_FOR = {**dict.fromkeys(("cell", "embed_dim", "hidden_size", "num_layers", "fresh_state_every",
                             "learn_initial_state"),
                            ("model", ("rnn",))),
            **dict.fromkeys(("n_layer", "n_head", "n_embd"), ("model", ("gpt",))),
            "vocab_size": ("tokenizer", ("word", "bpe"))}
# The smallest --vocab-size of each tokenizer that reads it: a word tokenizer keeps padding and [UNK] besides its
# words, and BPE starts from the 256 bytes.
MIN_VOCAB_SIZE = {"word": 3, "bpe": 256}
DEFAULT_TIME = 600.0
# On --resume, the run's settings that shape the model, and the entry of the model's saved config each must equal.
MODEL_ENTRIES = {"rnn": dict(embed_dim="embed_dim", hidden_size="hidden_size", num_layers="num_layers", cell="cell",
                             dropout="dropout", learn_initial_state="learn_initial_state"),
                 "gpt": dict(n_layer="n_layer", n_head="n_head", n_embd="n_embd", seq_len="block_size",
                             dropout="dropout")}


# Settings added after runs were saved without them, with the value that such a run had.
OLDER_RUNS = dict(learn_initial_state=False)
# An older run kept a corpus path as it was typed, relative to the folder the run started in.
_RELATIVE = "given: the run's corpus is relative to the folder it started in"


def parse_duration(text: str) -> float:
    """Seconds in ``"600"``, ``"90s"``, ``"10m"``, ``"1.5h"``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*", str(text))
    rules.require(m and float(m.group(1)) > 0, "", "--time", "a positive duration: 600, 90s, 10m, 1.5h", repr(text))
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a language model (default: char LSTM on Shakespeare, 10 minutes)",
                       description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""))
    d = DEFAULTS            # the parser's defaults are None, so that _config can tell what was given
    gd = GPT_DEFAULTS

    def both(key):          # "default 0.004; 0.003 for --model gpt"
        return f"default {d[key]}" + (f"; {gd[key]} for --model gpt" if gd.get(key, d[key]) != d[key] else "")
    g = p.add_argument_group("data")
    g.add_argument("--corpus", help=f"'shakespeare', 'python' (the stdlib's source), a UTF-8 text file, or a folder "
                   f"(its .txt and .md files) (default {d['corpus']})")
    g.add_argument("--tokenizer", choices=CHOICES["tokenizer"], help="default char")
    g.add_argument("--vocab-size", type=int, help="word: the most frequent words kept, with padding and [UNK] "
                   "(default: all); bpe: the vocabulary size (default 2000); char: not used")
    g.add_argument("--val-fraction", type=float, help=f"held out for validation (default {d['val_fraction']})")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=CHOICES["model"], help="a recurrent network (default) or a GPT")
    g.add_argument("--cell", choices=CHOICES["cell"], help="--model rnn: the cell (default lstm)")
    g.add_argument("--embed-dim", type=int, help=f"--model rnn (default {d['embed_dim']})")
    g.add_argument("--hidden-size", type=int, help=f"--model rnn (default {d['hidden_size']})")
    g.add_argument("--num-layers", type=int, help=f"--model rnn (default {d['num_layers']})")
    g.add_argument("--dropout", type=float, help=f"default {d['dropout']}")
    g.add_argument("--learn-initial-state", action=argparse.BooleanOptionalAction, help="--model rnn: start "
                   "each sequence from a learned state rather than zeros (default: learned)")
    g.add_argument("--n-layer", type=int, help=f"--model gpt: blocks (default {d['n_layer']})")
    g.add_argument("--n-head", type=int, help=f"--model gpt: attention heads (default {d['n_head']})")
    g.add_argument("--n-embd", type=int, help=f"--model gpt: width (default {d['n_embd']}); --seq-len is the "
                   "block size")
    g = p.add_argument_group("optimization")
    g.add_argument("--optimizer", choices=CHOICES["optimizer"], help=both("optimizer"))
    g.add_argument("--lr", type=float, help=f"peak learning rate ({both('lr')})")
    g.add_argument("--weight-decay", type=float, help=both("weight_decay"))
    g.add_argument("--batch-size", type=int, help=both("batch_size"))
    g.add_argument("--seq-len", type=int, help=f"BPTT length, or a GPT's context ({both('seq_len')})")
    g.add_argument("--grad-clip", type=float, help=f"max gradient norm, 0 for none (default {d['grad_clip']}); "
                   "--lr and --grad-clip may change on --resume")
    g.add_argument("--warmup-steps", type=int, help=both("warmup_steps"))
    g.add_argument("--lr-schedule", choices=CHOICES["lr_schedule"], help="default cosine")
    g.add_argument("--min-lr-ratio", type=float, help=f"cosine floor, times the peak (default {d['min_lr_ratio']})")
    g.add_argument("--fresh-state-every", type=int, metavar="K", help="--model rnn: each row starts again from the "
                   f"initial state every K steps, as generation does; 0: never (default {d['fresh_state_every']})")
    g = p.add_argument_group("run")
    g.add_argument("--steps", type=int, help="stop after this many steps")
    g.add_argument("--time", help="stop after this long: 600, 90s, 10m, 1.5h (default 10m when --steps is not given)")
    g.add_argument("--eval-interval", type=int, help=f"steps between evaluations and checkpoints "
                   f"(default {d['eval_interval']})")
    g.add_argument("--eval-tokens", type=int, help=f"validation tokens per evaluation (default {d['eval_tokens']})")
    g.add_argument("--out", help="output folder (default runs/<corpus>-<cell>, or -2, -3, ... if that holds a run)")
    g.add_argument("--resume", action="store_true", help="continue the run saved in --out (default: the newest "
                   "runs/<corpus>-<cell> folder)")
    g.add_argument("--reset-optimizer", action="store_true", help="with --resume: start the optimizer's state "
                   "(its moments and step counts) afresh; a checkpoint without one is refused unless this is given")
    g.add_argument("--prompt", help="the samples' prompt (default 'ROMEO:' on Shakespeare)")
    g.add_argument("--temperatures", type=float, nargs="+", help="sampling temperatures (default 0.2 0.5 1.0 1.5)")
    g.add_argument("--sample-length", type=int, help=f"tokens per sample (default {d['sample_length']})")
    g.add_argument("--seed", type=int, help=f"default {d['seed']}")
    g.add_argument("--device", help="cpu or cuda (default cpu)")
    g.add_argument("--dtype", choices=CHOICES["dtype"], help="default float32")
    g.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")
    g.add_argument("--distributed", action="store_true", help="train data-parallel on the ranks that mpiexec "
                   "started (mpiexec -n 2 python -m minigen train --distributed): --batch-size is the global batch, "
                   "split evenly among them; rank 0 prints and saves. Needs the distributed extra")
    p.set_defaults(func=cmd_train)


def _given(args) -> dict:
    return {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}


def _corpus_text(name: str) -> str:
    if name == "shakespeare":
        return shakespeare()
    if name == "python":
        return python_source()
    return load_text(name)


def _default_out(cfg) -> str:
    corpus = cfg["corpus"] if cfg["corpus"] in BUILTIN_CORPORA else \
        os.path.splitext(os.path.basename(os.path.normpath(cfg["corpus"])))[0]
    return os.path.join("runs", f"{corpus}-{cfg['cell'] if cfg['model'] == 'rnn' else cfg['model']}")


def _latest_run(base: str) -> str:
    """The newest of ``base``, ``base-2``, ``base-3``, ... that holds a checkpoint (``base`` if none does)."""
    latest, n = base, 2
    while os.path.exists(os.path.join(f"{base}-{n}", CHECKPOINT_NAME)):
        latest, n = f"{base}-{n}", n + 1
    return latest


def _train_tokenizer(cfg, text):
    if cfg["tokenizer"] == "char":
        return CharTokenizer.train(text)
    if cfg["tokenizer"] == "word":
        return WordTokenizer.train(text, max_tokens=cfg["vocab_size"])
    return BPETokenizer.train(text, vocab_size=cfg["vocab_size"] or 2000)


def _optimizer(cfg, params):
    kind, lr, wd = cfg["optimizer"], cfg["lr"], cfg["weight_decay"]
    if kind == "adam":
        return minigen.optim.Adam(params, lr=lr, weight_decay=wd)
    if kind == "adamw":
        return minigen.optim.AdamW(params, lr=lr, weight_decay=wd)
    if kind == "sgd":
        return minigen.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    return minigen.optim.RMSprop(params, lr=lr, weight_decay=wd)


def _check_fit(cfg, given) -> None:
    """Options that do not fit the model or the tokenizer of the run."""
    for k in sorted(given.keys() & ONLY_FOR.keys()):
        setting, values = ONLY_FOR[k]
        rules.require(cfg[setting] in values, "", flag(k), f"left out with --{setting} {cfg[setting]} "
                      f"(it is for {' or '.join(values)})", rules.describe(given[k]))
    if "vocab_size" in given:                   # for word or bpe: the loop above refused it for char
        rules.integer("", "--vocab-size", given["vocab_size"], MIN_VOCAB_SIZE[cfg["tokenizer"]])
    width, heads = cfg["n_embd"], cfg["n_head"]     # a GPT's; an RNN run cannot set them (the loop above)
    rules.require(width % heads == 0, "", "--n-embd", f"divisible by --n-head {heads}", width)


def _config(args):
    """The run's settings: defaults < the checkpoint's (on --resume) < the command line.

    Returns ``(cfg, saved, tuned)``: ``saved`` is the checkpoint resumed (or None) and
    ``tuned`` the TUNABLE settings changed on resume, as ``{name: (old, new)}``.
    """
    given = _given(args)
    if "time" in given:
        given["time"] = parse_duration(given["time"])
    check_settings(given)
    rules.require(args.resume or not args.reset_optimizer, "", "--reset-optimizer", "given with --resume only", "it")
    cfg = dict(DEFAULTS)
    if given.get("model") == "gpt":
        cfg.update(GPT_DEFAULTS)
    saved, tuned = None, {}
    if args.resume:
        out = given.get("out") or _latest_run(_default_out({**cfg, **given}))
        path = os.path.join(out, CHECKPOINT_NAME)
        rules.require(os.path.exists(path), "", "--resume", f"a run's folder, with its {CHECKPOINT_NAME}", out)
        saved = load_checkpoint(path)
        run = saved_run(saved)
        rules.require(run, "", "--resume", "a checkpoint written by `minigen train`", path)
        _check_fit({**cfg, **run, **given}, given)
        if "corpus" in given and same_corpus(given["corpus"], run.get("corpus", "")):
            given["corpus"] = run["corpus"]         # the same file, named from another folder
        refuse_changes(given, run, RESUMABLE)
        tuned = {k: (run.get(k), given[k]) for k in TUNABLE if k in given and given[k] != run.get(k)}
        cfg.update({**OLDER_RUNS, **run})
        cfg["out"] = out
        corpus = cfg["corpus"]            # an older checkpoint keeps the path as it was typed (_RELATIVE)
        typed = corpus not in BUILTIN_CORPORA and not os.path.isabs(corpus) and "corpus" not in given
        rules.require(not typed or os.path.exists(corpus), "--resume", "--corpus", _RELATIVE, repr(corpus))
    cfg.update(given)
    if not saved:
        _check_fit(cfg, given)
    if cfg["steps"] is None and cfg["time"] is None:
        cfg["time"] = DEFAULT_TIME
    if not cfg["out"]:                      # a fresh folder, so that running the main job twice loses nothing
        base = cfg["out"] = _default_out(cfg)
        n = 1
        while os.path.exists(os.path.join(cfg["out"], CHECKPOINT_NAME)):
            n += 1
            cfg["out"] = f"{base}-{n}"
    return cfg, saved, tuned


def _check_out(out: str) -> None:
    """--out must be a folder that can be created and written, found out before any training."""
    path = os.path.abspath(out)
    while not os.path.exists(path):                 # the nearest part of the path that exists
        path = os.path.dirname(path)
    where = repr(out) if path == os.path.abspath(out) else f"{out!r}, inside {path}"
    rules.require(os.path.isdir(path), "", "--out", "a folder for the run", f"{where}, which is a file")
    rules.require(os.access(path, os.W_OK | os.X_OK), "", "--out", "a folder you can write to", f"{where} (read-only)")


def _make_out(out: str) -> None:
    """Create --out and make sure a file can be written there (a read-only disk shows only now)."""
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise ValueError(f"--out {out!r} cannot be written: {e.strerror or e}; give a folder you can "
                         "write to") from None


def _build_model(cfg, vocab_size):
    try:
        if cfg["model"] == "gpt":
            return GPT(GPTConfig(vocab_size=vocab_size, block_size=cfg["seq_len"], n_layer=cfg["n_layer"],
                                 n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=cfg["dropout"]))
        return RNNLanguageModel(vocab_size, cfg["embed_dim"], cfg["hidden_size"], cfg["num_layers"],
                                cell=cfg["cell"], dropout=cfg["dropout"],
                                learn_initial_state=cfg["learn_initial_state"])
    except MemoryError:
        raise ValueError(f"out of memory building the model; lower {_sizes(cfg)}") from None


def _check_model_settings(cfg, config: dict, path: str) -> None:
    """On --resume: the run's settings that shape the model agree with the model's saved config."""
    with entries_of(path) as fn:
        rules.choice(fn, "extra.run.model", cfg["model"], ({"rnn_lm": "rnn", "gpt": "gpt"}[config["model_type"]],))
        for k, e in MODEL_ENTRIES[cfg["model"]].items():     # the run's setting k, the config's entry e
            want = config.get(e, OLDER_RUNS.get(k))                 # an older model's config lacks newer entries
            rules.require(cfg[k] == want, fn, f"extra.run.{k}", f"{want!r}, as config.{e}", repr(cfg[k]))


def _sizes(cfg) -> str:
    """The options that set the model's size, with their values."""
    names = ("hidden_size", "embed_dim", "num_layers") if cfg["model"] == "rnn" else ("n_embd", "n_layer", "seq_len")
    return ", ".join(f"{flag(k)} ({cfg[k]})" for k in names)


def _val_chars(tokenizer, text: str, n_train: int):
    """Characters of raw ``text`` behind the validation ids (``encode(text)[n_train:]``), for bits per character.

    None leaves it to the trainer, which decodes the ids: exact for characters and BPE.
    A word tokenizer's decoding drops punctuation and case, so the raw text is measured.
    """
    if tokenizer.kind != "word":
        return None
    starts = tokenizer.offsets(text)
    return len(text) - int(starts[n_train]) if n_train < len(starts) else None


def _silent(*args, **kwargs) -> None:
    """The prints of ranks other than 0."""


def _fit(trainer, group):
    """``trainer.fit()``; under mpiexec, an error on one rank stops every rank (they would wait for it forever)."""
    try:
        return trainer.fit()
    except Exception as e:
        if group is not None and group.world_size > 1:
            where = "" if group.is_main else f" (rank {group.rank})"
            print(f"minigen train: error{where}: {e}", file=sys.stderr, flush=True)
            group.abort(1)
        raise


def cmd_train(args) -> int:
    backend.tune_malloc()
    group = distributed.init() if args.distributed else None
    say = print if group is None or group.is_main else _silent      # rank 0 speaks for all
    cfg, saved, tuned = _config(args)
    ranks = group.world_size if group is not None else 1
    if cfg["batch_size"] % ranks and args.batch_size is None and not saved:   # the default, made to split evenly
        cfg["batch_size"] -= cfg["batch_size"] % ranks
        say(f"--batch-size {cfg['batch_size']}: the default, rounded down to a multiple of the {ranks} ranks")
    rules.require(cfg["batch_size"] % ranks == 0, "", "--batch-size", f"a multiple of the {ranks} ranks (each takes "
                  "an equal share of every batch)", cfg["batch_size"])
    ckpt = os.path.join(cfg["out"], CHECKPOINT_NAME)
    rules.require(saved or not os.path.exists(ckpt), "", "--out", "a new folder, or given with --resume", repr(ckpt))
    if saved:
        loop = loop_state(saved, args.reset_optimizer)
        why = nothing_left(cfg, loop["step"], loop["elapsed"])
        if why:
            raise ValueError(why)
    _check_out(cfg["out"])
    check_device(cfg["device"])                 # before the corpus is read, which can take a while
    minigen.manual_seed(cfg["seed"])
    minigen.set_default_dtype(cfg["dtype"])
    if saved:                                   # the same loader, and the same checks, as `minigen sample`
        model, tokenizer, _ = load_model(saved)
        _check_model_settings(cfg, model.config, saved.path)

    text = _corpus_text(cfg["corpus"])
    if cfg["corpus"] not in BUILTIN_CORPORA:    # saved absolute, so that the run resumes from any folder
        cfg["corpus"] = os.path.abspath(cfg["corpus"])
    if not saved:
        tokenizer = _train_tokenizer(cfg, text)
    ids = tokenizer.encode(text)
    fingerprint = zlib.crc32(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    same = not saved or saved.meta["extra"]["run"].get("fingerprint") == fingerprint
    rules.require(same, "--resume", "--corpus", "the text the run trained on", f"{cfg['corpus']!r}, changed since")
    cfg["fingerprint"] = fingerprint
    train_ids, val_ids = train_val_split(ids, cfg["val_fraction"])
    if len(val_ids) < 2:
        val_ids = np.zeros(0, dtype=np.asarray(ids).dtype)
    # a recurrent model reads --batch-size streams of at least --seq-len + 1 tokens; a GPT, one window
    need = (cfg["batch_size"] if cfg["model"] == "rnn" else 1) * (cfg["seq_len"] + 1)
    rules.require(len(train_ids) >= need, "", "--corpus", f"a text of {need:,} training tokens or more for "
                  f"--batch-size {cfg['batch_size']} and --seq-len {cfg['seq_len']}", f"{len(train_ids):,}")

    if not saved:
        model = _build_model(cfg, tokenizer.vocab_size)
    if cfg["device"] != "cpu":
        model.to(cfg["device"])
    optimizer = _optimizer(cfg, model.parameters())
    prompt_given = cfg["prompt"] is not None
    prompt = cfg["prompt"] = cfg["prompt"] or ("ROMEO:" if cfg["corpus"] == "shakespeare"
                                                  else text.lstrip().splitlines()[0][:16])
    what = "--prompt" if prompt_given else "the default sample prompt (set one with --prompt)"
    prompt_ids("", what, tokenizer, prompt)
    callbacks = [TextGenerator(tokenizer, prompt, cfg["temperatures"], cfg["sample_length"], seed=cfg["seed"]),
                 LossCurve(os.path.join(cfg["out"], "loss.png"))]
    trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer,
                      val_chars=_val_chars(tokenizer, text, len(train_ids)), batch_size=cfg["batch_size"],
                      seq_len=cfg["seq_len"], max_steps=cfg["steps"], time_budget=cfg["time"],
                      warmup_steps=cfg["warmup_steps"], lr_schedule=cfg["lr_schedule"],
                      min_lr_ratio=cfg["min_lr_ratio"], grad_clip=cfg["grad_clip"] or None,
                      eval_interval=cfg["eval_interval"], eval_tokens=cfg["eval_tokens"],
                      fresh_state_every=cfg["fresh_state_every"],
                      checkpoint_dir=cfg["out"], callbacks=callbacks, device=None if cfg["device"] == "cpu"
                      else cfg["device"], progress=cfg["progress"], seed=cfg["seed"], run_config=cfg, group=group)
    n_params = sum(p.numel() for p in model.parameters())
    shape = (f"GPT, {cfg['n_layer']} layers, {cfg['n_head']} heads, width {cfg['n_embd']}, context {cfg['seq_len']}"
             if cfg["model"] == "gpt" else f"{cfg['num_layers']}-layer {cfg['cell'].upper()}, hidden "
             f"{cfg['hidden_size']}, embedding {cfg['embed_dim']}")
    if saved:
        trainer.resume(saved, reset_optimizer=args.reset_optimizer)
        say(f"resuming {ckpt} at step {trainer.step} ({trainer.elapsed:.0f} s trained)")
        if tuned:
            say(f"changed on resume, from step {trainer.step + 1} on: "
                  + ", ".join(f"{flag(k)} {old!r} -> {new!r}" for k, (old, new) in tuned.items()))
    say(f"corpus {cfg['corpus']}: {len(text):,} characters, {len(ids):,} tokens ({tokenizer.kind} tokenizer, "
          f"vocabulary {tokenizer.vocab_size}); {len(train_ids):,} for training, {len(val_ids):,} for validation")
    say(f"model: {shape}: {n_params:,} parameters; batch {cfg['batch_size']} x {cfg['seq_len']}; "
          f"{cfg['optimizer']} lr {cfg['lr']:g}; training {plan(cfg, trainer.step, trainer.elapsed)}; saving to "
          f"{cfg['out']}", flush=True)
    if len(val_ids) == 0:
        say(f"validation is off (--val-fraction {cfg['val_fraction']:g} leaves no validation text): no "
              "validation loss will be reported")
    if group is None or group.is_main:
        _make_out(cfg["out"])
    try:
        metrics = _fit(trainer, group)
    except MemoryError:
        saved_at = f"; the checkpoint of step {trainer.last_checkpoint[1]} is intact" if trainer.last_checkpoint \
            else ""
        raise ValueError(f"out of memory while training at step {trainer.step + 1}{saved_at}; lower --batch-size, "
                         f"--seq-len, or {_sizes(cfg)}") from None
    val = (f", validation loss {metrics['val_loss']:.4f} nats/token ({metrics['bits_per_char']:.3f} bits/char)"
           if metrics.get("val_loss") is not None else "")
    out = shlex.quote(cfg["out"])
    if trainer.interrupted:                     # the trainer said where it stopped and saved
        say(f"resume with:  python -m minigen train --resume --out {out}")
        return 130
    say(f"done: step {trainer.step}{val} after {trainer.elapsed:.0f} s")
    say(f"continue it:  python -m minigen sample --checkpoint {out} --prompt {shlex.quote(prompt)}")
    return 0
