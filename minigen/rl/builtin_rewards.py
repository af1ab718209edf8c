"""Built-in rewards for fine-tuning a language model: a lipogram, including a word, a discriminator's verdict.

Each is a callable on the generated tokens only, ``reward(completions)`` with
``completions`` a host (B, T) array of ids (T = the new tokens, the prompt left out),
and returns either

- per-token rewards (B, T): ``Lipogram``, a penalty on every token that holds the
  banned letter, so that the policy gradient knows *which* token was wrong; or
- one reward per sequence (B,): ``IncludeWord`` and ``DiscriminatorReward``, which
  ``Finetuner`` gives at the last token (the other tokens get 0).

``train_discriminator`` trains the ``TextCNNDiscriminator`` that ``DiscriminatorReward``
reads, on windows of the corpus (real) against a model's own continuations of
corpus prompts (generated).
"""

from __future__ import annotations

import re

from .. import backend, rules
from ..autograd import no_grad
from ..backend import host
from ..data.batching import random_windows
from ..functional import cross_entropy
from ..models import TextCNNDiscriminator
from ..nn.utils import clip_grad_norm_
from ..optim import Adam
from ..sample.generate import generate

__all__ = ["Lipogram", "IncludeWord", "DiscriminatorReward", "train_discriminator"]


class Lipogram:
    """Per-token reward for writing without ``letter``: -1 for each time a token holds it, in either case.

        reward[b, t] = -(count of letter.lower() and letter.upper() in decode(completions[b, t]))

    For a character tokenizer that is -1 on every banned character and 0 elsewhere.

    >>> from minigen.data import CharTokenizer
    >>> no_e = Lipogram(CharTokenizer("the ca"), "e")          # ids 0..5: t h e space c a
    >>> no_e(host.asarray([[0, 1, 2], [3, 4, 5]])).tolist()      # 'the', ' ca'
    [[0.0, 0.0, -1.0], [0.0, 0.0, 0.0]]
    """

    def __init__(self, tokenizer, letter: str):
        fn = "Lipogram"
        ok = isinstance(letter, str) and len(letter) == 1 and not letter.isspace()
        rules.require(ok, fn, "letter", "one character (not a space)", rules.describe(letter))
        banned = {letter.lower(), letter.upper()}
        texts = [tokenizer.decode(host.asarray([i])) for i in range(tokenizer.vocab_size)]
        counts = host.asarray([sum(text.count(c) for c in banned) for text in texts], dtype=host.float64)   # (V,)
        rules.require(counts.any(), fn, "letter", "a letter that some token of the tokenizer holds", repr(letter))
        self.letter, self.penalty = letter, 0.0 - counts             # (V,); not -counts, which holds -0.0

    def __call__(self, completions):
        return self.penalty[completions]                                 # (B, T)

    def __repr__(self):
        return f"Lipogram({self.letter!r})"


class IncludeWord:
    """Reward 1 for a completion whose text holds ``word`` (as a whole word when it starts and ends with a letter
    or digit: "the" is not found in "then"), else 0; one number per sequence.

    >>> from minigen.data import CharTokenizer
    >>> tok = CharTokenizer.train("the cat sat")
    >>> IncludeWord(tok, "cat")(host.asarray([tok.encode("a cat"), tok.encode("cats ")])).tolist()
    [1.0, 0.0]
    """

    def __init__(self, tokenizer, word: str):
        fn = "IncludeWord"
        rules.require(isinstance(word, str) and word.strip(), fn, "word", "a non-empty string", rules.describe(word))
        try:
            back = tokenizer.decode(host.asarray(tokenizer.encode(word)))
        except ValueError as e:                                          # a character outside the vocabulary
            raise ValueError(f"{fn}: word must be text the tokenizer can encode, got {word!r} ({e})") from None
        rules.require(word in back, fn, "word", "text the tokenizer can write", f"{word!r}, read back as {back!r}")
        start = r"(?<!\w)" if re.match(r"\w", word) else ""
        end = r"(?!\w)" if re.search(r"\w$", word) else ""
        self.word, self.pattern, self.tokenizer = word, re.compile(start + re.escape(word) + end), tokenizer

    def __call__(self, completions):
        texts = self.tokenizer.batch_decode(completions)
        return host.asarray([1.0 if self.pattern.search(text) else 0.0 for text in texts])      # (B,)

    def __repr__(self):
        return f"IncludeWord({self.word!r})"


