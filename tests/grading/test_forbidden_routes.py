"""Every route by which minigen could hand over the answer of an exercise of lessons 08 to 13.

Each scores 0 with a diagnosis that says it is not allowed, although the same code
earns points when nothing is forbidden, and the hand-written exercises beside it
keep full marks. (``test_exercises.py`` grades the reference, the handout and an
all-zeros submission of every lesson, and one such route per exercise.)
"""

import pytest

from tests.grading.test_exercises import graded, without_guard, write_lesson

# Hand-written forwards whose cache suits a backward that cheats: the kernel's layout, or the inputs themselves.
LN_KERNEL_CACHE = """
    xc = x - x.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    y = xc * rstd * gamma + beta
    C = x.shape[-1]
    cache = ((xc * rstd).reshape(-1, C), rstd.reshape(-1, 1), gamma, True, x.shape, (C,))
"""
LN_INPUTS_CACHE = """
    xc = x - x.mean(axis=-1, keepdims=True)
    y = xc / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps) * gamma + beta
    cache = (x, gamma, beta, eps)
"""

# Rounds of submissions that take an exercise's answer from minigen: (the cheats, as exercise -> (the minigen
# function the diagnosis must name, body), and hand-written bodies that the cheats need beside them).
ROUTES = {
    "08": [
        ({"layer_norm_forward": ("minigen.kernels.layernorm.layer_norm_forward", """
              t = F.layer_norm(minigen.tensor(x), x.shape[-1], minigen.tensor(gamma), minigen.tensor(beta), eps)
              y, cache = t.numpy(), None
          """),
          "block_forward": ("minigen.models.gpt.Block.forward", "x = Block.forward(block, x)")}, {}),
        ({"layer_norm_forward": ("minigen.kernels.layernorm.layer_norm_forward", """
              ln = minigen.nn.LayerNorm(x.shape[-1], eps=eps, dtype="float64")
              ln.weight.data, ln.bias.data = gamma, beta
              y, cache = ln(minigen.tensor(x)).numpy(), None
          """)}, {}),
        ({"layer_norm_forward": ("minigen.kernels.layernorm.layer_norm", """
              from minigen.kernels.layernorm import layer_norm
              y, cache = layer_norm(x, gamma, beta, eps), None
          """)}, {}),
        ({"layer_norm_backward": ("minigen.kernels.layernorm.layer_norm_backward",
                                  "dx, dgamma, dbeta = minigen_ln_backward(dy, cache)")},
         {"layer_norm_forward": LN_KERNEL_CACHE}),
        ({"layer_norm_backward": ("minigen.autograd.engine.backward", """
              x, gamma, beta, eps = cache
              xt, gt, bt = [minigen.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
              xc = xt - xt.mean(axis=-1, keepdims=True)
              y = xc / ((xc * xc).mean(axis=-1, keepdims=True) + eps).sqrt() * gt + bt
              (y * minigen.tensor(dy)).sum().backward()
              dx, dgamma, dbeta = xt.grad, gt.grad, bt.grad
          """)}, {"layer_norm_forward": LN_INPUTS_CACHE}),
        ({"layer_norm_backward": ("minigen.gradcheck._central_differences", """
              from minigen.gradcheck import _central_differences
              x, gamma, beta, eps = cache
              args = [x, gamma, beta]

              def losses(i, points):
                  return [float((layer_norm_forward(*args[:i], p, *args[i + 1:], eps=eps)[0] * dy).sum())
                          for p in points]
              dx, dgamma, dbeta = [_central_differences(a, losses, i, 1e-6) for i, a in enumerate(args)]
          """)}, {"layer_norm_forward": LN_INPUTS_CACHE}),
    ],
    "09": [
        ({"top_k_filter": ("TopKLogitsWarper.__call__",
                           "out = sample.TopKLogitsWarper(k)(np.zeros((scores.shape[0], 1), dtype=np.int64), scores)"),
          "top_p_filter": ("TopPLogitsWarper.__call__",
                           "out = sample.TopPLogitsWarper(p)(np.zeros((scores.shape[0], 1), dtype=np.int64), scores)"),
          "repetition_penalty": ("RepetitionPenaltyLogitsProcessor.__call__",
                                 "out = sample.RepetitionPenaltyLogitsProcessor(penalty)(ids, scores)")}, {}),
        ({"top_k_filter": ("MinPLogitsWarper.__call__", """
              minp = sample.MinPLogitsWarper(1.0, min_tokens_to_keep=k)       # keeps the k largest and their ties
              out = minp(np.zeros((scores.shape[0], 1), dtype=np.int64), scores)
          """),
          "top_p_filter": ("TopPLogitsWarper.__call__", """
              processors = sample.build_logits_processor(do_sample=True, top_k=None, top_p=p)
              out = processors(np.zeros((scores.shape[0], 1), dtype=np.int64), scores)
          """),
          "repetition_penalty": ("RepetitionPenaltyLogitsProcessor.__call__",
                                 "out = sample.build_logits_processor(repetition_penalty=penalty)(ids, scores)")}, {}),
        ({"repetition_penalty": ("minigen.sample.penalties._token_counts", """
              from minigen.sample.penalties import _token_counts
              seen = _token_counts(ids, V, scores.dtype) > 0
              out = np.where(seen, np.where(scores > 0, scores / penalty, scores * penalty), scores)
          """)}, {}),
        ({"repetition_penalty": ("NoRepeatNGramLogitsProcessor.__call__", """
              seen = np.isneginf(sample.NoRepeatNGramLogitsProcessor(1)(ids, np.zeros((B, V))))   # 1-grams seen
              out = np.where(seen, np.where(scores > 0, scores / penalty, scores * penalty), scores)
          """)}, {}),
        ({"repetition_penalty": ("minigen.sample.penalties._token_mask", """
              from minigen.sample.penalties import _token_mask
              seen = np.stack([_token_mask(row.tolist(), V, scores) for row in ids])
              out = np.where(seen, np.where(scores > 0, scores / penalty, scores * penalty), scores)
          """)}, {}),
    ],
    "10": [
        # minigen's beam search is not the lesson's narrowing one: it earns only part of the points
        ({"beam_search": ("minigen.sample.beam.beam_search", """
              V = len(step_log_probs((bos,)))
              out = minigen_beam_search(PrefixModel(step_log_probs, V), np.array([[bos]]), num_beams=num_beams,
                                        max_new_tokens=max_len, eos_token_id=eos, length_penalty=0.0,
                                        num_return_sequences=num_beams)
              found = []
              for row, score in zip(out.sequences, out.sequences_scores):
                  tokens = [int(t) for t in row[1:]]
                  if eos in tokens:
                      tokens = tokens[:tokens.index(eos) + 1]
                  if score > -np.inf:
                      found.append((tuple(tokens), float(score)))
              return found
          """)}, {}),               # length_normalized_score's route: test_exercises.py
        ({"beam_search": ("minigen.sample.beam._search", """
              from minigen.sample.beam import _search

              class Finished(list):                                   # BeamHypotheses' interface, no scoring
                  length_penalty = 0.0

                  def add(self, tokens, s, length, node=None):
                      self.append((tuple(int(t) for t in tokens), s))

                  def is_done(self, best_running, length):
                      return False
              V, found = len(step_log_probs((bos,))), Finished()
              _search(PrefixModel(step_log_probs, V), np.array([[bos]]), np.array([[bos]]), [found], None,
                      num_beams, max_len, eos, None)
              return sorted(found, key=lambda h: -h[1])
          """)}, {}),
    ],
    "11": [
        ({"additive_attention": ("minigen.models.seq2seq.Seq2Seq.attention", """
              (B, S, D), H, A = keys.shape, query.shape[1], v.shape[0]
              model = Seq2Seq(5, 5, embed_dim=2, hidden_size=H, attn_dim=A, bidirectional=D == 2 * H, dtype="float64")
              model.attn_dec.weight = minigen.nn.Parameter(W_q)
              model.attn_enc.weight = minigen.nn.Parameter(W_k)
              model.attn_enc.bias = minigen.nn.Parameter(np.zeros(A))
              model.attn_v.weight = minigen.nn.Parameter(v[None, :])
              keys_t = minigen.Tensor(keys)
              real = np.ones((B, S), dtype=bool) if mask is None else mask
              c, w = model.attention(minigen.Tensor(query), keys_t, model.attn_enc(keys_t), real)
              context, weights = c.numpy(), w.numpy()
          """),
          "teacher_forcing_prob": ("minigen.models.seq2seq.teacher_forcing_prob",
                                   "return float(minigen_teacher_forcing_prob(step, k=k))"),
          "choose_decoder_inputs": ("minigen.models.seq2seq.Seq2Seq._coins", """
              minigen.manual_seed(int(rng.integers(2 ** 31)))
              coins = Seq2Seq._coins(None, targets.size, p, targets.reshape(-1)).reshape(targets.shape)
              return np.where(coins, targets, predictions)
          """)}, {}),
    ],
    "12": [
        ({"logsumexp": ("minigen.kernels.softmax.log_softmax_forward", """
              from minigen.kernels.softmax import log_softmax_forward
              y, _ = log_softmax_forward(x)
              return x[..., 0] - y[..., 0]
          """),
          "one_hot": ("minigen.kernels.softmax.cross_entropy_backward", """
              from minigen.kernels.softmax import cross_entropy_backward
              N, dev = targets.shape[0], device_of(targets)
              s = xp.zeros((N, num_classes), dtype=xp.float64, device=dev)      # softmax - one_hot = -one_hot
              kept = xp.ones(N, dtype=xp.float64, device=dev)
              return cross_entropy_backward(-kept, (s, targets, kept, N, "none", 0.0))
          """)}, {}),
        ({"logsumexp": ("minigen.kernels.softmax.softmax_forward", """
              s, _ = softmax_forward(x)
              return xp.max(x, axis=-1) - xp.log(xp.max(s, axis=-1))         # the largest s is 1 / sum exp(x - m)
          """),
          "one_hot": ("minigen.sample.penalties._token_counts", """
              from minigen.sample.penalties import _token_counts
              return _token_counts(targets[:, None], num_classes, xp.float64)   # each row has seen one token
          """)}, {}),
        ({"logsumexp": ("minigen.kernels.softmax.cross_entropy_forward", """
              x2 = xp.reshape(x, (-1, x.shape[-1]))                            # (N, C)
              first = xp.zeros(x2.shape[0], dtype=xp.int64, device=device_of(x))
              loss, _ = cross_entropy_forward(x2, first, reduction="none")    # logsumexp - x[:, 0]
              return xp.reshape(loss + x2[:, 0], x.shape[:-1])
          """),
          "one_hot": ("NoRepeatNGramLogitsProcessor.__call__", """
              from minigen.sample import NoRepeatNGramLogitsProcessor
              zeros = xp.zeros((targets.shape[0], num_classes), dtype=xp.float64, device=device_of(targets))
              return xp.astype(xp.isinf(NoRepeatNGramLogitsProcessor(1)(targets[:, None], zeros)), xp.float64)
          """)}, {}),
        ({"one_hot": ("minigen.sample.penalties._token_mask", """
              from minigen.sample.penalties import _token_mask
              rows = [_token_mask([t], num_classes, targets) for t in to_numpy(targets).tolist()]
              return xp.astype(xp.stack(rows), xp.float64)
          """)}, {}),
    ],
    "13": [
        ({"reparameterize": ("minigen.models.vae.reparameterize",
                             "return vae.reparameterize(minigen.tensor(mu), minigen.tensor(logvar), eps).numpy()"),
          "gaussian_kl": ("minigen.models.vae.kl_divergence",
                          "return vae.kl_divergence(minigen.tensor(mu), minigen.tensor(logvar)).numpy()"),
          "gaussian_kl_backward": ("minigen.models.vae.kl_divergence", """
              mu_t, logvar_t = minigen.tensor(mu, requires_grad=True), minigen.tensor(logvar, requires_grad=True)
              (vae.kl_divergence(mu_t, logvar_t) * minigen.tensor(dkl)).sum().backward()
              dmu, dlogvar = mu_t.grad, logvar_t.grad
          """),
          "kl_weight": ("minigen.models.vae.kl_weight",
                        "return vae.kl_weight(step, 'linear', warmup=warmup_steps) if warmup_steps > 0 else 1.0")}, {}),
        ({"gaussian_kl_backward": ("minigen.autograd.engine.backward", """
              mu_t, logvar_t = minigen.tensor(mu, requires_grad=True), minigen.tensor(logvar, requires_grad=True)
              kl = ((mu_t * mu_t + logvar_t.exp() - logvar_t - 1.0) * 0.5).sum(axis=-1)
              (kl * minigen.tensor(dkl)).sum().backward()
              dmu, dlogvar = mu_t.grad, logvar_t.grad
          """)}, {}),
        ({"gaussian_kl_backward": ("minigen.gradcheck._central_differences", """
              from minigen.gradcheck import _central_differences
              args = [mu, logvar]

              def losses(i, points):
                  return [float(gaussian_kl(*args[:i], p, *args[i + 1:]) @ dkl) for p in points]
              dmu, dlogvar = [_central_differences(a, losses, i, 1e-6) for i, a in enumerate(args)]
          """)}, {}),
    ],
}

