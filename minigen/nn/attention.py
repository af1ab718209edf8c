"""``MultiheadAttention``, as ``torch.nn.MultiheadAttention``, and a ``KVCache`` for incremental decoding.

Incremental decoding: a model that generates one token at a time would recompute
the keys and values of every earlier position at every step. A ``KVCache`` keeps
them instead. Each step projects only the new positions, appends their keys and
values to the cache, and lets the new queries attend over the whole cache::

    cache = KVCache()
    with minigen.no_grad():
        out, _ = mha(prompt, prompt, prompt, is_causal=True, kv_cache=cache)   # prefill: T0 positions
        out, _ = mha(x_new, x_new, x_new, is_causal=True, kv_cache=cache)      # then 1 position at a time

With ``is_causal`` the causal mask is offset by the cached length, so new position
t sees keys 0..t: the outputs equal a full recomputation with a causal mask. Use one
cache per attention layer, and ``reset()`` it before a new sequence.
"""

from __future__ import annotations

from .. import rules
from ..autograd import as_tensor
from ..autograd.ops import concat
from ..functional import attention as FA
from . import init
from .linear import Linear
from .module import Module, Parameter


class KVCache:
    """The keys and values of the positions one attention layer has seen so far.

    ``k`` and ``v`` are Tensors of shape (B, nh, T_past, hs), or None while empty.
    ``append(k, v)`` adds new positions along the time axis and returns the whole
    (k, v); ``len(cache)`` is T_past; ``reset()`` empties it. Appending copies the
    cache (a concatenation), which is simple and fast enough for short sequences.
    Run generation under ``minigen.no_grad()`` so that the cache holds no graph.

    >>> import minigen, numpy as np
    >>> cache = KVCache()
    >>> k = v = minigen.tensor(np.zeros((1, 2, 3, 4)))
    >>> _ = cache.append(k, v)
    >>> _ = cache.append(k, v)
    >>> len(cache), cache.k.shape
    (6, (1, 2, 6, 4))
    """

    def __init__(self):
        self.k = None
        self.v = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.shape[2]

    def append(self, k, v):
        """Add k, v of shape (B, nh, T_new, hs) after the cached positions; return the full (k, v)."""
        old = ("B", "nh", "T_new", "hs") if self.k is None else (self.k.shape[0], self.k.shape[1], "T_new",
                                                                   self.k.shape[3])
        k = rules.floating_array("KVCache.append", "k", as_tensor(k), old)
        v = rules.floating_array("KVCache.append", "v", as_tensor(v), k.shape[:3] + (old[3],))
        self.k = k if self.k is None else concat([self.k, k], axis=2)      # (B, nh, T_past + T_new, hs)
        self.v = v if self.v is None else concat([self.v, v], axis=2)      # (B, nh, T_past + T_new, hs)
        return self.k, self.v

    def reset(self) -> None:
        """Forget every cached position."""
        self.k = None
        self.v = None

    def __repr__(self) -> str:
        shape = None if self.k is None else self.k.shape
        return f"KVCache(len={len(self)}, k_shape={shape})"


class MultiheadAttention(Module):
    """Multi-head attention with torch's parameters, state-dict keys and call.

    Parameters: ``in_proj_weight`` (3E, E) = W_q, W_k, W_v stacked (xavier-uniform),
    ``in_proj_bias`` (3E,) (zeros), and ``out_proj``, a Linear(E, E) whose bias starts
    at zero. A torch state dict loads as is:
    ``mha.load_state_dict({k: v.numpy() for k, v in torch_mha.state_dict().items()})``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False, kv_cache=None) -> (attn_output, attn_weights)``:

    - query (L, B, E), key/value (S, B, E); (B, L, E) with ``batch_first=True``; unbatched (L, E).
    - ``attn_mask`` (L, S) or (B*nh, L, S), ``key_padding_mask`` (B, S): bool True means
      "may NOT attend" (the opposite of ``F.scaled_dot_product_attention``); float masks add.
    - ``is_causal=True`` applies the causal mask itself (torch requires ``attn_mask`` too).
    - weights (B, L, S) averaged over heads, or (B, nh, L, S); None if not ``need_weights``.
    - ``kv_cache``: a ``KVCache`` (or a subclass), for self-attention one step at a time (see the module doc).

    A query whose keys are all masked gets weights 0 and output ``out_proj.bias`` (torch: NaN).
    ``add_bias_kv``, ``add_zero_attn`` and ``kdim``/``vdim`` other than ``embed_dim`` are not supported.

    >>> import minigen, numpy as np
    >>> mha = minigen.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = minigen.tensor(np.ones((3, 5, 8), np.float32))
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        fn = "MultiheadAttention"
        embed_dim, num_heads = rules.positive_ints(fn, embed_dim=embed_dim, num_heads=num_heads)
        rules.require(embed_dim % num_heads == 0, fn, "num_heads", f"a divisor of embed_dim {embed_dim}", num_heads)
        dropout = rules.probability(fn, "dropout", dropout)
        bias, batch_first, *extras = rules.flags(fn, bias=bias, batch_first=batch_first, add_bias_kv=add_bias_kv,
                                                 add_zero_attn=add_zero_attn)
        plain = extras == [False, False] and kdim in (None, embed_dim) and vdim in (None, embed_dim)
        rules.require(plain, fn, "(add_bias_kv, add_zero_attn, kdim, vdim)", f"(False, False, None or {embed_dim}, "
                      f"None or {embed_dim}) (others are not supported)", (*extras, kdim, vdim), NotImplementedError)
        init.check_dtype(fn, dtype)
        E = embed_dim
        self.embed_dim, self.num_heads, self.head_dim = E, num_heads, E // num_heads
        self.kdim = self.vdim = E
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(init.place(init.xavier_uniform((3 * E, E), dtype), device))
        if bias:
            self.in_proj_bias = Parameter(init.place(init.zeros((3 * E,), dtype), device))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, device=device, dtype=dtype)
        if bias:
            self.out_proj.bias = Parameter(init.place(init.zeros((E,), dtype), device))

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False, kv_cache=None):
        rules.instance("MultiheadAttention", "kv_cache", kv_cache, (KVCache, type(None)), "a KVCache or None")
        query, key, value = FA.as_tensors("MultiheadAttention", query, key, value)
        am, kpm = FA.mha_masks("MultiheadAttention", query, key, value, self.embed_dim, self.num_heads,
                               key_padding_mask, attn_mask, self.batch_first, kv_cache)
        rules.same_dtype("MultiheadAttention", in_proj_weight=self.in_proj_weight, query=query)
        return FA.mha_forward(query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
                              self.dropout, self.out_proj.weight, self.out_proj.bias, self.training, kpm,
                              need_weights, am, average_attn_weights, is_causal, self.batch_first, kv_cache)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"bias={self.in_proj_bias is not None}, batch_first={self.batch_first}")
