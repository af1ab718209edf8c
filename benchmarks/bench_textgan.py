"""The synthetic oracle benchmark of text GANs (SeqGAN's, as Texygen and TextGAN-PyTorch run it), on a CPU.

For each oracle seed: an oracle LSTM with N(0, 1) weights (vocabulary 5,000, embedding and
hidden size 32) draws 10,000 training and 2,000 test sequences of 20 tokens. Four
generators of the oracle's shape are scored:

- random: the default initialisation, untrained;
- MLE: maximum likelihood on the training sequences (``--mle-epochs`` epochs);
- SeqGAN: the MLE generator, then ``--seqgan-steps`` adversarial steps (REINFORCE on
  Monte-Carlo rollout rewards from a text-CNN discriminator, pretrained first);
- Gumbel-GAN: the MLE generator, then ``--gumbel-steps`` adversarial steps through the
  Gumbel-softmax relaxation (RelGAN's relativistic loss, inverse temperature annealed).

Metrics, from 2,000 samples per generator at temperature 1 (``minigen.metrics``):
NLL-oracle (the samples scored by the oracle: quality), NLL-test (the test sequences
scored by the generator: coverage), BLEU-4 of 200 samples against the test sequences,
Self-BLEU-4 of 500 samples (lower: more diverse). The quality-diversity curve repeats
NLL-oracle and NLL-test at temperatures 0.6-1.4 for MLE and the GANs (Caccia et al.,
"Language GANs Falling Short", 2020): a GAN is better only if its curve lies below
MLE's, not if one point of it does.

Scaled down from the papers to fit 30 minutes on 2 cores for 3 seeds (the values are
printed with the results): MLE 3 epochs rather than 80-120 (this generator's NLL-test
is lowest after 2-3 epochs and rises after); the discriminator 4 widths x 32 filters
rather than 12 widths and 1,720 filters, pretrained 3 rounds on 5,000 + 5,000 sequences
rather than 50 x 3 epochs on 10,000 + 10,000; SeqGAN 4 rollouts per prefix rather than
16, and 25 adversarial steps rather than 200; the Gumbel-GAN 400 steps (RelGAN's
settings otherwise: beta_max 100, exponential schedule, RSGAN loss, Adam 1e-4), with
no discriminator pretraining, as in RelGAN.

SeqGAN's own figures (Yu et al., AAAI 2017, Table 1, NLL-oracle on this set-up with
its fixed oracle): random 10.310, MLE 9.038, SS 8.985, PG-BLEU 8.946, SeqGAN 8.736.
Our oracles are drawn afresh per seed, so the levels differ; compare the order.

Run: python benchmarks/bench_textgan.py [--seeds 0 1 2] [--quick]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2]),
    p.add_argument("--mle-epochs", type=int, default=3),
    p.add_argument("--seqgan-steps", type=int, default=25),
    p.add_argument("--gumbel-steps", type=int, default=400),
    p.add_argument("--quick", action="store_true", help="a smoke test: a small oracle, a few steps")))

import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import RESULTS, machine  # noqa: E402
from minigen.gan import GumbelGAN, SeqGAN, mle_pretrain  # noqa: E402
from minigen.metrics import bleu, nll_oracle, nll_test, self_bleu  # noqa: E402
from minigen.models import TextCNNDiscriminator, build_model, oracle_lm, oracle_samples  # noqa: E402

PAPER = {"source": "Yu et al., SeqGAN, AAAI 2017, Table 1 (NLL-oracle)",
         "random": 10.310, "MLE": 9.038, "SS": 8.985, "PG-BLEU": 8.946, "SeqGAN": 8.736}
TEMPERATURES = (0.6, 0.8, 1.0, 1.2, 1.4)
if args.quick:
    V, N_TRAIN, N_TEST, N_SAMPLES = 200, 1000, 200, 200
    args.mle_epochs, args.seqgan_steps, args.gumbel_steps, args.seeds = 2, 2, 4, args.seeds[:1]
else:
    V, N_TRAIN, N_TEST, N_SAMPLES = 5000, 10_000, 2000, 2000
SETTINGS = dict(vocab_size=V, seq_len=20, embed_dim=32, hidden_size=32, train=N_TRAIN, test=N_TEST,
                samples=N_SAMPLES, mle_epochs=args.mle_epochs, seqgan_steps=args.seqgan_steps,
                gumbel_steps=args.gumbel_steps, seqgan=dict(num_rollouts=4, batch_size=64, d_rounds=1, d_epochs=1,
                                                              d_samples=1024, d_lr=1e-3),
                gumbel=dict(beta_max=100.0, schedule="exp", loss="rsgan", g_lr=1e-4, d_lr=1e-4, batch_size=64),
                discriminator=dict(embed_dim=64, filter_sizes=(2, 3, 4, 5), num_filters=(32, 32, 32, 32)),
                discriminator_pretraining=dict(rounds=3, epochs=1, num_samples=min(5000, N_TRAIN)))


def scores(oracle, model, test, seed, temperature=1.0, text_metrics=True):
    samples = oracle_samples(model, N_SAMPLES, seed=seed, temperature=temperature)
    row = dict(nll_oracle=nll_oracle(oracle, samples), nll_test=nll_test(model, test, temperature=temperature))
    if text_metrics:
        host = minigen.to_numpy(samples)
        row.update(bleu4=bleu(host[:200], minigen.to_numpy(test), n=4), self_bleu4=self_bleu(host[:500], n=4))
    return row


def discriminator():
    return TextCNNDiscriminator(V, **SETTINGS["discriminator"])


def one_seed(seed: int) -> dict:
    t0 = time.perf_counter()
    minigen.manual_seed(seed)
    oracle = oracle_lm(V, 32, 32, seed=seed)
    train = oracle_samples(oracle, N_TRAIN, seed=1000 + seed)
    test = oracle_samples(oracle, N_TEST, seed=2000 + seed)
    out = {"oracle_self_nll": nll_oracle(oracle, test), "seconds": {}}
    random_g = build_model(oracle.config)
    out["random"] = scores(oracle, random_g, test, seed)
    mle = copy.deepcopy(random_g)
    t = time.perf_counter()
    mle_pretrain(mle, train, args.mle_epochs, seed=seed)
    out["seconds"]["mle"] = time.perf_counter() - t

    t = time.perf_counter()
    seqgan = SeqGAN(copy.deepcopy(mle), discriminator(), train, seed=seed, **SETTINGS["seqgan"])
    seqgan.pretrain_discriminator(**SETTINGS["discriminator_pretraining"])
    seqgan.train(args.seqgan_steps)
    out["seconds"]["seqgan"] = time.perf_counter() - t
    out["seqgan_history"] = {k: seqgan.history[k] for k in ("reward", "d_loss")}
    out["d_pretrain_loss_last"] = float(np.mean(seqgan.history["d_pretrain_loss"][-20:]))

    t = time.perf_counter()
    gumbel = GumbelGAN(copy.deepcopy(mle), discriminator(), train, seed=seed, anneal_steps=args.gumbel_steps,
                       **SETTINGS["gumbel"])
    gumbel.train(args.gumbel_steps)
    out["seconds"]["gumbel"] = time.perf_counter() - t
    out["gumbel_history"] = {k: gumbel.history[k][::10] for k in ("g_loss", "d_loss", "tau")}

    models = {"MLE": mle, "SeqGAN": seqgan.generator, "Gumbel-GAN": gumbel.generator}
    for name, model in models.items():
        out[name] = scores(oracle, model, test, seed)
    out["curve"] = {name: [dict(temperature=tau, **scores(oracle, model, test, seed, tau, text_metrics=False))
                           for tau in TEMPERATURES] for name, model in models.items()}
    out["seconds"]["total"] = time.perf_counter() - t0
    print(f"  seed {seed}: {out['seconds']['total']:.0f} s", flush=True)
    return out


def mean_sd(values):
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in ("MLE", "SeqGAN", "Gumbel-GAN"):
        xs = np.mean([[p["nll_test"] for p in r["curve"][name]] for r in runs], axis=0)
        ys = np.mean([[p["nll_oracle"] for p in r["curve"][name]] for r in runs], axis=0)
        ax.plot(xs, ys, "o-", label=name)
        for x, y, tau in zip(xs, ys, TEMPERATURES):
            ax.annotate(f"{tau:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("NLL-test (lower: covers the oracle's data)")
    ax.set_ylabel("NLL-oracle (lower: samples the oracle finds likely)")
    ax.set_title("Quality-diversity over sampling temperature (labels)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    start = time.perf_counter()
    runs = [one_seed(s) for s in args.seeds]
    table = {}
    for name in ("random", "MLE", "SeqGAN", "Gumbel-GAN"):
        table[name] = {k: mean_sd([r[name][k] for r in runs]) for k in runs[0][name]}
    wall = time.perf_counter() - start
    result = {"workload": "textgan_oracle", "machine": machine(), "settings": SETTINGS, "seeds": args.seeds,
              "quick": args.quick, "paper": PAPER, "table": table, "runs": runs, "wall_seconds": wall}
    print(f"\n{'generator':<12} {'NLL-oracle':>16} {'NLL-test':>16} {'BLEU-4':>14} {'Self-BLEU-4':>14} {'paper':>7}")
    for name, row in table.items():
        cells = [f"{row[k][0]:.3f} ± {row[k][1]:.3f}" for k in ("nll_oracle", "nll_test", "bleu4", "self_bleu4")]
        print(f"{name:<12} {cells[0]:>16} {cells[1]:>16} {cells[2]:>14} {cells[3]:>14} {PAPER.get(name, ''):>7}")
    print(f"oracle's own NLL on its test data: {mean_sd([r['oracle_self_nll'] for r in runs])[0]:.3f}; "
          f"wall time {wall / 60:.1f} min")
    os.makedirs(RESULTS, exist_ok=True)
    name = "textgan_quick" if args.quick else "textgan"
    plot(runs, os.path.join(RESULTS, f"{name}_quality_diversity.png"))
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"written to {os.path.relpath(path)}")


main()
