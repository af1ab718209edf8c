"""Write the figures into README.md and benchmarks/README.md from benchmarks/results/*.json.

    python benchmarks/make_tables.py           # rewrite both tables
    python benchmarks/make_tables.py --check   # exit 1 if either README is out of date

Both READMEs take their figures from here, between ``<!-- NAME:begin -->`` and
``<!-- NAME:end -->`` markers (``figures``, and ``textgan``, ``distributed`` and ``finetune``
for the text-GAN table, the data-parallel forecast and the fine-tuning sample), so they
cannot disagree. A result that has not been measured shows as "not measured", never as a
remembered figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")


def load(name: str):
    path = os.path.join(RESULTS, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def row(result, name_part: str):
    """The first row of ``result`` whose name contains ``name_part`` (None if absent)."""
    for r in (result or {}).get("rows", []):
        if name_part in r["name"]:
            return r
    return None


def when(result) -> str:
    """The machine (CPU, cores, the OpenBLAS kernel that ran) and the date of ``result``."""
    machine = result.get("machine", {}) if result else {}
    date = (machine.get("date") or result.get("date") or "")[:10] if result else ""
    cpu = machine.get("cpu")
    if not cpu:
        return date
    kernels = [f"OpenBLAS {b['architecture']}" for b in machine.get("blas") or [] if isinstance(b, dict)
               and b.get("internal_api") == "openblas" and b.get("architecture")]
    return ", ".join([cpu, f"{machine.get('cores')} cores", *kernels[:1], date])


def ratio(r, key="ratio") -> str:
    return f"{r[key]:.2f}x" if r and r.get(key) is not None else "not measured"


def reference(r, unit="ms") -> str:
    """PyTorch's figure, tuned like minigen, and untuned (as its users run it) where measured."""
    if not r:
        return ""
    if unit == "ms":
        tuned, untuned = f"{r['torch_ms']:.1f} ms", r.get("torch_untuned_ms")
        return f"{tuned} tuned, {untuned:.1f} ms untuned" if untuned is not None else tuned
    tuned, untuned = f"{r['torch_tokens_per_s']:,} tokens/s", r.get("torch_untuned_tokens_per_s")
    return f"{tuned} tuned, {untuned:,} untuned" if untuned is not None else tuned


def ratios(r) -> str:
    """Minigen's time over PyTorch's: tuned (like for like) and, where measured, untuned."""
    if r and r.get("ratio_untuned") is not None:
        return f"{ratio(r)} tuned, {ratio(r, 'ratio_untuned')} untuned"
    return ratio(r)


