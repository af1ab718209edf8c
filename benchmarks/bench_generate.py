"""Generation speed: tokens per second at batch 1, minigen vs PyTorch CPU, for the same model and loop.

The char-LSTM of W1 (vocabulary 96, embedding 64, hidden 256, 2 layers), with the same
weights in both libraries. A 16-token prompt is read, then 256 new tokens are generated
one at a time with the state carried, greedily and by sampling at temperature 0.8:
minigen through ``minigen.sample.generate``, PyTorch through the equivalent loop
(``model(next, state)``, argmax or ``torch.multinomial``) under ``torch.inference_mode``.
Target: minigen >= 1.0x PyTorch's tokens/s. Ratios are against PyTorch with glibc's
malloc tuned as minigen's is (like for like); ``ratio_untuned`` is against PyTorch as
its users run it, timed in a child process without the malloc tuning.

Run: python benchmarks/bench_generate.py [--threads N]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: p.add_argument("--new", type=int, default=256))

import json  # noqa: E402

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import compare, report, require_torch, time_fn, untuned_torch_ms  # noqa: E402
from minigen.models import RNNLanguageModel  # noqa: E402
from minigen.sample import generate  # noqa: E402

torch = require_torch()
V, E, H, L, NEW = 96, 64, 256, 2, args.new
prompt = np.random.default_rng(0).integers(0, V, size=(1, 16))

minigen.manual_seed(0)
model = RNNLanguageModel(V, E, H, L)


class TorchLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.rnn = torch.nn.LSTM(E, H, L, batch_first=True)
        self.head = torch.nn.Linear(H, V)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state


ref = TorchLM().eval()
ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
prompt_t = torch.tensor(prompt)


def torch_generate(sample: bool):
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        logits, state = ref(prompt_t)
        out = []
        for _ in range(NEW):
            last = logits[:, -1, :]
            if sample:
                nxt = torch.multinomial(torch.softmax(last / 0.8, dim=-1), 1, generator=gen)
            else:
                nxt = last.argmax(-1, keepdim=True)
            out.append(nxt)
            logits, state = ref(nxt, state)
    return torch.cat(out, 1)


mine = generate(model, prompt, NEW)[0, 16:]
theirs = torch_generate(False)[0].numpy()
assert (mine == theirs).all(), "greedy continuations differ between minigen and torch"

CASES = (("greedy", {}, False),
         ("sampling, temperature 0.8", dict(do_sample=True, temperature=0.8, top_k=0, seed=0), True))
if args.untuned_child:                               # torch alone, as its users run it (no malloc tuning)
    print(json.dumps({name: time_fn(lambda: torch_generate(sample), warmup=1, repeat=5) for name, _, sample in CASES}))
    raise SystemExit

untuned = untuned_torch_ms(["--new", str(NEW)])
rows = []
for name, kw, sample in CASES:
    row = compare(f"char-LSTM, batch 1, {NEW} tokens, {name}", lambda: generate(model, prompt, NEW, **kw),
                  lambda: torch_generate(sample), warmup=1, repeat=5)
    row.update(minigen_tokens_per_s=round(NEW / row["minigen_ms"] * 1e3), torch_tokens_per_s=round(
        NEW / row["torch_ms"] * 1e3), speedup=round(row["torch_ms"] / row["minigen_ms"], 2),
        torch_untuned_ms=round(untuned[name], 4), torch_untuned_tokens_per_s=round(NEW / untuned[name] * 1e3),
        ratio_untuned=round(row["minigen_ms"] / untuned[name], 3))
    rows.append(row)
report("generate_tokens_per_s", rows, {"model": dict(V=V, E=E, H=H, layers=L), "new_tokens": NEW})
for r in rows:
    print(f"  {r['name']}: minigen {r['minigen_tokens_per_s']} tokens/s, torch {r['torch_tokens_per_s']} tokens/s "
          f"({r['speedup']}x)")
