"""The tiny policy the rl tests enumerate: vocabulary 3, a one-token prompt, 3 generated tokens (27 sequences)."""

from __future__ import annotations

import itertools

import numpy as np

import minigen
from minigen.models import RNNLanguageModel
from minigen.rl import sequence_log_probs

V, T_NEW, PROMPT = 3, 3, 0


def tiny_model(seed=0, cell="lstm"):
    """An RNNLanguageModel over 3 tokens, float64, its weights doubled (distributions far from uniform)."""
    minigen.manual_seed(seed)
    model = RNNLanguageModel(V, embed_dim=3, hidden_size=4, num_layers=1, cell=cell, dtype="float64")
    for p in model.parameters():
        p.data = p.data * 2.0
    return model


def all_sequences():
    """The 27 sequences (27, 1 + T_NEW): the prompt token, then every continuation, in lexicographic order."""
    rest = np.array(list(itertools.product(range(V), repeat=T_NEW)))
    return np.concatenate([np.full((len(rest), 1), PROMPT), rest], axis=1)


def index_of(ids):
    """Each row's position in ``all_sequences()`` (its continuation read as a base-3 number)."""
    ids = np.asarray(ids)[:, 1:]
    return (ids * V ** np.arange(T_NEW - 1, -1, -1)).sum(axis=1)


def sequence_probabilities(model):
    """p(y) of the 27 sequences, (27,), from sequence_log_probs (no graph)."""
    with minigen.no_grad():
        return np.exp(sequence_log_probs(model, all_sequences(), 1).numpy().sum(axis=1))


def sample(model, n, seed):
    """n sequences drawn from the model (its own distribution: top_k off)."""
    return minigen.sample.generate(model, np.full((n, 1), PROMPT), T_NEW, do_sample=True, top_k=0, seed=seed)


def flat_grad(model):
    return np.concatenate([np.asarray(p.grad).reshape(-1) for p in model.parameters()])
