"""The GPT of ``minigen.models.GPT`` written in PyTorch, for side-by-side benchmarks.

Same parameter names and layout, so ``load_state_dict`` of minigen's weights just
works: pre-norm blocks, ``nn.MultiheadAttention``'s packed in-projection, GELU (tanh),
learned positions, and a head tied to the token embedding. Import it only after
``harness.parse_and_pin`` has set the thread count.
"""

import torch

nn, tF = torch.nn, torch.nn.functional


class TorchBlock(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_embd, self.n_head = n_embd, n_head
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.attn = nn.MultiheadAttention(n_embd, n_head, batch_first=True)
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = nn.Linear(n_embd, 4 * n_embd), nn.Linear(4 * n_embd, n_embd)

    def attend(self, a, cache):
        """Causal self-attention with the MHA's own weights, keys and values appended to ``cache``."""
        B, T, E = a.shape
        q, k, v = tF.linear(a, self.attn.in_proj_weight, self.attn.in_proj_bias).split(E, dim=-1)
        q, k, v = (t.view(B, T, self.n_head, E // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        y = tF.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
        return self.attn.out_proj(y.transpose(1, 2).reshape(B, T, E))

    def forward(self, x, cache=None):
        x = x + self.attend(self.ln_1(x), cache)
        return x + self.mlp.c_proj(tF.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class TorchGPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, ids, caches=None, past=0):
        x = self.wte(ids) + self.wpe(torch.arange(past, past + ids.shape[1]))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.lm_head(self.ln_f(x))
