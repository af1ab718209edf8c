"""SeqGAN's Monte-Carlo rollouts: minigen's batched ``rollout_rewards`` vs the same sampling in PyTorch CPU.

The oracle benchmark's generator (a one-layer LSTM, vocabulary 5,000, embedding and
hidden size 32), a batch of 64 sequences of 20 tokens after a start token, 16 rollouts
per prefix, as SeqGAN runs them. For each prefix length t = 1..19, all 64 x 16 copies
of the prefixes are read and completed to 20 tokens by sampling at temperature 1 with
no top-k; the reward (here a constant, so that only the sampling is timed) is computed
once for all completions. PyTorch runs the same algorithm: ``nn.LSTM`` over the
prefixes, then ``LSTM`` steps with ``torch.multinomial`` under ``torch.inference_mode``,
with the same weights. Target: minigen's time <= PyTorch's (ratio <= 1).

Run: python benchmarks/bench_rollout.py [--threads N] [--rollouts 16]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: p.add_argument("--rollouts", type=int, default=16))

import json  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import compare, report, require_torch, time_fn, untuned_torch_ms  # noqa: E402
from minigen.models import oracle_lm  # noqa: E402
from minigen.rl import rollout_rewards  # noqa: E402

torch = require_torch()
V, E, H, B, T, N = 5000, 32, 32, 64, 20, args.rollouts
generator = oracle_lm(V, E, H, seed=0).eval()          # any weights do: N(0, 1) ones give peaked distributions
ids = np.concatenate([np.zeros((B, 1), np.int64), np.random.default_rng(0).integers(0, V, (B, T))], axis=1)


def constant(batch):
    return np.zeros(batch.shape[0])


class TorchLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.rnn = torch.nn.LSTM(E, H, 1, batch_first=True)
        self.head = torch.nn.Linear(H, V)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embedding(x), state)
        return self.head(out), state


ref = TorchLM().eval()
ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in generator.state_dict().items()})
ids_t = torch.tensor(ids)


def torch_rollouts():
    gen = torch.Generator().manual_seed(0)
    batches = []
    with torch.inference_mode():
        copies = ids_t.repeat_interleave(N, dim=0)                      # (B*N, 1+T), each row N times
        for t in range(1, T):                                           # the prefix holds t generated tokens
            prefix = copies[:, :1 + t]
            logits, state = ref(prefix)
            out = [prefix]
            for _ in range(T - t):
                nxt = torch.multinomial(torch.softmax(logits[:, -1], dim=-1), 1, generator=gen)
                out.append(nxt)
                logits, state = ref(nxt, state)
            batches.append(torch.cat(out, 1))
        scores = constant(torch.cat(batches + [ids_t]).numpy())
    return scores


def minigen_rollouts():
    return rollout_rewards(generator, constant, ids, 1, num_rollouts=N, seed=0)


assert minigen_rollouts().shape == (B, T)
if args.untuned_child:                               # torch alone, as its users run it (no malloc tuning)
    print(json.dumps({"rollouts": time_fn(torch_rollouts, warmup=1, repeat=3)}))
    raise SystemExit

untuned = untuned_torch_ms(["--rollouts", str(N)])
row = compare(f"rollouts: LSTM V {V}, E=H {E}, batch {B}, {T} tokens, {N} rollouts per prefix", minigen_rollouts,
              torch_rollouts, warmup=1, repeat=3)
row.update(torch_untuned_ms=round(untuned["rollouts"], 4), ratio_untuned=round(row["minigen_ms"] / untuned["rollouts"], 3))
report("rollout", [row], {"model": dict(V=V, E=E, H=H, layers=1), "batch": B, "tokens": T, "rollouts": N})
print(f"  minigen {row['minigen_ms']:.0f} ms, torch {row['torch_ms']:.0f} ms (ratio {row['ratio']}; "
      f"untuned torch {row['torch_untuned_ms']:.0f} ms, ratio {row['ratio_untuned']})")