def speed_rows():
    """(what, minigen, reference, ratio, machine and date, command) for each measured figure."""
    rnn, gpt, gen = load("w1_char_rnn"), load("w3_gpt"), load("generate_tokens_per_s")
    ab, grade, share, cold = load("ab_versions"), load("grade"), load("check_share"), load("cold_start")
    rows = []
    for cell in ("LSTM", "GRU"):
        r = row(rnn, f"W1 {cell} step")
        rows.append((f"W1 char-{cell} training step (B=32, T=64, H=256), vs PyTorch CPU",
                     f"{r['minigen_ms']:.1f} ms" if r else "not measured",
                     reference(r), ratios(r), when(rnn), "python benchmarks/bench_rnn.py"))
    r = row(gpt, "train step")
    rows.append(("W3 GPT training step (B=16, T=128, 4 layers, width 192, AdamW), vs PyTorch CPU",
                 f"{r['minigen_ms']:.1f} ms" if r else "not measured", reference(r), ratios(r), when(gpt),
                 "python benchmarks/bench_gpt.py"))
    r = row(gpt, "generation")
    rows.append(("GPT generation, batch 1, KV cache, vs PyTorch CPU",
                 f"{r['minigen_tokens_per_s']:,} tokens/s" if r else "not measured",
                 reference(r, "tokens/s"), ratios(r), when(gpt),
                 "python benchmarks/bench_gpt.py"))
    for kind in ("greedy", "sampling"):
        r = row(gen, kind)
        rows.append((f"char-LSTM generation, batch 1, {kind}, vs PyTorch CPU",
                     f"{r['minigen_tokens_per_s']:,} tokens/s" if r else "not measured",
                     reference(r, "tokens/s"), ratios(r), when(gen),
                     "python benchmarks/bench_generate.py"))
    r = row(load("w1_train_step"), "W1 LSTM train step")
    rows.append(("W1 char-LSTM training step with Adam, and the peak memory it adds, each library in its own process",
                 f"{r['minigen_ms']:.1f} ms, {r['minigen_peak_mib']:.0f} MiB" if r else "not measured",
                 f"{r['torch_ms']:.1f} ms, {r['torch_peak_mib']:.0f} MiB" if r else "",
                 f"{ratio(r)} time, {ratio(r, 'mem_ratio')} memory" if r else "not measured",
                 when(load("w1_train_step")), "python benchmarks/bench_train.py"))
    autograd = load("autograd_overhead")
    r = row(autograd, "forward + backward")
    rows.append(("Autograd overhead: a chain of small ops, forward and backward, vs PyTorch CPU",
                 f"{r['us_per_op_minigen']:.1f} us/op" if r else "not measured",
                 f"{r['us_per_op_torch']:.1f} us/op" if r else "", ratio(r), when(autograd),
                 "python benchmarks/bench_autograd.py"))
    for name, what, command in (("quality", "char-LSTM", "python benchmarks/bench_quality.py"),
                                ("quality_gpt", "char GPT", "python benchmarks/bench_quality.py --model gpt")):
        q = load(name)
        mg, th = ((q or {}).get("results") or {}).get("minigen"), ((q or {}).get("results") or {}).get("torch")
        rows.append((f"{what} trained 10 minutes by each library: validation loss, nats/char (lower is better)",
                     f"{mg['val_loss']:.4f} ({mg['steps']:,} steps)" if mg else "not measured",
                     f"{th['val_loss']:.4f} ({th['steps']:,} steps)" if th else "", "", when(q), command))
    s2s = load("seq2seq_dates")
    r = (s2s or {}).get("results")
    rows.append(("Seq2Seq with attention on dates: exact match on the test set",
                 f"{100 * r['exact_match']:.2f}% of {r['n_test']:,}" if r else "not measured", "", "", when(s2s),
                 "python benchmarks/quality_seq2seq.py"))
    vae = load("text_vae")
    rows.append(("Text VAE: KL per sentence (nats) and active latent units",
                 f"KL {vae['val_kl_nats_per_sentence']:.2f}, {vae['active_units']} active units" if vae
                 else "not measured", "", "", when(vae), "python benchmarks/quality_vae.py"))
    for r in (ab or {}).get("rows", []):
        rows.append((f"{r['name'].split(' (')[0]}, this version vs commit {ab['before']}",
                     f"{r['after_ms']:.1f} ms", f"{r['before_ms']:.1f} ms", ratio(r), when(ab),
                     f"python benchmarks/ab_versions.py --before {ab['before']}"))
    if grade:
        worst = max(grade["rows"], key=lambda r: r["ratio"])
        rows.append(("Grading a lesson in the confined worker vs the unconfined grader (worst lesson)",
                     f"{worst['after_s']:.2f} s", f"{worst['before_s']:.2f} s", f"{worst['ratio']:.2f}x",
                     when(grade), f"python benchmarks/bench_grade.py --before {grade['before']}"))
    else:
        rows.append(("Grading a lesson in the confined worker", "not measured", "", "", "",
                     "python benchmarks/bench_grade.py --before COMMIT"))
    rows.append(("Argument checks, share of minigen's code lines",
                 f"{100 * share['share']:.1f}% ({share['check_lines']:,} of {share['code_lines']:,})" if share
                 else "not measured", "target 8%", "", share["date"] if share else "",
                 "python benchmarks/check_share.py"))
    fired = load("checks_fired")
    rows.append(("Argument checks that some test makes raise (the bad-input tests' reach)",
                 f"{fired['fired']:,} of {fired['statements']:,} check statements, {fired['fired_lines']:,} of "
                 f"{fired['check_lines']:,} lines" if fired else "not measured", "", "",
                 fired["date"] if fired else "", "python benchmarks/checks_fired.py"))
    rows.append(("Main job (`python -m minigen train`, 10 minutes): validation loss, nats/char",
                 f"{cold['val_loss']:.4f} at step {cold['step']:,}" if cold and cold.get("val_loss") else
                 "not measured", "target 1.50", "", cold["date"] if cold else "",
                 "python -m minigen train --out runs/main"))
    roll = load("rollout")
    r = row(roll, "rollouts")
    rows.append(("SeqGAN's Monte-Carlo rollouts (batch 64, 20 tokens, 16 per prefix, V 5,000), vs PyTorch CPU",
                 f"{r['minigen_ms'] / 1e3:.2f} s" if r else "not measured",
                 f"{r['torch_ms'] / 1e3:.2f} s tuned, {r['torch_untuned_ms'] / 1e3:.2f} s untuned" if r else "",
                 ratios(r), when(roll), "python benchmarks/bench_rollout.py"))
    ft = load("finetune_lipogram")
    b, a = (ft or {}).get("before"), (ft or {}).get("after")
    rows.append(("Fine-tuning the main job's model to avoid 'e' (`minigen finetune --reward lipogram:e`): "
                 "rate of e/E, NLL/char under the original, words found in the corpus, time",
                 f"{100 * a['e_rate']:.2f}%, {a['nll_per_char']:.3f} ({100 * ft['nll_rise']:+.0f}%), "
                 f"{100 * a['words_in_corpus']:.1f}%, {ft['finetune_seconds']:.0f} s" if ft else "not measured",
                 f"before: {100 * b['e_rate']:.2f}%, {b['nll_per_char']:.3f}, {100 * b['words_in_corpus']:.1f}%; "
                 "targets < 1%, <= +50%, >= 90%, <= 600 s" if ft else "", "", when(ft),
                 "python benchmarks/finetune_lipogram.py runs/main"))
    gan = load("textgan")
    for name in ("MLE", "SeqGAN", "Gumbel-GAN"):
        t = (gan or {}).get("table", {}).get(name)
        paper = (gan or {}).get("paper", {}).get(name)
        rows.append((f"Oracle benchmark (V 5,000, T 20): NLL-oracle of the {name} generator, mean ± sd over seeds",
                     f"{t['nll_oracle'][0]:.3f} ± {t['nll_oracle'][1]:.3f}" if t else "not measured",
                     f"SeqGAN paper: {paper:.3f} (its own oracle)" if paper else "", "", when(gan),
                     "python benchmarks/bench_textgan.py"))
    klass = load("grade_class")
    r = (klass or {}).get("rows", [None])[0]
    rows.append(("Grading a class: `minigen grade --class` on 100 copies of lesson 05's reference solution, "
                 "--jobs 2 (public and hidden checks)",
                 f"{r['wall_s']:.0f} s ({r['per_student_s']:.2f} s a student)" if r else "not measured", "", "",
                 when(klass), "python benchmarks/bench_grade_class.py"))
    dist = load("distributed")
    rows.append(("Data parallel, the main job's step (global batch 84 x 48): 2 ranks x 1 thread over 1 rank x 2 "
                 "threads, tokens/s; the all-reduce's share of the 2-rank step",
                 f"{dist['speed_two_ranks_over_one']:.2f}x, {100 * dist['allreduce_share_two_ranks']:.1f}%" if dist
                 else "not measured", "targets >= 0.90x, <= 10%", "", when(dist),
                 "python benchmarks/bench_distributed.py"))
    rows.append(("Cold start: NLL of 20 characters read from the initial state vs after 256 others",
                 f"{cold['cold_nll']:.3f} vs {cold['warm_nll']:.3f} ({100 * cold['cost']:+.1f}%)" if cold
                 else "not measured", "target +10%", "", cold["date"] if cold else "",
                 "python benchmarks/cold_start.py runs/main"))
    return rows


