"""The sentence VAE of Bowman et al. (2016) on short Shakespeare lines: train for a time budget, then look inside.

Data: every line of the plays with 4 to 12 words, lowercased and stripped of
punctuation (``WordTokenizer``), with a vocabulary of the ``--vocab`` most frequent
words; lines with a word outside it are dropped (``--max-unk 0``), so the decoder
never learns to write UNK. 1,000 lines are held out for validation.

Model: ``minigen.models.vae.TextVAE`` (LSTM encoder, Gaussian latent, LSTM decoder
started from z with z appended to every input), word dropout 0.25, KL annealing with
the logistic schedule of the paper, placed on the steps the time budget is expected
to allow (measured over the first 20 steps): beta is 0.5 at half the run and near 1
at the end. Adam, gradient clipping at 5.

A few minutes of CPU are a small fraction of the paper's training, and with the plain
objective the KL falls to well under 1 nat by the end (the decoder learns to ignore z
before the encoder has much to say). So by default each latent dimension gets 0.25
"free bits" (Kingma et al., 2016; ``--free-bits 0`` gives the plain objective); the
KL reported is always the true one.

Reported: the validation reconstruction loss (nats per sentence and per token) and
KL (nats per sentence; a KL near 0 would mean that the decoder ignores z), the
number of active latent units (Var_x E[z|x] > 0.01), greedy reconstructions, prior
samples and one interpolation. Written to ``results/text_vae.json``.

Run: python benchmarks/quality_vae.py [--time 300] [--threads N] [--free-bits 0.25] [--quick]
(on a busy 2-core machine, --threads 1 is several times faster than 2)
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--time", type=float, default=300.0, help="seconds of training (default 300)"),
    p.add_argument("--vocab", type=int, default=3000, help="vocabulary size of the word tokenizer (default 3000)"),
    p.add_argument("--batch-size", type=int, default=32),
    p.add_argument("--embed-dim", type=int, default=64),
    p.add_argument("--hidden-size", type=int, default=128),
    p.add_argument("--latent-dim", type=int, default=16),
    p.add_argument("--max-unk", type=int, default=0, help="drop lines with more UNK words than this (default 0)"),
    p.add_argument("--word-dropout", type=float, default=0.25),
    p.add_argument("--free-bits", type=float, default=0.25, help="free bits per latent dimension (default 0.25)"),
    p.add_argument("--kl-midpoint", type=float, default=0.5,
                   help="fraction of the expected steps where the KL weight reaches 0.5 (default 0.5)"),
    p.add_argument("--lr", type=float, default=2e-3),
    p.add_argument("--seed", type=int, default=0),
    p.add_argument("--quick", action="store_true", help="a smoke test: 20 s, small validation set")))

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import RESULTS, machine  # noqa: E402
from minigen.data import WordTokenizer, shakespeare  # noqa: E402
from minigen.data.tokenizers import standardize  # noqa: E402
from minigen.models.vae import TextVAE, kl_weight, make_batch  # noqa: E402
from minigen.nn.utils import clip_grad_norm_  # noqa: E402

MIN_WORDS, MAX_WORDS, VAL_LINES = 4, 12, 1000


# ---------------------------------------------------------------------------- data (host side)

def shakespeare_sentences(max_tokens: int, max_unk: int = 0, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS):
    """(tokenizer, list of id lists): the lines of the plays with min_words..max_words words, at most max_unk UNKs."""
    lines = [standardize(line) for line in shakespeare().split("\n")]
    lines = [line for line in lines if min_words <= len(line.split()) <= max_words]
    tok = WordTokenizer.train("\n".join(lines), max_tokens=max_tokens)
    sentences = [ids.tolist() for ids in map(tok.encode, lines)]
    return tok, [s for s in sentences if s.count(1) <= max_unk]           # WordTokenizer's UNK is id 1


budget = 20.0 if args.quick else args.time
tok, sentences = shakespeare_sentences(args.vocab, args.max_unk)
rng = np.random.default_rng(args.seed)
order = rng.permutation(len(sentences))
val = [sentences[i] for i in order[:VAL_LINES // (5 if args.quick else 1)]]
train = [sentences[i] for i in order[VAL_LINES:]]
# WordTokenizer gives PAD = 0 and UNK = 1; BOS and EOS go after its words.
V0 = tok.vocab_size
BOS, EOS = V0, V0 + 1
words = tok.vocab + ["<s>", "</s>"]
print(f"{len(train)} training and {len(val)} validation lines of {MIN_WORDS}-{MAX_WORDS} words; "
      f"vocabulary {V0 + 2} (with <s>, </s>)", flush=True)


def batch(sents):
    return make_batch(sents, bos_id=BOS, eos_id=EOS, pad_id=0)


def text(row) -> str:
    out = []
    for i in np.asarray(row).tolist():
        if i == EOS:
            break
        if i not in (0, BOS):
            out.append(words[i] if i != 1 else "<unk>")
    return " ".join(out)


# ---------------------------------------------------------------------------- model and training

minigen.manual_seed(args.seed)
model = TextVAE(V0 + 2, args.embed_dim, args.hidden_size, args.latent_dim, word_dropout=args.word_dropout,
                pad_id=0, bos_id=BOS, eos_id=EOS, unk_id=1)
opt = minigen.optim.Adam(model.parameters(), lr=args.lr)


def evaluate(sents, bs=200):
    """Mean validation recon (per sentence), KL, tokens per sentence, and the means mu (N, Z); eval mode."""
    model.eval()
    recon = kl = 0.0
    mus = []
    with minigen.no_grad():
        for i in range(0, len(sents), bs):
            chunk = sents[i:i + bs]
            out = model(batch(chunk))
            recon += out.recon.item() * len(chunk)
            kl += out.kl.item() * len(chunk)
            mus.append(out.mu.numpy())
    model.train()
    tokens = sum(len(s) + 1 for s in sents)                                   # words and EOS are predicted
    return recon / len(sents), kl / len(sents), tokens / len(sents), np.concatenate(mus)


steps_per_epoch = len(train) // args.batch_size
step, probe, schedule = 0, 20, None
curve = []
recent = []
start = time.perf_counter()
elapsed = 0.0
print(f"training for {budget:.0f} s ...", flush=True)
while elapsed < budget:
    if step % steps_per_epoch == 0:
        perm = rng.permutation(len(train))
    if step == probe:                                   # place the annealing on the steps the budget allows
        expected = int(budget / (elapsed / probe))
        schedule = dict(midpoint=args.kl_midpoint * expected, rate=10.0 / expected)
    beta = kl_weight(step, **schedule) if schedule else 0.0
    j = (step % steps_per_epoch) * args.batch_size
    ids = batch([train[i] for i in perm[j:j + args.batch_size]])
    opt.zero_grad()
    out = model(ids, beta=beta, free_bits=args.free_bits)
    out.loss.backward()
    clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    recent.append((out.recon.item(), out.kl.item()))
    step += 1
    elapsed = time.perf_counter() - start
    if step % 250 == 0:
        r, k = np.mean(recent, axis=0)
        recent = []
        curve.append({"step": step, "elapsed": round(elapsed, 1), "beta": round(beta, 4),
                      "train_recon": round(float(r), 3), "train_kl": round(float(k), 3)})
        print(f"  step {step:5d}  {elapsed:6.1f} s  beta {beta:.3f}  recon {r:7.3f}  kl {k:6.3f}", flush=True)

minigen.manual_seed(args.seed + 1)
val_recon, val_kl, tokens_per_sentence, mu = evaluate(val)
active = int(np.sum(np.var(mu, axis=0) > 0.01))
print(f"\n{step} steps in {elapsed:.0f} s ({step / steps_per_epoch:.2f} epochs); final beta {beta:.3f}")
print(f"validation: recon {val_recon:.3f} nats/sentence ({val_recon / tokens_per_sentence:.3f} nats/token), "
      f"KL {val_kl:.3f} nats/sentence, active units {active}/{args.latent_dim}, "
      f"negative ELBO {val_recon + val_kl:.3f}")

# ---------------------------------------------------------------------------- what the latent space holds

model.eval()
examples = [val[i] for i in range(6)]
recons = model.reconstruct(batch(examples), max_len=MAX_WORDS + 4)
reconstructions = [{"input": text(s), "output": text(r)} for s, r in zip(examples, recons)]
greedy = [text(r) for r in model.sample(8, max_len=MAX_WORDS + 4, seed=1)]
sampled = [text(r) for r in model.sample(5, max_len=MAX_WORDS + 4, seed=2, greedy=False, temperature=0.8)]
a, b = batch([examples[0]])[0], batch([examples[1]])[0]
path = [text(r) for r in model.interpolate(a, b, steps=6, max_len=MAX_WORDS + 4)]

print("\nreconstructions (greedy, from mu):")
for r in reconstructions:
    print(f"  {r['input']!r:60} -> {r['output']!r}")
print("\nprior samples, greedy:")
for s in greedy:
    print("  " + s)
print("\nprior samples, temperature 0.8:")
for s in sampled:
    print("  " + s)
print(f"\ninterpolation from {text(a)!r} to {text(b)!r}:")
for s in path:
    print("  " + s)

result = {
    "workload": "text_vae", "machine": machine(),
    "config": {"time_budget_s": budget, "vocab": V0 + 2, "batch_size": args.batch_size, "embed_dim": args.embed_dim,
               "hidden_size": args.hidden_size, "latent_dim": args.latent_dim, "word_dropout": args.word_dropout, "free_bits": args.free_bits,
               "lr": args.lr,
               "kl_schedule": {"kind": "logistic", **(schedule or {})}, "seed": args.seed,
               "train_lines": len(train), "val_lines": len(val)},
    "steps": step, "seconds": round(elapsed, 1), "epochs": round(step / steps_per_epoch, 3), "final_beta": beta,
    "val_recon_nats_per_sentence": round(val_recon, 4), "val_recon_nats_per_token": round(val_recon / tokens_per_sentence, 4),
    "val_kl_nats_per_sentence": round(val_kl, 4), "val_neg_elbo_nats_per_sentence": round(val_recon + val_kl, 4),
    "active_units": active,
    "curve": curve, "reconstructions": reconstructions, "samples_greedy": greedy, "samples_temperature_0.8": sampled,
    "interpolation": {"from": text(a), "to": text(b), "path": path},
}
os.makedirs(RESULTS, exist_ok=True)
out_path = os.path.join(RESULTS, "text_vae.json")
with open(out_path + ".tmp", "w") as f:
    json.dump(result, f, indent=2)
os.replace(out_path + ".tmp", out_path)
print(f"\nwritten to {os.path.relpath(out_path)}")