class DiscriminatorReward:
    """Reward D(completion): a ``TextCNNDiscriminator``'s probability that the completion is real text.

    The discriminator is frozen (evaluation mode, no gradient). ``state_dict`` and
    ``load_state_dict`` are its own, so that a ``Finetuner`` checkpoint keeps it.
    """

    def __init__(self, discriminator):
        ok = callable(getattr(discriminator, "real_probability", None))
        rules.require(ok, "DiscriminatorReward", "discriminator", "a TextCNNDiscriminator (with real_probability)",
                      type(discriminator).__name__, TypeError)
        self.discriminator = discriminator.eval()

    def __call__(self, completions):
        like = next(iter(self.discriminator.parameters())).data
        with no_grad():
            p = self.discriminator.real_probability(backend.asarray_like(completions, like))      # (B,)
        return backend.to_numpy(p.data).astype(host.float64)

    def state_dict(self) -> dict:
        return self.discriminator.state_dict()

    def load_state_dict(self, state) -> None:
        self.discriminator.load_state_dict(state)

    def __repr__(self):
        return "DiscriminatorReward()"


# A small text-CNN: it trains in a few seconds on 2 cores and tells a 10-minute model's text from the corpus's.
DISCRIMINATOR_SIZES = dict(embed_dim=32, filter_sizes=(2, 3, 4, 6, 8), num_filters=(32, 32, 32, 32, 32), dropout=0.25)


def train_discriminator(model, train_ids, prompt_length: int = 16, new_tokens: int = 96, *, num_samples: int = 512,
                        epochs: int = 3, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                        log=None) -> TextCNNDiscriminator:
    """A ``TextCNNDiscriminator`` (``DISCRIMINATOR_SIZES``) trained to tell corpus text from ``model``'s.

    Real (class 1): ``num_samples`` windows of ``new_tokens`` ids from ``train_ids``;
    generated (class 0): ``model``'s continuations (temperature 1, no top-k) of as many
    random ``prompt_length``-token windows, ``new_tokens`` long: what the fine-tuned
    policy writes at the start. ``epochs`` passes over both shuffled together,
    2-class cross-entropy, Adam at ``lr``. ``seed`` fixes the windows, the samples and
    the order (dropout masks come from minigen's global generator). ``log(text)``, if
    given, hears the accuracy on the last epoch's batches.
    """
    fn = "train_discriminator"
    P, T, n, epochs, batch_size = rules.positive_ints(fn, prompt_length=prompt_length, new_tokens=new_tokens,
                                                      num_samples=num_samples, epochs=epochs, batch_size=batch_size)
    lr = rules.real(fn, "lr", lr, 0, lo_open=True)
    rng = host.random.default_rng(rules.non_negative_int(fn, "seed", seed))
    like = next(iter(model.parameters())).data
    real, _ = random_windows(train_ids, n, T, rng)                                   # (n, T)
    prompts, _ = random_windows(train_ids, n, P, rng)                                # (n, P)
    was_training = model.training
    model.eval()
    fake = []
    with no_grad():
        for s in range(0, n, batch_size):
            out = generate(model, backend.asarray_like(prompts[s:s + batch_size], like), T, do_sample=True, top_k=0,
                           seed=int(rng.integers(2**63)))
            fake.append(backend.to_numpy(out)[:, P:])                                  # (b, T)
    model.train(was_training)
    x = host.concatenate([real, host.concatenate(fake).astype(real.dtype)])          # (2n, T)
    y = host.concatenate([host.ones(n, dtype=host.int64), host.zeros(n, dtype=host.int64)])      # 1 = real
    d = TextCNNDiscriminator(model.config["vocab_size"], **DISCRIMINATOR_SIZES, device=backend.device_of(like),
                             dtype=like.dtype)
    optimizer = Adam(d.parameters(), lr=lr)
    d.train()
    for epoch in range(epochs):
        right = 0
        order = rng.permutation(2 * n)
        for s in range(0, 2 * n, batch_size):
            rows = order[s:s + batch_size]
            logits = d(backend.asarray_like(x[rows], like))                            # (b, 2)
            loss = cross_entropy(logits, backend.asarray_like(y[rows], like))
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(d.parameters(), 1.0)
            optimizer.step()
            right += int((backend.to_numpy(logits.data).argmax(1) == y[rows]).sum())
    if log is not None:
        log(f"discriminator: {2 * n} windows of {T} tokens (half corpus, half the model's), {epochs} epochs; "
            f"accuracy {right / (2 * n):.1%} on the last epoch")
    return d.eval()