# exercises whose checks call another exercise of the student's (which then fails with it)
USES = {"layer_norm_backward": "layer_norm_forward"}


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory):
    """A copy of the lessons folder whose check files forbid nothing."""
    return without_guard(tmp_path_factory.mktemp("unguarded"))


ROUNDS = [(number, k, cheats, helpers) for number, rounds in ROUTES.items()
          for k, (cheats, helpers) in enumerate(rounds)]


@pytest.mark.parametrize("number, k, cheats, helpers", ROUNDS, ids=[f"{r[0]}-{r[1]}" for r in ROUNDS])
def test_minigens_own_answer_is_not_allowed(tmp_path, unguarded, number, k, cheats, helpers):
    write_lesson(tmp_path, number, {**helpers, **{function: body for function, (_, body) in cheats.items()}})
    free = graded(tmp_path, lessons=unguarded)
    for function in cheats:
        assert free[function]["points"] > 0, f"the cheat for {function} earns nothing: {free[function]['diagnosis']}"
    report = graded(tmp_path)
    for function, e in report.items():
        if function in cheats:
            refused = cheats[function][0]
            assert e["points"] == 0 and "not allowed" in e["diagnosis"] and refused in e["diagnosis"], \
                (function, e["diagnosis"])
        elif USES.get(function) not in cheats:            # hand-written: the guard must not get in its way
            assert e["points"] == e["max_points"], (function, e["diagnosis"])


def test_block_forward_may_not_call_the_block(tmp_path):
    """The block lent to block_forward runs in the grader, out of the worker's guard: the check refuses it."""
    write_lesson(tmp_path, "08", {"block_forward": "x = block(x)"})
    e = graded(tmp_path)["block_forward"]
    assert e["points"] == 0 and "called the block itself" in e["diagnosis"], e["diagnosis"]
