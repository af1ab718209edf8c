"""Seq2seq quality: exact match on held-out dates after a fixed training time (date normalisation).

A character-level ``Seq2Seq`` (bidirectional GRU encoder, GRU decoder with additive
attention) learns ``minigen.data.dates``: "Tuesday, March 3, 1998", "3/3/98",
"03.03.1998", ... -> "1998-03-03". Every step draws a fresh batch of training
pairs (a new seed per step, training dates only), so the model never sees a
held-out date. Adam with gradient clipping, a cosine learning-rate decay over the
time budget; the budget covers training and the periodic evaluations (greedy
decoding of 500 held-out pairs). After the budget, the model greedy-decodes
``--n-test`` held-out pairs, whose dates no training pair has: the exact-match
figure reported.

Target: >= 99% exact match within 10 minutes on 2 cores.

BLAS runs on one thread unless ``--threads`` says otherwise: the products here are
small (64 x 64 by 64 x 192 in every decoder step), and a second BLAS thread only
adds hand-overs; on a busy 2-core machine it made each step about 7x slower.

Run: python benchmarks/quality_seq2seq.py [--time 600] [--threads N] [--quick] [--plot PATH]
"""

import os

os.environ.setdefault("MINIGEN_BENCH_THREADS", "1")              # read by harness.pin_threads (see above)

from harness import parse_and_pin  # noqa: E402

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--time", type=float, default=600.0, help="seconds of training (default 600)"),
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: the time)"),
    p.add_argument("--batch-size", type=int, default=64),
    p.add_argument("--embed-dim", type=int, default=32),
    p.add_argument("--hidden-size", type=int, default=64),
    p.add_argument("--attn-dim", type=int, default=64),
    p.add_argument("--cell", choices=["gru", "lstm"], default="gru"),
    p.add_argument("--lr", type=float, default=4e-3),
    p.add_argument("--min-lr-ratio", type=float, default=0.05),
    p.add_argument("--clip", type=float, default=1.0),
    p.add_argument("--teacher-forcing-floor", type=float, default=1.0,
                   help="scheduled sampling: the gold-token probability decays (inverse sigmoid) to this floor; "
                        "1.0 = plain teacher forcing (default)"),
    p.add_argument("--hard", action="store_true", help="the hard variant of the task"),
    p.add_argument("--eval-every", type=float, default=60.0, help="seconds between periodic evaluations"),
    p.add_argument("--n-test", type=int, default=5000, help="held-out pairs in the final evaluation"),
    p.add_argument("--seed", type=int, default=0),
    p.add_argument("--plot", default=None, help="write an attention heatmap of one held-out pair to this PNG"),
    p.add_argument("--quick", action="store_true", help="a smoke test: 30 s, small evaluations, no JSON")))

import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import minigen  # noqa: E402
from harness import RESULTS, machine  # noqa: E402
from minigen.data.dates import date_pairs, date_vocabs, encode_pairs  # noqa: E402
from minigen.metrics import exact_match  # noqa: E402
from minigen.models.seq2seq import Seq2Seq, plot_attention, teacher_forcing_prob  # noqa: E402
from minigen.nn.utils import clip_grad_norm_  # noqa: E402

budget = 30.0 if args.quick else args.time
n_test = 500 if args.quick else args.n_test
src_vocab, tgt_vocab = date_vocabs()
MAX_LEN = 12                                                      # "YYYY-MM-DD" + <eos> is 11


def evaluate(model, pairs, batch_size=500):
    """Greedy exact match on ``pairs``: (fraction, predictions)."""
    preds = []
    for i in range(0, len(pairs), batch_size):
        src, _, _ = encode_pairs(pairs[i:i + batch_size], src_vocab, tgt_vocab)
        preds += tgt_vocab.decode(model.greedy_decode(src, max_len=MAX_LEN).sequences)
    return exact_match(preds, [t for _, t in pairs]), preds