def full_table() -> str:
    lines = ["| measure | minigen | reference | ratio | machine, date | reproduce |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for what, mine, theirs, r, machine, command in speed_rows():
        machine = "" if mine == "not measured" else machine
        lines.append(f"| {what} | {mine} | {theirs} | {r} | {machine} | `{command}` |")
    return "\n".join(lines)


def headline() -> str:
    keep = ("W1 char-LSTM", "W3 GPT training", "GPT generation", "char-LSTM generation, batch 1, greedy",
            "Main job", "Cold start", "Fine-tuning")
    lines = ["| measure | minigen | reference | ratio | machine, date |", "| --- | ---: | ---: | ---: | --- |"]
    for what, mine, theirs, r, machine, _ in speed_rows():
        if what.startswith(keep):
            machine = "" if mine == "not measured" else machine
            lines.append(f"| {what} | {mine} | {theirs} | {r} | {machine} |")
    return "\n".join(lines)


def textgan_table() -> str:
    """The oracle benchmark: every metric per generator (mean ± sd over the seeds), the paper's NLL-oracle beside."""
    gan = load("textgan")
    if not gan:
        return "Not measured yet: `python benchmarks/bench_textgan.py`."
    lines = [f"Seeds {', '.join(map(str, gan['seeds']))}; {when(gan)}; {gan['wall_seconds'] / 60:.1f} minutes in all. "
             f"Paper: {gan['paper']['source']}.", "",
             "| generator | NLL-oracle | NLL-test | BLEU-4 | Self-BLEU-4 | paper NLL-oracle |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, t in gan["table"].items():
        cells = [f"{t[k][0]:.3f} ± {t[k][1]:.3f}" for k in ("nll_oracle", "nll_test", "bleu4", "self_bleu4")]
        paper = gan["paper"].get(name)
        lines.append(f"| {name} | {' | '.join(cells)} | {f'{paper:.3f}' if paper else ''} |")
    return "\n".join(lines)


def distributed_table() -> str:
    """The 2-rank measurement, MPI's all-reduce fitted on this machine, and the model's forecast for a cluster."""
    d = load("distributed")
    if not d:
        return "Not measured yet: `python benchmarks/bench_distributed.py` (needs the distributed extra)."
    med, sweep, net = d["median"], d["allreduce_sweep_two_ranks"], d["network"]
    one, two = med["one_rank_two_threads"], med["two_ranks_one_thread"]
    lines = [f"{when(d)}; medians of {d['rounds']} alternating launches of {d['steps']} steps each.", "",
             f"- 1 rank x 2 threads: {one['tokens_per_s']:,.0f} tokens/s ({1e3 * one['step_s']:.1f} ms a step); "
             f"2 ranks x 1 thread: {two['tokens_per_s']:,.0f} tokens/s ({d['speed_two_ranks_over_one']:.2f}x), "
             f"the all-reduce {1e3 * two['allreduce_s']:.2f} ms of {1e3 * two['step_s']:.1f} ms "
             f"({100 * d['allreduce_share_two_ranks']:.1f}%).",
             f"- MPI's Allreduce between 2 ranks here, fitted to 2(N-1) alpha + 2(N-1)/N M/beta: alpha "
             f"{1e6 * sweep['alpha_s']:.1f} us, beta {sweep['beta_bytes_per_s'] / 1e9:.2f} GB/s (memory copies).",
             f"- The forecast on a network of {net['bandwidth_bytes_per_s'] * 8 / 1e9:.0f} Gbit/s with "
             f"{1e6 * net['latency_s']:.0f} us per message (assumed: TCP between two hosts takes 10-50 us), the "
             "global batch fixed so that each machine computes 1/N of the step. Overlapping the all-reduce with "
             "the backward pass could hide at most the smaller of the two; taking the backward as 2/3 of the "
             "compute, the last column says how much of the step that is:", "",
             "| gradients | size | compute, 1 machine | 8 machines: all-reduce / compute | "
             "64 machines: all-reduce / compute | communication dominates from | overlap could save, 8 / 64 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, p in (("main job's char-LSTM", d["predictions"]["main_job"]), ("W3 GPT", d["predictions"]["w3_gpt"])):
        by = p["by_machines"]
        cells = [f"{1e3 * by[n]['allreduce_s']:.1f} ms / {1e3 * by[n]['compute_s']:.1f} ms" for n in ("8", "64")]
        saved = [min(by[n]["allreduce_s"], 2 / 3 * by[n]["compute_s"]) / (by[n]["allreduce_s"] + by[n]["compute_s"])
                 for n in ("8", "64")]
        lines.append(f"| {name} | {p['gradient_bytes'] / 1e6:.1f} MB | {1e3 * p['step_s_one_machine']:.0f} ms | "
                     f"{cells[0]} | {cells[1]} | {p['communication_dominates_from']} machines | "
                     f"{100 * saved[0]:.0f}% / {100 * saved[1]:.0f}% |")
    return "\n".join(lines)


def finetune_sample() -> str:
    """The main job's model continuing one prompt before and after ``minigen finetune --reward lipogram:e``."""
    ft = load("finetune_lipogram")
    if not ft:
        return "Not measured yet: `python benchmarks/finetune_lipogram.py runs/main`."
    def line(text):                                            # one line: newlines as " / "
        return " / ".join(part.strip() for part in (ft["sample_prompt"] + text).splitlines() if part.strip())
    return (f"| {ft['finetune']['steps']} steps, {ft['finetune_seconds']:.0f} s; temperature {ft['temperature']:g} "
            f"| {when(ft)} |\n| --- | --- |\n| before | {line(ft['sample_before'])} |\n"
            f"| after | {line(ft['sample_after'])} |")


def replace(text: str, table: str, path: str, name: str = "figures") -> str:
    BEGIN, END = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a README's figures are out of date")
    args = parser.parse_args(argv)
    stale = []
    blocks = {os.path.join(ROOT, "README.md"): {"figures": headline(), "finetune": finetune_sample()},
              os.path.join(HERE, "README.md"): {"figures": full_table(), "textgan": textgan_table(),
                                                "distributed": distributed_table()}}
    for path, tables in blocks.items():
        with open(path) as f:
            text = f.read()
        new = text
        for name, table in tables.items():
            new = replace(new, table, path, name)
        if new != text:
            stale.append(os.path.relpath(path, ROOT))
            if not args.check:
                with open(path, "w") as f:
                    f.write(new)
    if args.check and stale:
        print("out of date (run python benchmarks/make_tables.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
