"""RL fine-tuning toward a lipogram: ``minigen finetune --reward lipogram:e`` on a trained run, before and after.

    python benchmarks/finetune_lipogram.py runs/main [--steps N] [--samples 128] [--length 200] [--threads 2]

Fine-tunes the run (the main job's 10-minute checkpoint) with the command a user
types, ``minigen finetune --checkpoint RUN --reward lipogram:e`` and its defaults
(``--steps N`` passes that option on; leave it out for the real figures), into a
temporary folder, then compares samples of the original and the fine-tuned model.

Samples: ``--samples`` continuations of ``--length`` tokens after random 16-token
windows of the run's training text (one seeded draw, the same prompts and seed for
both models), drawn as ``minigen sample`` draws by default: temperature 0.8, top_k 0.
The figures, each for the original and the fine-tuned model:

- ``e_rate``: the share of 'e' and 'E' among the generated characters. Beside it,
  ``corpus_e_rate``: the same share in the run's whole corpus. Target after: < 1%.
- ``nll_per_char``: the generated tokens' negative log-likelihood under the *original*
  model at temperature 1 (its own distribution), summed and divided by the generated
  characters: how far the text is from what the original model would write. Target:
  after / before - 1 <= 50%.
- ``words_in_corpus``: of all words in the generated text (lower-cased runs of [a-z']),
  the share that also occur in the corpus (its words found the same way). Target
  after: >= 90%.
- ``finetune_seconds``: the wall time of ``minigen finetune`` (loading the run and
  the corpus included). Target: <= 600 s on 2 cores.
- a before/after sample: the first prompt and its two continuations.

Writes ``benchmarks/results/finetune_lipogram.json`` (``--results`` elsewhere), with the
machine. Nothing else of the run is changed.
"""

from harness import parse_and_pin


def _options(p):
    p.add_argument("run", help="a run folder written by `minigen train` (runs/main)")
    p.add_argument("--steps", type=int, default=None, help="passed to minigen finetune (default: its own)")
    p.add_argument("--samples", type=int, default=128, help="continuations per model (default 128)")
    p.add_argument("--length", type=int, default=200, help="tokens per continuation (default 200)")
    p.add_argument("--seed", type=int, default=0, help="the prompts' and the samples' seed")
    p.add_argument("--results", default=None, help="the JSON to write (default results/finetune_lipogram.json)")


args = parse_and_pin(__doc__, _options)

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import RESULTS, machine  # noqa: E402
from minigen.checkpoint import load_model  # noqa: E402
from minigen.cli import main as minigen_cli  # noqa: E402
from minigen.cli.train_cmd import _corpus_text  # noqa: E402
from minigen.data import train_val_split  # noqa: E402
from minigen.rl import sequence_log_probs  # noqa: E402

PROMPT, TEMPERATURE, LETTER = 16, 0.8, "e"
WORD = re.compile(r"[a-z']+")


def samples(model, prompts, length: int, seed: int):
    """(N, P + length) ids: ``model``'s continuations of ``prompts`` as ``minigen sample`` draws them."""
    out = []
    for s in range(0, len(prompts), 32):
        out.append(minigen.to_numpy(model.eval().generate(prompts[s:s + 32], length, do_sample=True,
                                                          temperature=TEMPERATURE, top_k=0, seed=seed + s)))
    return np.concatenate(out)


def figures(ids, original, tokenizer, corpus_words) -> dict:
    """e_rate, nll_per_char and words_in_corpus of the generated part of ``ids`` (see the docstring)."""
    texts = tokenizer.batch_decode(ids[:, PROMPT:])
    chars = sum(len(t) for t in texts)
    nll = 0.0
    with minigen.no_grad():
        for s in range(0, len(ids), 32):
            nll -= float(sequence_log_probs(original.eval(), ids[s:s + 32], PROMPT).numpy().astype(np.float64).sum())
    words = [w for t in texts for w in WORD.findall(t.lower())]
    return {"e_rate": round(sum(t.count(LETTER) + t.count(LETTER.upper()) for t in texts) / chars, 5),
            "nll_per_char": round(nll / chars, 4),
            "words_in_corpus": round(sum(w in corpus_words for w in words) / max(1, len(words)), 4),
            "words": len(words), "chars": chars}


