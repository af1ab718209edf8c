"""``minigen sample``: continue a prompt with a trained model, printing the text as it is generated."""

from __future__ import annotations

import os
import sys
from functools import partial

import numpy as np

from minigen import backend, rules
from minigen.checkpoint import load_model
from minigen.sample import WatermarkDetector, generate, stream_generate
from minigen.train import CHECKPOINT_NAME
from minigen.train.callbacks import prompt_ids

from ._checks import SCALE_RANGE, check_device, check_settings, flag, temperature, text
from ._resume import saved_run


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate text from a trained checkpoint")
    p.add_argument("--checkpoint", required=True, help="a run folder (from `minigen train`) or a .safetensors file")
    p.add_argument("--prompt", help="the text to continue (default: the run's sample prompt)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float,
                   help=f"softmax temperature; 0 is greedy, else within {SCALE_RANGE[0]:g} to {SCALE_RANGE[1]:g} "
                   "(default 0.8)")
    p.add_argument("--seed", type=int, default=None, help="seed for the same text every time (default: random)")
    p.add_argument("--top-k", type=int, help="keep the k likeliest tokens; 0 is off (default)")
    p.add_argument("--top-p", type=float, help="keep the smallest set with this mass (default 1: off)")
    p.add_argument("--min-p", type=float, default=None, help="drop tokens below min_p times the top probability")
    p.add_argument("--typical-p", type=float, help="locally typical sampling mass (default 1: off)")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="> 1 discourages repeats, < 1 encourages "
                   f"them, within {SCALE_RANGE[0]:g} to {SCALE_RANGE[1]:g} (default 1)")
    p.add_argument("--no-repeat-ngram-size", type=int, default=0, help="never repeat an n-gram of this size")
    p.add_argument("--num-beams", type=int, default=1, help="beam search with this many beams (default 1: off)")
    p.add_argument("--length-penalty", type=float, default=1.0, help="beam search: exponent of the length norm, "
                   "within -10 to 10 (default 1)")
    p.add_argument("--num-return-sequences", type=int, default=1, help="continuations to print (default 1)")
    p.add_argument("--epsilon-cutoff", type=float, help="epsilon sampling: drop tokens below this probability, in "
                   "(0, 1) (default: off)")
    p.add_argument("--eta-cutoff", type=float, help="eta sampling: drop tokens below min(eta, sqrt(eta) exp(-entropy)),"
                   " eta in (0, 1) (default: off)")
    p.add_argument("--guidance-scale", type=float, help="classifier-free guidance: the scores become uncond + "
                   "scale * (cond - uncond), uncond read from --negative-prompt (default: the prompt's last token)")
    p.add_argument("--negative-prompt", metavar="TEXT", help="with --guidance-scale: the text to steer away from")
    p.add_argument("--watermark", action="store_true", help="add a green-list watermark (Kirchenbauer et al. 2023, "
                   "Hugging Face's defaults) and print the detector's z-score of the continuation")
    p.add_argument("--stop", action="append", default=None, metavar="TEXT",
                   help="stop a continuation once it ends with TEXT, kept in the output (repeatable)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.set_defaults(func=cmd_sample)


# The sampling options, None on the command line so that one given with --num-beams is seen.
SAMPLING = dict(temperature=0.8, top_k=0, top_p=1.0, min_p=None, typical_p=1.0, seed=None, epsilon_cutoff=None,
                eta_cutoff=None)
_NOT_WITH_BEAMS = "left out with --num-beams {} (beam search does not sample)"
# Each option's rule (checked before the checkpoint is read); an option left out (None) passes.
OPTIONS = {
    **dict.fromkeys(("num_beams", "num_return_sequences"), rules.positive_int),
    **dict.fromkeys(("length", "seed", "top_k", "no_repeat_ngram_size"), rules.non_negative_int),
    "temperature": temperature,
    "length_penalty": partial(rules.real, lo=-10, hi=10),          # a score is divided by length ** length_penalty
    **dict.fromkeys(("top_p", "typical_p"), partial(rules.real, lo=0, hi=1, lo_open=True)),
    "min_p": partial(rules.real, lo=0, hi=1),
    **dict.fromkeys(("epsilon_cutoff", "eta_cutoff"), partial(rules.real, lo=0, hi=1, lo_open=True, hi_open=True)),
    "guidance_scale": rules.real, "negative_prompt": text,
    "repetition_penalty": partial(rules.real, lo=SCALE_RANGE[0], hi=SCALE_RANGE[1]),
    "prompt": text, "stop": lambda fn, name, stops: [text(fn, name, s) for s in stops],
}


def _check_options(args) -> None:
    """Every option, before the checkpoint is read or anything is printed."""
    check_settings(vars(args), OPTIONS, may_be_none=OPTIONS)
    n, beams = args.num_return_sequences, args.num_beams
    for name in (*SAMPLING, "guidance_scale") if beams > 1 else ():     # sampling options, which beam search lacks
        rules.require(getattr(args, name) is None, "", flag(name), _NOT_WITH_BEAMS.format(beams), getattr(args, name))
    rules.require(beams == 1 or n <= beams, "", "--num-return-sequences", "<= --num-beams", f"{n} > {beams}")
    rules.require(args.negative_prompt is None or args.guidance_scale is not None, "", "--negative-prompt",
                  "given with --guidance-scale", repr(args.negative_prompt))
    check_device(args.device)


def _load(path, device: str):
    """``(model, tokenizer, checkpoint)`` from a run folder or a checkpoint file, every entry checked."""
    path = os.fspath(path)
    model, tokenizer, ck = load_model(os.path.join(path, CHECKPOINT_NAME) if os.path.isdir(path) else path)
    if device != "cpu":
        model.to(device)
    return model, tokenizer, ck


def _cut_at_stop(text: str, stops) -> str:
    """``text`` up to the first stop string, kept, as sampling stops (a finished row's padding dropped)."""
    ends = [text.find(s) + len(s) for s in stops or () if s in text]
    return text[:min(ends)] if ends else text


def cmd_sample(args) -> int:
    _check_options(args)
    for name, default in SAMPLING.items():      # the sampling options left out
        if getattr(args, name) is None:
            setattr(args, name, default)
    model, tokenizer, ck = _load(args.checkpoint, args.device)
    prompt = args.prompt if args.prompt is not None else saved_run(ck).get("prompt") or "\n"
    ids = prompt_ids("", "--prompt" if args.prompt is not None else "the run's prompt", tokenizer, prompt)   # (1, P)
    ids = backend.asarray_like(ids, next(iter(model.parameters())).data)                   # on the model's device
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**32)
    options = dict(do_sample=args.temperature > 0, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                   min_p=args.min_p, typical_p=args.typical_p, repetition_penalty=args.repetition_penalty,
                   no_repeat_ngram_size=args.no_repeat_ngram_size, stop_strings=args.stop, tokenizer=tokenizer,
                   seed=seed, epsilon_cutoff=args.epsilon_cutoff, eta_cutoff=args.eta_cutoff,
                   watermarking_config={} if args.watermark else None)
    if args.guidance_scale is not None:
        negative = (prompt_ids("", "--negative-prompt", tokenizer, args.negative_prompt)
                    if args.negative_prompt is not None else None)
        options.update(guidance_scale=args.guidance_scale, negative_prompt_ids=negative)
    if args.num_beams > 1 or args.num_return_sequences > 1:        # whole continuations, printed at the end
        out = generate(model, ids, args.length, num_beams=args.num_beams, length_penalty=args.length_penalty,
                       num_return_sequences=args.num_return_sequences, **options)
        P = ids.shape[1]
        for k, row in enumerate(backend.to_numpy(out)):
            if args.num_return_sequences > 1:
                print(f"----- {k + 1}")
            print(tokenizer.decode(row[:P]) + (" " if tokenizer.kind == "word" else "")
                  + _cut_at_stop(tokenizer.decode(row[P:]), args.stop))
            _report_watermark(args, tokenizer, row[P - 1:])
        return 0
    tokens = stream_generate(model, ids, args.length, **options)   # checks its options before the prompt shows
    sys.stdout.write(prompt + (" " if tokenizer.kind == "word" else ""))   # one continuation, printed as it comes
    new, shown = [], ""
    try:
        for token in tokens:
            new.append(int(backend.to_numpy(token)[0]))
            text = tokenizer.decode(np.array(new))
            stable = text.rstrip("\ufffd")              # a byte-level token may end inside a character
            sys.stdout.write(stable[len(shown):])
            sys.stdout.flush()
            shown = stable
    except ValueError as e:                             # mid-text: end the line, then say where it stopped
        sys.stdout.write("\n")
        sys.stdout.flush()
        hint = (f" (--no-repeat-ngram-size {args.no_repeat_ngram_size} may have banned every next token)"
                if args.no_repeat_ngram_size else "")
        raise ValueError(f"stopped after {len(new)} new tokens: {e}{hint}") from None
    sys.stdout.write(tokenizer.decode(np.array(new))[len(shown):] + "\n")
    _report_watermark(args, tokenizer, np.array([int(backend.to_numpy(ids)[0, -1])] + new))
    return 0


def _report_watermark(args, tokenizer, ids) -> None:
    """With --watermark: the detector's z-score of the new tokens (the prompt's last token seeds the first)."""
    if args.watermark and len(ids) > 1:
        out = WatermarkDetector(tokenizer.vocab_size)(np.asarray(ids)[None, :], return_dict=True)
        print(f"watermark: z = {float(out.z_score[0]):.2f} over {int(out.num_tokens_scored[0])} tokens, "
              f"green fraction {float(out.green_fraction[0]):.2f} (0.25 expected without a watermark)")
