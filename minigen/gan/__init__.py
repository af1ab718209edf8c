"""``minigen.gan``: text GANs built on minigen's language models.

- ``mle_pretrain``, ``pretrain_discriminator``: the pretraining phases every text GAN starts from;
- ``SeqGAN``: the generator trained by REINFORCE on Monte-Carlo rollout rewards from a
  ``TextCNNDiscriminator`` (Yu et al., AAAI 2017); ``update_rollout_policy``: its delayed copy;
- ``GumbelGAN``: the generator trained through the Gumbel-softmax relaxation of its samples (RelGAN's loss).
"""

from .gumbel_gan import GumbelGAN
from .mle import mle_pretrain, pretrain_discriminator
from .seqgan import SeqGAN, update_rollout_policy

__all__ = ["mle_pretrain", "pretrain_discriminator", "SeqGAN", "update_rollout_policy", "GumbelGAN"]