def train(model, *, budget, max_steps, batch_size, lr, min_lr_ratio, clip, tf_floor, hard, seed, probe,
          eval_every):
    """Adam + clipping on fresh training batches for ``budget`` seconds; returns (steps, seconds, curve)."""
    opt = minigen.optim.Adam(model.parameters(), lr=lr)
    step, elapsed, next_eval, curve, losses = 0, 0.0, eval_every, [], []
    start = time.perf_counter()
    while elapsed < budget and (max_steps is None or step < max_steps):
        pairs = date_pairs(batch_size, seed=1_000_003 * (seed + 1) + step, hard=hard, split="train")
        src, tgt_in, tgt_out = encode_pairs(pairs, src_vocab, tgt_vocab)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget)))
        for group in opt.param_groups:
            group["lr"] = lr * (min_lr_ratio + (1 - min_lr_ratio) * cosine)
        tf = 1.0 if tf_floor >= 1.0 else teacher_forcing_prob(step, k=500.0, min_prob=tf_floor)
        opt.zero_grad()
        loss = model.loss(src, tgt_in, tgt_out, teacher_forcing=tf)
        loss.backward()
        clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
        step += 1
        elapsed = time.perf_counter() - start
        if elapsed >= next_eval and elapsed < budget:
            acc, _ = evaluate(model, probe)
            model.train()
            mean_loss = sum(losses[-50:]) / len(losses[-50:])
            curve.append((step, round(elapsed, 1), round(mean_loss, 4), round(acc, 4)))
            print(f"  step {step:5d}  {elapsed:6.0f} s  loss {mean_loss:.4f}  exact match (500 held-out) "
                  f"{100 * acc:.1f}%", flush=True)
            elapsed = time.perf_counter() - start
            next_eval = elapsed + eval_every
    return step, elapsed, curve


def main():
    minigen.manual_seed(args.seed)
    model = Seq2Seq(src_vocab.vocab_size, tgt_vocab.vocab_size, embed_dim=args.embed_dim,
                    hidden_size=args.hidden_size, attn_dim=args.attn_dim, cell=args.cell,
                    pad_id=src_vocab.pad_id, bos_id=src_vocab.bos_id, eos_id=src_vocab.eos_id)
    n_params = sum(p.numel() for p in model.parameters())
    test = date_pairs(n_test, seed=10_000 + args.seed, hard=args.hard, split="test")
    probe = date_pairs(500, seed=20_000 + args.seed, hard=args.hard, split="test")
    print(f"training a {n_params:,}-parameter seq2seq on {'hard ' if args.hard else ''}dates for {budget:.0f} s ...",
          flush=True)
    steps, seconds, curve = train(model, budget=budget, max_steps=args.steps, batch_size=args.batch_size,
                                  lr=args.lr, min_lr_ratio=args.min_lr_ratio, clip=args.clip,
                                  tf_floor=args.teacher_forcing_floor, hard=args.hard, seed=args.seed, probe=probe,
                                  eval_every=args.eval_every)
    t0 = time.perf_counter()
    acc, preds = evaluate(model, test)
    eval_s = time.perf_counter() - t0
    wrong = [(s, t, p) for (s, t), p in zip(test, preds) if p != t]
    print(f"  {steps} steps in {seconds:.0f} s; exact match on {len(test)} held-out pairs: {100 * acc:.2f}% "
          f"({len(wrong)} wrong; evaluation {eval_s:.1f} s)")
    for s, t, p in wrong[:10]:
        print(f"    {s!r:40} -> {p!r} (want {t!r})")
    if args.plot:
        src, _, _ = encode_pairs(test[:1], src_vocab, tgt_vocab)
        out = model.greedy_decode(src, max_len=MAX_LEN)
        tokens = tgt_vocab.decode(out.sequences)[0]
        plot_attention(out.attentions[0], list(test[0][0]), list(tokens) + ["<eos>"], args.plot,
                       title=f"{test[0][0]} -> {tokens}")
        print(f"  attention heatmap written to {args.plot}")
    reached = next((c for c in curve if c[3] >= 0.99), None)
    result = {
        "workload": "seq2seq_dates", "machine": machine(), "budget_s": budget,
        "config": {"task": "hard" if args.hard else "normal", "parameters": n_params, "cell": args.cell,
                   "embed_dim": args.embed_dim, "hidden_size": args.hidden_size, "attn_dim": args.attn_dim,
                   "bidirectional": True, "batch_size": args.batch_size, "lr": args.lr,
                   "min_lr_ratio": args.min_lr_ratio, "grad_clip": args.clip,
                   "teacher_forcing_floor": args.teacher_forcing_floor, "seed": args.seed},
        "results": {"steps": steps, "seconds": round(seconds, 1), "exact_match": round(acc, 5), "n_test": len(test),
                    "wrong": len(wrong), "first_probe_at_99pct": None if reached is None else
                    {"step": reached[0], "seconds": reached[1]},
                    "curve (step, seconds, train loss, probe exact match)": curve,
                    "examples_wrong": [list(w) for w in wrong[:20]]},
    }
    if args.quick:
        return
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, "seq2seq_dates_hard.json" if args.hard else "seq2seq_dates.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    print(f"written to {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