def main() -> int:
    path = os.path.join(args.run, "checkpoint.safetensors")
    original, tokenizer, ck = load_model(path)
    run = ck.meta["extra"]["run"]
    text = _corpus_text(run["corpus"])
    corpus_words = set(WORD.findall(text.lower()))
    train_ids, _ = train_val_split(np.asarray(tokenizer.encode(text)), run["val_fraction"])
    rng = np.random.default_rng(args.seed)
    starts = rng.integers(0, len(train_ids) - PROMPT, args.samples)
    prompts = np.stack([train_ids[s:s + PROMPT] for s in starts])                     # (N, P)

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "no-e")
        argv = ["finetune", "--checkpoint", args.run, "--reward", f"lipogram:{LETTER}", "--out", out, "--no-progress"]
        argv += ["--steps", str(args.steps)] if args.steps else []
        start = time.perf_counter()
        assert minigen_cli(argv) == 0, "minigen finetune failed"
        seconds = time.perf_counter() - start
        tuned, _, tuned_ck = load_model(os.path.join(out, "checkpoint.safetensors"))
    settings, history = tuned_ck.meta["extra"]["finetune"], tuned_ck.meta["extra"]["finetuner"]["history"]

    before_ids = samples(original, prompts, args.length, args.seed)
    after_ids = samples(tuned, prompts, args.length, args.seed)
    before = figures(before_ids, original, tokenizer, corpus_words)
    after = figures(after_ids, original, tokenizer, corpus_words)
    corpus_rate = (text.count(LETTER) + text.count(LETTER.upper())) / len(text)
    nll_rise = after["nll_per_char"] / before["nll_per_char"] - 1
    targets = {"e_rate_after_below_1pct": after["e_rate"] < 0.01, "nll_rise_at_most_50pct": nll_rise <= 0.5,
               "words_in_corpus_at_least_90pct": after["words_in_corpus"] >= 0.9,
               "finetune_at_most_600s": seconds <= 600}
    result = {"workload": "finetune_lipogram", "run": args.run, "run_step": ck.meta["step"],
              "command": "python -m minigen " + " ".join(argv[:5] + argv[8:]),
              "finetune": {k: settings[k] for k in ("steps", "time", "batch_size", "prompt_length", "new_tokens",
                                                   "kl_coef", "lr", "seed")},
              "finetune_seconds": round(seconds, 1), "final_kl": round(np.mean([h["kl"] for h in history[-10:]]), 3),
              "samples": args.samples, "length": args.length, "temperature": TEMPERATURE, "top_k": 0,
              "corpus_e_rate": round(corpus_rate, 5), "before": before, "after": after,
              "nll_rise": round(nll_rise, 4), "targets": targets,
              "sample_prompt": tokenizer.decode(prompts[0]),
              "sample_before": tokenizer.decode(before_ids[0, PROMPT:]),
              "sample_after": tokenizer.decode(after_ids[0, PROMPT:]), "machine": machine()}

    print(f"\n{args.run} (step {ck.meta['step']}), fine-tuned toward lipogram:{LETTER} in {seconds:.0f} s "
          f"({len(history)} steps); {args.samples} samples of {args.length} tokens at temperature {TEMPERATURE}")
    print(f"  corpus rate of e/E: {corpus_rate:.2%}")
    print(f"  {'':<24} {'before':>9} {'after':>9}")
    print(f"  {'rate of e/E':<24} {before['e_rate']:>9.2%} {after['e_rate']:>9.2%}   (target after < 1%)")
    print(f"  {'NLL/char, original':<24} {before['nll_per_char']:>9.3f} {after['nll_per_char']:>9.3f}   "
          f"({nll_rise:+.1%}; target <= +50%)")
    print(f"  {'words in the corpus':<24} {before['words_in_corpus']:>9.1%} {after['words_in_corpus']:>9.1%}   "
          "(target after >= 90%)")
    print(f"  targets met: {sum(targets.values())} of {len(targets)}" + "".join(
        f"; {k} missed" for k, ok in targets.items() if not ok))
    print(f"\nprompt: {result['sample_prompt']!r}\nbefore: {result['sample_before']!r}\nafter:  "
          f"{result['sample_after']!r}")
    path = args.results or os.path.join(RESULTS, "finetune_lipogram.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    print(f"written to {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
