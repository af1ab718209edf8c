"""``minigen.rl``: policy-gradient tools for training a generator from a reward.

- ``sequence_log_probs``, ``completion_mask``: the log-probability of sampled sequences, token by token;
- ``reinforce_loss`` with a baseline (``MovingAverageBaseline``, or GRPO's ``group_advantages``);
- ``kl_penalty``: a per-token KL estimate to a frozen reference model;
- rewards are Python callables on token ids (``text_reward`` for decoded text), checked where
  they are called (``call_reward``); ``rollout_rewards``: SeqGAN's Monte-Carlo rewards of partial sequences;
- ``Finetuner``: REINFORCE fine-tuning of a trained model toward a reward, with a KL penalty to the
  original, checkpoints and exact resume (``minigen finetune``); its built-in rewards ``Lipogram``,
  ``IncludeWord`` and ``DiscriminatorReward`` (with ``train_discriminator``).

One step of REINFORCE fine-tuning (``top_k=0``: sample the model's own distribution;
``generate``'s default top-k of 50 would sample another one), with ``b = MovingAverageBaseline()``
made once before the loop::

    ids = generate(model, prompts, n, do_sample=True, top_k=0)            # (B, P + n), no graph
    log_probs = sequence_log_probs(model, ids, P)                        # (B, n), in the graph
    loss = reinforce_loss(log_probs, reward(ids), baseline=b)
    loss.backward(); optimizer.step()
"""

from .builtin_rewards import DiscriminatorReward, IncludeWord, Lipogram, train_discriminator
from .finetune import Finetuner
from .log_probs import completion_mask, sequence_log_probs
from .policy import MovingAverageBaseline, group_advantages, kl_penalty, reinforce_loss
from .rewards import call_reward, rollout_rewards, text_reward

__all__ = ["sequence_log_probs", "completion_mask", "reinforce_loss", "MovingAverageBaseline", "group_advantages",
           "kl_penalty", "call_reward", "text_reward", "rollout_rewards", "Finetuner", "Lipogram", "IncludeWord",
           "DiscriminatorReward", "train_discriminator"]
