"""``GPT``: a decoder-only Transformer, as GPT-2 (and nanoGPT) build it.

    ids (B, T) -> token embedding + position embedding -> dropout
               -> n_layer x Block -> LayerNorm -> linear head (tied to wte if tie_weights) -> logits (B, T, V)

    Block(x):  x = x + Attention(LayerNorm(x))      # causal multi-head self-attention
               x = x + MLP(LayerNorm(x))            # Linear(E, 4E) -> GELU -> Linear(4E, E)

Pre-LayerNorm blocks with residual connections; the causal mask lets position t
attend to positions 0..t only, so one forward pass trains every position at once.
``forward(ids) -> logits``. For generation, ``generation_step(ids, state)`` runs only
the new positions, with a key/value cache per layer (``state``), so each new token
costs one position instead of the whole prefix.

Parameter names follow GPT-2 (``wte``, ``wpe``, ``h.0.ln_1``, ``h.0.attn``, ``h.0.mlp.c_fc``,
``ln_f``, ``lm_head``); ``minigen.pretrained.load_gpt2`` maps a Hugging Face checkpoint
onto them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .. import backend, nn, rules
from ..autograd import Tensor
from ..nn import init
from .generation import GenerationMixin, lm_ids
from .gpt_infer import InferenceWeights, infer

_ALONE = "given alone, not with keyword sizes (to change a field, write GPT(dataclasses.replace(config, ...)))"
_AT_MOST_A_BLOCK = ("at most block_size={} positions long (crop the input to the last block_size tokens; "
                    "generate() does this itself)")

__all__ = ["GPT", "GPTConfig", "GPTState"]


@dataclass
class GPTConfig:
    """The sizes of a ``GPT``. The defaults are GPT-2 small's (124M parameters).

    ``block_size`` is the longest context; ``bias`` adds biases to the linear layers
    and layer norms; ``tie_weights`` shares the token embedding with the output head;
    ``gelu_approximate="tanh"`` is GPT-2's GELU ("none" for the exact one).
    """

    vocab_size: int = 50257
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True
    layer_norm_epsilon: float = 1e-5
    gelu_approximate: str = "tanh"

    def __post_init__(self):                  # each field as a Python number, so that the config goes into JSON
        fn = "GPTConfig"
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            setattr(self, name, rules.positive_int(fn, name, getattr(self, name)))
        rules.require(self.n_embd % self.n_head == 0, fn, "n_embd", f"divisible by n_head={self.n_head}", self.n_embd)
        self.dropout = rules.real(fn, "dropout", self.dropout, 0, 1, hi_open=True)
        self.layer_norm_epsilon = rules.real(fn, "layer_norm_epsilon", self.layer_norm_epsilon, 0, lo_open=True)
        self.bias, self.tie_weights = rules.flags(fn, bias=self.bias, tie_weights=self.tie_weights)
        rules.choice(fn, "gelu_approximate", self.gelu_approximate, ("tanh", "none"))


class MLP(nn.Module):
    """Linear(E, 4E) -> GELU -> Linear(4E, E) -> dropout."""

    def __init__(self, config: GPTConfig, dtype=None):
        super().__init__()
        E = config.n_embd
        self.c_fc = nn.Linear(E, 4 * E, bias=config.bias, dtype=dtype)
        self.act = nn.GELU(approximate=config.gelu_approximate)
        self.c_proj = nn.Linear(4 * E, E, bias=config.bias, dtype=dtype)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.drop(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    """x + Attention(LayerNorm(x)), then + MLP(LayerNorm(x))."""

    def __init__(self, config: GPTConfig, dtype=None):
        super().__init__()
        E = config.n_embd
        self.ln_1 = nn.LayerNorm(E, eps=config.layer_norm_epsilon, bias=config.bias, dtype=dtype)
        self.attn = nn.MultiheadAttention(E, config.n_head, dropout=config.dropout, bias=config.bias,
                                          batch_first=True, dtype=dtype)
        self.drop = nn.Dropout(config.dropout)
        self.ln_2 = nn.LayerNorm(E, eps=config.layer_norm_epsilon, bias=config.bias, dtype=dtype)
        self.mlp = MLP(config, dtype)

    def forward(self, x):
        a = self.ln_1(x)
        attn, _ = self.attn(a, a, a, need_weights=False, is_causal=True)   # (B, T, E)
        x = x + self.drop(attn)
        return x + self.mlp(self.ln_2(x))


@dataclass
class GPTState:
    """What ``generate`` carries between steps: per layer, the (k, v) cache buffers, the ids they
    hold, and the weights laid out for the graph-free forward pass (``gpt_infer.InferenceWeights``)."""

    caches: list
    ids: object
    weights: object = None


class GPT(GenerationMixin, nn.Module):
    """A GPT language model; see the module docstring.

    >>> import minigen, numpy as np
    >>> model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16))
    >>> model(np.zeros((3, 5), np.int64)).shape
    (3, 5, 10)
    """

    def __init__(self, config: GPTConfig | None = None, dtype=None, **kwargs):
        """``GPT(GPTConfig(...))``, or the config's fields as keywords, ``GPT(vocab_size=..., n_layer=...)``
        (as ``build_model`` passes them), not both; ``dtype`` is the parameters' dtype."""
        super().__init__()
        rules.instance("GPT", "config", config, (GPTConfig, type(None)), "a GPTConfig (for a dict d, write GPT(**d))")
        rules.require(not (config and kwargs), "GPT", "config", _ALONE, f"a config and {', '.join(kwargs)}", TypeError)
        config = GPTConfig(**kwargs) if config is None else config    # an unknown keyword is GPTConfig's TypeError
        init.check_dtype("GPT", dtype)
        self.gpt_config = config
        self.config = dict(model_type="gpt", **asdict(config))
        E, V = config.n_embd, config.vocab_size
        self.wte = nn.Embedding(V, E, dtype=dtype)
        self.wpe = nn.Embedding(config.block_size, E, dtype=dtype)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config, dtype) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(E, eps=config.layer_norm_epsilon, bias=config.bias, dtype=dtype)
        self.lm_head = nn.Linear(E, V, bias=False, dtype=dtype)
        self._init_weights(dtype)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight                     # one Parameter, two uses

    def _init_weights(self, dtype):
        """GPT-2's: N(0, 0.02) weights, zero biases, the residual projections scaled by 1/sqrt(2 n_layer)."""
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                p.data = init.zeros(p.shape, dtype)
            elif name.endswith(("weight", "in_proj_weight")) and "ln_" not in name:
                std = 0.02 / math.sqrt(2 * self.gpt_config.n_layer) if name.endswith("c_proj.weight") or \
                    name.endswith("out_proj.weight") else 0.02
                p.data = init.normal(p.shape, std, dtype)

    def forward(self, ids):
        """ids (B, T) integer, T <= block_size -> logits (B, T, V)."""
        ids, block_size = lm_ids("GPT", ids), self.gpt_config.block_size
        T = ids.shape[1]
        rules.require(T <= block_size, "GPT", "ids", _AT_MOST_A_BLOCK.format(block_size), f"{T} positions")
        pos = backend.asarray_like(backend.host_array(list(range(T)), "int64"), ids)    # (T,)
        x = self.drop(self.wte(ids) + self.wpe(pos))                  # (B, T, E)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))                              # (B, T, V)

    # ------------------------------------------------------------------ generation
    def generation_step(self, ids, state=None):
        """``(logits, state)`` for the new ids, reusing the cached keys and values of earlier positions.

        When the context would pass ``block_size``, the cache is dropped and the last
        ``block_size`` ids are read again (the window slides; nothing is an error).
        Runs the graph-free ``gpt_infer.infer``, so dropout is off whatever the mode. The
        first step (``state=None``) takes a snapshot of the weights for the steps after it.
        """
        ids = lm_ids("GPT", ids, self.gpt_config.vocab_size)                     # infer reads wte directly
        xp = backend.array_namespace(ids)
        if state is None:
            state = GPTState([None] * len(self.h), ids[:, :0], InferenceWeights(self))
        all_ids = xp.concat([state.ids, ids], axis=1)
        caches = list(state.caches)
        past = state.ids.shape[1]                                   # positions already in the caches
        if past + ids.shape[1] > self.gpt_config.block_size:       # slide the window: recompute the last block
            all_ids = all_ids[:, -self.gpt_config.block_size:]
            caches = [None] * len(self.h)
            logits = infer(state.weights, self.gpt_config, all_ids, caches, 0)
        else:
            logits = infer(state.weights, self.gpt_config, ids, caches, past)
        return Tensor(logits), GPTState(caches, all_ids, state.weights)

    @staticmethod
    def reorder_state(state, index):
        """Keep the batch rows ``index`` (B',) of every cache (beam search)."""
        if state is None:
            return None
        xp = backend.array_namespace(state.ids)
        idx = backend.asarray_like(index, state.ids)
        caches = [None if c is None else (xp.take(c[0], idx, axis=0), xp.take(c[1], idx, axis=0))
                  for c in state.caches]
        return GPTState(caches, xp.take(state.ids, idx, axis=0), state.weights)

    def num_parameters(self) -> int:
        """Parameters counted once (the tied head is the embedding)."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())
