"""``minigen train``: train a language model on a corpus, with progress, samples and checkpoints.

With no arguments it runs minigen's main job: a 2-layer character LSTM on all of
Shakespeare for 10 minutes, printing samples at four temperatures at every
evaluation and writing ``runs/shakespeare-lstm/checkpoint.safetensors`` and
``loss.png``. ``--resume`` continues a run that was stopped or killed.
"""

from __future__ import annotations

import os
import re
import zlib

import numpy as np

import minigen
from minigen import backend
from minigen.checkpoint import load_checkpoint
from minigen.data import (BPETokenizer, CharTokenizer, WordTokenizer, load_text, python_source, shakespeare,
                          tokenizer_from_dict, train_val_split)
from minigen.models import GPT, GPTConfig, RNNLanguageModel
from minigen.train import CHECKPOINT_NAME, LossCurve, TextGenerator, Trainer

# Every option, with its default. On --resume the run's saved values are used, and
# only the options in RESUMABLE may be changed; the rest fix the model and the data.
DEFAULTS = dict(
    corpus="shakespeare", tokenizer="char", vocab_size=None, val_fraction=0.1,
    model="rnn", cell="lstm", embed_dim=64, hidden_size=256, num_layers=2, dropout=0.0,
    n_layer=4, n_head=4, n_embd=128,
    optimizer="adam", lr=4e-3, weight_decay=0.0, batch_size=64, seq_len=64, grad_clip=1.0,
    warmup_steps=100, lr_schedule="cosine", min_lr_ratio=0.05,
    steps=None, time=None, eval_interval=250, eval_tokens=65536,
    out=None, prompt=None, temperatures=[0.2, 0.5, 1.0, 1.5], sample_length=200,
    seed=0, device="cpu", dtype="float32", progress=True,
)
# A GPT trains differently from an LSTM: these replace the defaults above for --model gpt.
# Chosen for 10 minutes on 2 CPU cores: many small steps learn more in the time than few large
# ones (150-second trials: width 192, B=32, T=128 at lr 1e-3 reached 2.43; this, 1.87).
GPT_DEFAULTS = dict(batch_size=16, seq_len=64, lr=3e-3, optimizer="adamw", weight_decay=0.1, warmup_steps=100)
RESUMABLE = {"steps", "time", "eval_interval", "eval_tokens", "prompt", "temperatures", "sample_length",
             "device", "progress", "out"}
DEFAULT_TIME = 600.0


