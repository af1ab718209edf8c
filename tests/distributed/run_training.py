"""A short training run for tests/distributed/: under mpiexec (data-parallel) or alone (the reference).

    mpiexec -n 2 python run_training.py OUT.npz --model lstm --batch-size 32 --steps 5 [--distributed]
        [--clip 0.5] [--checkpoint-dir DIR] [--resume] [--kill-rank-1-at K] [--steps-to-run K]

Float64 weights, dropout off. Rank 0 writes the final weights, the step and the loss history to OUT.npz.
"""

import argparse
import os
import signal

import numpy as np

import minigen
from minigen import distributed
from minigen.models import GPT, GPTConfig, RNNLanguageModel
from minigen.train import Callback, Trainer


class KillRank1(Callback):
    """Rank 1 dies at a step, as a crashed machine would."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, loss):
        if trainer.step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--model", choices=("lstm", "gpt"), default="lstm")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--clip", type=float, default=None)
    p.add_argument("--distributed", action="store_true")
    p.add_argument("--checkpoint-dir")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--kill-rank-1-at", type=int)
    p.add_argument("--eval-interval", type=int, default=2)
    args = p.parse_args()

    group = distributed.init() if args.distributed else None
    ids = np.random.default_rng(0).integers(0, 11, 4000)
    minigen.manual_seed(1 + (group.rank if group else 0))    # ranks start from different weights: the broadcast
    if args.model == "lstm":
        model = RNNLanguageModel(11, embed_dim=6, hidden_size=12, num_layers=2).double()
    else:
        model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=12)).double()
    optimizer = minigen.optim.Adam(model.parameters(), lr=1e-2)
    trainer = Trainer(model, optimizer, ids[:3600], ids[3600:], batch_size=args.batch_size, seq_len=8,
                      max_steps=args.steps, warmup_steps=2, eval_interval=args.eval_interval, eval_tokens=None,
                      grad_clip=args.clip, checkpoint_dir=args.checkpoint_dir, progress=False, log=lambda text: None,
                      group=group)
    if args.kill_rank_1_at and group is not None and group.rank == 1:
        trainer.callbacks.append(KillRank1(args.kill_rank_1_at))     # callbacks run on rank 0 only: added by hand
    if args.resume:
        trainer.resume()
    trainer.fit()
    if group is None or group.is_main:
        weights = {k: minigen.to_numpy(v) for k, v in model.state_dict().items()}
        np.savez(args.out, step=trainer.step, val_loss=[m.get("val_loss", np.nan) for m in trainer.history], **weights)


if __name__ == "__main__":
    main()