def parse_duration(text: str) -> float:
    """Seconds in ``"600"``, ``"90s"``, ``"10m"``, ``"1.5h"``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--time must be a positive duration such as 600, 90s, 10m or 1.5h, got {text!r}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a language model (default: char LSTM on Shakespeare, 10 minutes)",
                       description=__doc__.split("\n\n")[1].replace("\n", " "))
    d = DEFAULTS            # the parser's defaults are None, so that _config can tell what was given
    gd = GPT_DEFAULTS

    def both(key):          # "default 0.004; 0.003 for --model gpt"
        return f"default {d[key]}" + (f"; {gd[key]} for --model gpt" if gd.get(key, d[key]) != d[key] else "")
    g = p.add_argument_group("data")
    g.add_argument("--corpus", help=f"'shakespeare', 'python' (the stdlib's source), or a UTF-8 file or folder "
                   f"(default {d['corpus']})")
    g.add_argument("--tokenizer", choices=["char", "word", "bpe"], help="default char")
    g.add_argument("--vocab-size", type=int, help="word: max_tokens; bpe: vocabulary size (default 2000)")
    g.add_argument("--val-fraction", type=float, help=f"held out for validation (default {d['val_fraction']})")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=["rnn", "gpt"], help="a recurrent network (default) or a GPT")
    g.add_argument("--cell", choices=["lstm", "gru", "rnn"], help="--model rnn: the cell (default lstm)")
    g.add_argument("--embed-dim", type=int, help=f"default {d['embed_dim']}")
    g.add_argument("--hidden-size", type=int, help=f"default {d['hidden_size']}")
    g.add_argument("--num-layers", type=int, help=f"default {d['num_layers']}")
    g.add_argument("--dropout", type=float, help=f"default {d['dropout']}")
    g.add_argument("--n-layer", type=int, help=f"--model gpt: blocks (default {d['n_layer']})")
    g.add_argument("--n-head", type=int, help=f"--model gpt: attention heads (default {d['n_head']})")
    g.add_argument("--n-embd", type=int, help=f"--model gpt: width (default {d['n_embd']}); --seq-len is the "
                   "block size")
    g = p.add_argument_group("optimization")
    g.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"], help=both("optimizer"))
    g.add_argument("--lr", type=float, help=f"peak learning rate ({both('lr')})")
    g.add_argument("--weight-decay", type=float, help=both("weight_decay"))
    g.add_argument("--batch-size", type=int, help=both("batch_size"))
    g.add_argument("--seq-len", type=int, help=f"BPTT length, or a GPT's context ({both('seq_len')})")
    g.add_argument("--grad-clip", type=float, help=f"max gradient norm, 0 for none (default {d['grad_clip']})")
    g.add_argument("--warmup-steps", type=int, help=both("warmup_steps"))
    g.add_argument("--lr-schedule", choices=["cosine", "constant"], help="default cosine")
    g.add_argument("--min-lr-ratio", type=float, help=f"cosine floor, times the peak (default {d['min_lr_ratio']})")
    g = p.add_argument_group("run")
    g.add_argument("--steps", type=int, help="stop after this many steps")
    g.add_argument("--time", help="stop after this long: 600, 90s, 10m, 1.5h (default 10m when --steps is not given)")
    g.add_argument("--eval-interval", type=int, help=f"steps between evaluations and checkpoints "
                   f"(default {d['eval_interval']})")
    g.add_argument("--eval-tokens", type=int, help=f"validation tokens per evaluation (default {d['eval_tokens']})")
    g.add_argument("--out", help="output folder (default runs/<corpus>-<cell>, or -2, -3, ... if that holds a run)")
    g.add_argument("--resume", action="store_true", help="continue the run saved in --out (default: the newest "
                   "runs/<corpus>-<cell> folder)")
    g.add_argument("--prompt", help="the samples' prompt (default 'ROMEO:' on Shakespeare)")
    g.add_argument("--temperatures", type=float, nargs="+", help="sampling temperatures (default 0.2 0.5 1.0 1.5)")
    g.add_argument("--sample-length", type=int, help=f"tokens per sample (default {d['sample_length']})")
    g.add_argument("--seed", type=int, help=f"default {d['seed']}")
    g.add_argument("--device", help="cpu or cuda (default cpu)")
    g.add_argument("--dtype", choices=["float32", "float64"], help="default float32")
    g.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")
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
    corpus = cfg["corpus"] if cfg["corpus"] in ("shakespeare", "python") else \
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


def _config(args):
    """The run's settings: defaults < the checkpoint's (on --resume) < the command line."""
    given = _given(args)
    cfg = dict(DEFAULTS)
    if given.get("model") == "gpt":
        cfg.update(GPT_DEFAULTS)
    saved = None
    if args.resume:
        out = given.get("out") or _latest_run(_default_out({**cfg, **given}))
        path = os.path.join(out, CHECKPOINT_NAME)
        if not os.path.exists(path):
            raise ValueError(f"--resume: there is no checkpoint to resume in {out} (expected {path})")
        saved = load_checkpoint(path)
        run = saved.meta.get("extra", {}).get("run")
        if not run:
            raise ValueError(f"--resume: {path} was not written by `minigen train`")
        changed = sorted(k for k, v in given.items() if k not in RESUMABLE and v != run.get(k))
        if changed:
            k = changed[0]
            raise ValueError(f"--resume: --{k.replace('_', '-')} cannot change on resume (the run has "
                             f"{run.get(k)!r}, given {given[k]!r}); start a new run with another --out")
        cfg.update(run)
        cfg["out"] = out
    cfg.update(given)
    if cfg["time"] is not None and not isinstance(cfg["time"], float):
        cfg["time"] = parse_duration(cfg["time"])
    if cfg["steps"] is None and cfg["time"] is None:
        cfg["time"] = DEFAULT_TIME
    if not cfg["out"]:                      # a fresh folder, so that running the main job twice loses nothing
        base = cfg["out"] = _default_out(cfg)
        n = 1
        while os.path.exists(os.path.join(cfg["out"], CHECKPOINT_NAME)):
            n += 1
            cfg["out"] = f"{base}-{n}"
    return cfg, saved


def cmd_train(args) -> int:
    backend.tune_malloc()
    cfg, saved = _config(args)
    ckpt = os.path.join(cfg["out"], CHECKPOINT_NAME)
    if saved is None and os.path.exists(ckpt):
        raise ValueError(f"{ckpt} already exists; pass --resume to continue that run, or --out to start a new one")
    minigen.manual_seed(cfg["seed"])
    minigen.set_default_dtype(cfg["dtype"])

    text = _corpus_text(cfg["corpus"])
    tokenizer = tokenizer_from_dict(saved.meta["tokenizer"]) if saved else _train_tokenizer(cfg, text)
    ids = tokenizer.encode(text)
    fingerprint = zlib.crc32(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    if saved and saved.meta["extra"]["run"].get("fingerprint") != fingerprint:
        raise ValueError(f"--resume: the corpus {cfg['corpus']!r} has changed since the checkpoint was written; "
                         "resuming on different data would not continue the same run")
    cfg["fingerprint"] = fingerprint
    train_ids, val_ids = train_val_split(ids, cfg["val_fraction"])

    if cfg["model"] == "gpt":
        model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=cfg["seq_len"], n_layer=cfg["n_layer"],
                              n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=cfg["dropout"]))
    else:
        model = RNNLanguageModel(tokenizer.vocab_size, cfg["embed_dim"], cfg["hidden_size"], cfg["num_layers"],
                                 cell=cfg["cell"], dropout=cfg["dropout"])
    if cfg["device"] != "cpu":
        model.to(cfg["device"])
    optimizer = _optimizer(cfg, model.parameters())
    prompt = cfg["prompt"] = cfg["prompt"] or ("ROMEO:" if cfg["corpus"] == "shakespeare"
                                                  else text.lstrip().splitlines()[0][:16])
    callbacks = [TextGenerator(tokenizer, prompt, cfg["temperatures"], cfg["sample_length"], seed=cfg["seed"]),
                 LossCurve(os.path.join(cfg["out"], "loss.png"))]
    trainer = Trainer(model, optimizer, train_ids, val_ids, tokenizer=tokenizer, batch_size=cfg["batch_size"],
                      seq_len=cfg["seq_len"], max_steps=cfg["steps"], time_budget=cfg["time"],
                      warmup_steps=cfg["warmup_steps"], lr_schedule=cfg["lr_schedule"],
                      min_lr_ratio=cfg["min_lr_ratio"], grad_clip=cfg["grad_clip"] or None,
                      eval_interval=cfg["eval_interval"], eval_tokens=cfg["eval_tokens"],
                      checkpoint_dir=cfg["out"], callbacks=callbacks, device=None if cfg["device"] == "cpu"
                      else cfg["device"], progress=cfg["progress"], seed=cfg["seed"], run_config=cfg)
    n_params = sum(p.numel() for p in model.parameters())
    shape = (f"GPT, {cfg['n_layer']} layers, {cfg['n_head']} heads, width {cfg['n_embd']}, context {cfg['seq_len']}"
             if cfg["model"] == "gpt" else f"{cfg['num_layers']}-layer {cfg['cell'].upper()}, hidden "
             f"{cfg['hidden_size']}, embedding {cfg['embed_dim']}")
    if saved:
        trainer.resume(saved)
        print(f"resuming {ckpt} at step {trainer.step} ({trainer.elapsed:.0f} s trained)")
    limit = " and ".join(([f"{cfg['steps']} steps"] if cfg["steps"] else []) +
                         ([f"{cfg['time']:.0f} s"] if cfg["time"] else []))
    print(f"corpus {cfg['corpus']}: {len(text):,} characters, {len(ids):,} tokens ({tokenizer.kind} tokenizer, "
          f"vocabulary {tokenizer.vocab_size}); {len(train_ids):,} for training, {len(val_ids):,} for validation")
    print(f"model: {shape}: {n_params:,} parameters; batch {cfg['batch_size']} x {cfg['seq_len']}; "
          f"{cfg['optimizer']} lr {cfg['lr']:g}; training for {limit}; saving to {cfg['out']}", flush=True)
    metrics = trainer.fit()
    if metrics.get("val_loss") is not None:
        print(f"done: step {trainer.step}, validation loss {metrics['val_loss']:.4f} nats/token "
              f"({metrics['bits_per_char']:.3f} bits/char) after {trainer.elapsed:.0f} s")
    print(f"continue it:  python -m minigen sample --checkpoint {cfg['out']} --prompt {prompt!r}")
    return 0
