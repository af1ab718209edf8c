"""Every lesson under the grader, exercise by exercise.

The reference solutions score full marks and the handout scores 0. So does an
all-zeros submission: a constant forward has zero gradients, and a zero backward
agrees with them, so every backward is checked against a correct forward too.
And an exercise solved by calling minigen's own answer scores 0, with a diagnosis
that says it is not allowed, although the same code would pass without the guard.
"""

import shutil
import textwrap

import pytest

from minigen.grading import assign, grade, lessons_dir, list_lessons

ROOT = lessons_dir()
LESSONS = {lesson.number: lesson for lesson in list_lessons() if lesson.exercises()}

# Each exercise's solution region replaced by a body that returns zeros of the right
# shapes, and keeps a cache that its backward can unpack.
ZEROS = {
    "01": {
        "Value.__mul__": "pass",                                    # a _backward that does nothing
        "Value.tanh": 'return Value(0.0, (self,), "tanh")',
        "Value.backward": "pass",
    },
    "02": {
        "numeric_gradient": "pass",                                 # grad stays np.zeros(x.shape)
        "softmax": "return np.zeros_like(x)",
        "softmax_backward": "dx = np.zeros_like(dout)",
        "relative_error": "return 0.0",
    },
    "03": {
        "log_softmax": "return np.zeros_like(x)",
        "cross_entropy": "loss, dlogits = 0.0, np.zeros_like(logits)",
        "entropy": "return np.zeros(p.shape[:-1])",
        "reweight_distribution": "return np.zeros_like(probs)",
    },
    "04": {
        "rnn_step_forward": "h, cache = np.zeros_like(h_prev), (x, h_prev, W_ih, W_hh, b)",
        "rnn_step_backward": "dx, dh_prev, dW_ih, dW_hh, db = [np.zeros_like(a) for a in cache]",
        "rnn_forward": "hs, cache = np.zeros((x.shape[0],) + h0.shape), (x, h0, W_ih, W_hh, b)",
        "rnn_backward": "dx, dh0, dW_ih, dW_hh, db = [np.zeros_like(a) for a in cache]",
    },
    "05": {
        "sigmoid": "return np.zeros_like(x)",
        "lstm_step_forward": """
            h, c = np.zeros_like(h_prev), np.zeros_like(c_prev)
            cache = (x, h_prev, c_prev, W_ih, W_hh, b)
        """,
        "lstm_step_backward": "dx, dh_prev, dc_prev, dW_ih, dW_hh, db = [np.zeros_like(a) for a in cache]",
    },
    "06": {
        "gru_step_forward": "h, cache = np.zeros_like(h_prev), (x, h_prev, W_ih, W_hh, b_ih, b_hh)",
        "gru_step_backward": "dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh = [np.zeros_like(a) for a in cache]",
    },
    "07": {
        "causal_mask": "return np.zeros((T, T), dtype=bool)",
        "attention_forward": """
            out = np.zeros(q.shape[:-1] + v.shape[-1:])            # (B, T_q, d_v)
            weights = np.zeros(q.shape[:-1] + k.shape[-2:-1])      # (B, T_q, T_k)
            cache = (q, k, v)
        """,
        "attention_backward": "dq, dk, dv = [np.zeros_like(a) for a in cache]",
    },
    "08": {
        "layer_norm_forward": "y, cache = np.zeros_like(x), (x, gamma)",
        "layer_norm_backward": "dx, dgamma, dbeta = np.zeros_like(dy), np.zeros_like(cache[1]), np.zeros_like(cache[1])",
        "block_forward": "x = x * 0",
    },
    "09": {
        "top_k_filter": "out = np.zeros_like(scores)",
        "top_p_filter": "out = np.zeros_like(scores)",
        "repetition_penalty": "out = np.zeros_like(scores)",
    },
    "10": {
        "beam_search": "return []",
        "length_normalized_score": "return np.zeros_like(np.asarray(sum_logprob, dtype=np.float64))",
    },
    "11": {
        "additive_attention": "context, weights = np.zeros((keys.shape[0], keys.shape[2])), np.zeros(keys.shape[:2])",
        "teacher_forcing_prob": "return 0.0",
        "choose_decoder_inputs": "return np.zeros_like(targets)",
    },
    "12": {
        "logsumexp": "return xp.zeros(x.shape[:-1], dtype=x.dtype, device=device_of(x))",
        "one_hot": "return xp.zeros((targets.shape[0], num_classes), dtype=xp.float64, device=device_of(targets))",
    },
    "13": {
        "reparameterize": "return np.zeros_like(mu)",
        "gaussian_kl": "return np.zeros(mu.shape[0])",
        "gaussian_kl_backward": "dmu, dlogvar = np.zeros_like(mu), np.zeros_like(logvar)",
        "kl_weight": "return 0.0",
    },
    "14": {
        "gumbel_softmax": "return np.zeros_like(logits)",
        "gumbel_softmax_backward": "return np.zeros_like(dy)",
        "conv1d_forward": "return np.zeros((x.shape[0], W.shape[0], x.shape[2] - W.shape[2] + 1)), (x, W, b)",
        "conv1d_backward": "return tuple(np.zeros_like(a) for a in cache)",
        "max_over_time_backward": "return np.zeros_like(x)",
        "rollout_rewards": "return np.zeros(ids.shape)",
    },
    "15": {
        "reinforce_surrogate": "return 0.0",
        "leave_one_out_baseline": "return np.zeros(np.shape(rewards))",
        "group_advantages": "return np.zeros(np.shape(rewards))",
        "returns_to_go": "return np.zeros(np.shape(rewards))",
        "kl_k3": "return np.zeros(np.shape(log_probs))",
    },
    "16": {
        "pack": "return np.zeros(0), []",
        "unpack": "return [np.zeros(shape) for shape in shapes]",
        "ring_all_reduce": "return np.zeros_like(buffer)",
        "clip_sharded": "return np.zeros_like(chunk), 0.0",
    },
    "17": {
        "green_list": "return np.zeros(int(vocab_size * gamma), dtype=np.int64)",
        "z_score": "return np.zeros(np.broadcast(np.asarray(num_green), np.asarray(num_tokens)).shape)",
        "count_green": "return 0",
    },
}

# Exercises solved with minigen's own answer (14's rollout_rewards has none: minigen.rl.rollout_rewards rolls out a
# minigen model, not the function that the exercise is given): (exercise, the minigen function the diagnosis must name, body).
# A forward keeps the reference's cache and a backward reads it, so that each cheat passes on its own
# when nothing is forbidden. Each round holds cheats whose checks do not call one another.
CHEATS = {
    "01": [[
        ("Value.__mul__", "minigen.autograd.ops.arithmetic.Mul.backward", """
            from minigen.autograd.ops.arithmetic import Mul
            op = Mul()
            op.a, op.b, op.needs_input_grad = np.array(self.data), np.array(other.data), (True, True)
            da, db = op.backward(np.array(out.grad))
            self.grad += float(da)
            other.grad += float(db)
        """),
        ("Value.tanh", "minigen.autograd.ops.elementwise.tanh", """
            t = minigen.tensor(np.array(self.data)).tanh().item()
            out = Value(t, (self,), "tanh")

            def _backward():
                self.grad += (1 - t * t) * out.grad
            out._backward = _backward
            return out
        """),
    ]],
    "02": [[
        ("numeric_gradient", "minigen.gradcheck._central_differences", """
            from minigen.gradcheck import _central_differences
            grad = _central_differences(x, lambda i, xs: [f(v) for v in xs], 0, eps)
        """),
        ("softmax", "minigen.kernels.softmax.softmax_forward", "return F.softmax(minigen.tensor(x)).numpy()"),
        ("softmax_backward", "minigen.autograd.engine.backward", """
            x = minigen.tensor(np.log(s), requires_grad=True)     # softmax(log s) = s
            e = x.exp()
            (e / e.sum(axis=-1, keepdims=True) * minigen.tensor(dout)).sum().backward()
            dx = x.grad
        """),
        ("relative_error", "minigen.gradcheck._rel", """
            from minigen.gradcheck import _rel
            return float(np.max(np.vectorize(_rel)(a, b)))
        """),
    ]],
    "03": [[
        ("log_softmax", "minigen.kernels.softmax.log_softmax_forward",
         "return F.log_softmax(minigen.tensor(x)).numpy()"),
        ("cross_entropy", "minigen.autograd.engine.backward", """
            z = minigen.tensor(logits, requires_grad=True)
            shifted = z - logits.max(axis=-1, keepdims=True)
            logp = shifted - shifted.exp().sum(axis=-1, keepdims=True).log()
            onehot = np.zeros(logits.shape)
            onehot[rows, targets] = 1.0
            total = -(logp * minigen.tensor(onehot)).sum() / N
            total.backward()
            loss, dlogits = total.item(), z.grad
        """),
        ("reweight_distribution", "minigen.sample.processors.reweight_distribution",
         "return sample.reweight_distribution(probs, temperature)"),
    ]],
    "04": [[
        ("rnn_step_forward", "minigen.kernels.rnn.rnn_cell_forward", """
            import minigen.functional as F
            h = F.rnn_cell(*[minigen.tensor(a) for a in (x, h_prev, W_ih, W_hh, b)]).numpy()
            cache = (x, h_prev, W_ih, W_hh, h)
        """),
        ("rnn_forward", "minigen.kernels.rnn.rnn_forward", """
            (hs, _), _ = rnn_kernels.rnn_forward(x, h0, W_ih, W_hh, b)
            cache = []
            for t in range(x.shape[0]):
                cache.append((x[t], h0 if t == 0 else hs[t - 1], W_ih, W_hh, hs[t]))
        """),
    ], [
        ("rnn_step_backward", "minigen.kernels.rnn.rnn_cell_backward", """
            x, h_prev, W_ih, W_hh, h = cache
            dx, dh_prev, dW_ih, dW_hh, db, _ = rnn_kernels.rnn_cell_backward(
                dh, (x, h_prev, h, W_ih, W_hh, "tanh", True, False))
        """),
        ("rnn_backward", "minigen.kernels.rnn.rnn_backward", """
            xs = np.stack([c[0] for c in cache])                   # (T, B, C)
            hs = np.stack([cache[0][1]] + [c[4] for c in cache])   # (T + 1, B, H): h0, then every h
            T, B, C = xs.shape
            kernel_cache = (xs.reshape(T * B, C), hs, cache[0][2], cache[0][3], "tanh", True, False)
            dx, dh0, dW_ih, dW_hh, db, _ = rnn_kernels.rnn_backward((dhs, None), kernel_cache)
        """),
    ]],
    "05": [[
        ("sigmoid", "minigen.autograd.ops.elementwise.sigmoid", "return minigen.tensor(x).sigmoid().numpy()"),
        ("lstm_step_forward", "minigen.kernels.lstm.lstm_cell_forward", """
            (h, c), cache = lstm_cell_forward(x, h_prev, c_prev, W_ih, W_hh, b, None)
            cache = cache[:10]                                     # the reference's cache: x ... tanh(c)
        """),
    ], [
        ("lstm_step_backward", "minigen.kernels.lstm.lstm_cell_backward",
         "dx, dh_prev, dc_prev, dW_ih, dW_hh, db, _ = lstm_cell_backward((dh, dc), cache + (True, False))"),
    ]],
    "06": [[
        ("gru_step_forward", "minigen.kernels.gru.gru_cell_forward", """
            h, (xT, hT, _, _, rz, n, hn, _, _) = gru_cell_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)
            cache = (x, h_prev, W_ih, W_hh, rz[:H].T, rz[H:].T, n.T, hn.T)
        """),
    ], [
        ("gru_step_backward", "minigen.kernels.gru.gru_cell_backward", """
            x, h_prev, W_ih, W_hh, r, z, n, hn = cache
            rz = np.concatenate([r, z], axis=1).T                  # (2H, B): the kernel works column-wise
            kernel_cache = (x.T, h_prev.T, W_ih, W_hh, rz, n.T, hn.T, True, True)
            dx, dh_prev, dW_ih, dW_hh, db_ih, db_hh = gru_cell_backward(dh, kernel_cache)
        """),
    ]],
    "07": [[
        ("causal_mask", "minigen.kernels.attention.causal_mask", "return KA.causal_mask(T, T, np.zeros(1))"),
        ("attention_forward", "minigen.kernels.attention.scaled_dot_product_attention_forward",
         "(out, weights), cache = KA.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask)"),
    ], [
        ("attention_backward", "minigen.kernels.attention.scaled_dot_product_attention_backward",
         "dq, dk, dv = KA.scaled_dot_product_attention_backward((dout, None), cache)"),
    ]],
    "08": [[
        ("layer_norm_forward", "minigen.kernels.layernorm.layer_norm_forward",
         "y, cache = minigen_ln_forward(x, (x.shape[-1],), gamma, beta, eps)"),
        ("block_forward", "minigen.models.gpt.Block.forward", "x = Block.forward(block, x)"),
    ], [
        ("layer_norm_backward", "minigen.kernels.layernorm.layer_norm_backward",
         "dx, dgamma, dbeta = minigen_ln_backward(dy, cache)"),
    ]],
    "09": [[
        ("top_k_filter", "TopKLogitsWarper.__call__",
         "out = sample.TopKLogitsWarper(k)(np.zeros((scores.shape[0], 1), dtype=np.int64), scores)"),
        ("top_p_filter", "TopPLogitsWarper.__call__",
         "out = sample.TopPLogitsWarper(p)(np.zeros((scores.shape[0], 1), dtype=np.int64), scores)"),
        ("repetition_penalty", "RepetitionPenaltyLogitsProcessor.__call__",
         "out = sample.RepetitionPenaltyLogitsProcessor(penalty)(ids, scores)"),
    ]],
    "10": [[
        ("length_normalized_score", "minigen.sample.beam.BeamHypotheses.add", """
            s, L = np.broadcast_arrays(np.asarray(sum_logprob, dtype=np.float64), np.asarray(length))
            out = np.empty(s.shape)
            for i in np.ndindex(s.shape):
                h = minigen.sample.beam.BeamHypotheses(num_beams=1, length_penalty=length_penalty,
                                                       early_stopping=False, max_new_tokens=10 ** 6)
                h.add(np.zeros(1), float(s[i]), int(L[i]))
                out[i] = h.worst_score
            return out
        """),
    ]],
    "11": [[
        ("teacher_forcing_prob", "minigen.models.seq2seq.teacher_forcing_prob",
         "return float(minigen_teacher_forcing_prob(step, k=k))"),
    ]],
    "12": [[
        ("logsumexp", "minigen.kernels.softmax.log_softmax_forward", """
            from minigen.kernels.softmax import log_softmax_forward
            y, _ = log_softmax_forward(x)
            return x[..., 0] - y[..., 0]
        """),
    ]],
    "13": [[
        ("reparameterize", "minigen.models.vae.reparameterize",
         "return vae.reparameterize(minigen.tensor(mu), minigen.tensor(logvar), eps).numpy()"),
        ("gaussian_kl", "minigen.models.vae.kl_divergence",
         "return vae.kl_divergence(minigen.tensor(mu), minigen.tensor(logvar)).numpy()"),
        ("gaussian_kl_backward", "minigen.models.vae.kl_divergence", """
            mu_t, logvar_t = minigen.tensor(mu, requires_grad=True), minigen.tensor(logvar, requires_grad=True)
            (vae.kl_divergence(mu_t, logvar_t) * minigen.tensor(dkl)).sum().backward()
            dmu, dlogvar = mu_t.grad, logvar_t.grad
        """),
        ("kl_weight", "minigen.models.vae.kl_weight",
         "return vae.kl_weight(step, 'linear', warmup=warmup_steps) if warmup_steps > 0 else 1.0"),
    ]],
    "14": [[
        ("gumbel_softmax", "minigen.kernels.gumbel.gumbel_softmax_forward",
         "return F.gumbel_softmax(minigen.tensor(logits), tau=tau, hard=hard, gumbels=gumbels).numpy()"),
        ("gumbel_softmax_backward", "minigen.kernels.softmax.softmax_backward", """
            from minigen.kernels.softmax import softmax_backward
            return softmax_backward(dy, (y_soft, -1)) / tau
        """),
        ("conv1d_forward", "minigen.kernels.conv.conv1d_forward", """
            y = F.conv1d(minigen.tensor(x), minigen.tensor(W), minigen.tensor(b)).numpy()
            return y, (x, W, b)
        """),
        ("max_over_time_backward", "minigen.kernels.conv.max_over_time_backward", """
            from minigen.kernels.conv import max_over_time_backward as kernel
            return kernel(dy, (np.argmax(x, axis=2)[:, :, None], x.shape[2]))
        """),
    ], [
        ("conv1d_backward", "minigen.autograd.engine.backward", """
            x, W, b = cache
            xt, Wt, bt = (minigen.tensor(a, requires_grad=True) for a in (x, W, b))
            T_out = dy.shape[2]
            y = sum(Wt[:, :, k] @ xt[:, :, k:k + T_out] for k in range(W.shape[2])) + bt.reshape(-1, 1)
            (y * minigen.tensor(dy)).sum().backward()
            return xt.grad, Wt.grad, bt.grad
        """),
    ]],
    "15": [[
        ("reinforce_surrogate", "minigen.rl.policy.reinforce_loss",
         "return rl.reinforce_loss(minigen.tensor(log_probs), np.asarray(rewards, dtype=np.float64), baseline).item()"),
        ("group_advantages", "minigen.rl.policy.group_advantages",
         "return rl.group_advantages(np.asarray(rewards, dtype=np.float64), group_size, eps=eps)"),
        ("kl_k3", "minigen.rl.policy.kl_penalty", """
            row = rl.kl_penalty(minigen.tensor(np.reshape(log_probs, (1, -1))), np.reshape(ref_log_probs, (1, -1)))
            return row.numpy().reshape(np.shape(log_probs))
        """),
    ]],
    "16": [],                      # minigen has no function a student could call for these (see the check file)
    "17": [[
        ("green_list", "minigen.sample.watermark.WatermarkLogitsProcessor.greenlist_ids",
         "return WatermarkLogitsProcessor(vocab_size, gamma, hashing_key=key).greenlist_ids([previous_token])"),
        ("z_score", "minigen.sample.watermark.WatermarkDetector.__call__", """
            class Counts(WatermarkDetector):                    # a row (T, T_g): the detector does the rest
                def _score_row(self, row):
                    return row[0], row[1]
            T, T_g = np.broadcast_arrays(np.asarray(num_tokens, dtype=np.int64), np.asarray(num_green, dtype=np.int64))
            rows = np.stack([T.reshape(-1), T_g.reshape(-1)], axis=1)
            return Counts(1, dict(greenlist_ratio=gamma))(rows, return_dict=True).z_score.reshape(T.shape)
        """),
        ("count_green", "minigen.sample.watermark.WatermarkDetector.__call__", """
            if len(ids) < 2:
                return 0
            detector = WatermarkDetector(vocab_size, dict(greenlist_ratio=gamma, hashing_key=key))
            return int(detector(np.asarray(ids)[None], return_dict=True).num_green_tokens[0])
        """),
    ]],
}


def write_lesson(folder, number, bodies=None):
    """Lesson ``number`` in ``folder``, with the solution region of each exercise in ``bodies`` replaced."""
    lesson = LESSONS[number]
    lines = lesson.path.read_text().splitlines(keepends=True)
    regions = {r.begin: (r, ex.function) for ex in lesson.exercises() for r in ex.regions}
    out, skip_to = [], 0
    for n, line in enumerate(lines, start=1):
        if n <= skip_to:
            continue
        if n in regions and regions[n][1] in (bodies or {}):
            region, function = regions[n]
            out.append(textwrap.indent(textwrap.dedent(bodies[function]).strip() + "\n", region.indent))
            skip_to = region.end
            continue
        out.append(line)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / lesson.path.name).write_text("".join(out))


def graded(folder, **kwargs):
    """{exercise function: its line of the report}."""
    return {e["function"]: e for e in grade(folder, **kwargs)["exercises"]}


def without_guard(tmp_path):
    """A copy of the lessons folder whose check files forbid nothing."""
    root = tmp_path / "lessons"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    for checks in (root / "checks").glob("**/[0-9][0-9]_*.py"):
        checks.write_text(checks.read_text() + "\nFORBIDDEN = {}\n")
    return root


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_the_reference_scores_full_marks(tmp_path, number):
    write_lesson(tmp_path, number)
    for function, e in graded(tmp_path).items():
        assert e["max_points"] > 0 and e["points"] == e["max_points"], (function, e["diagnosis"])


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_the_handout_scores_zero(tmp_path, number):
    assign([number], tmp_path)
    for function, e in graded(tmp_path).items():
        assert e["points"] == 0 and "not implemented yet" in e["diagnosis"], (function, e["diagnosis"])


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_zeros_score_zero(tmp_path, number):
    exercises = {ex.function for ex in LESSONS[number].exercises()}
    assert set(ZEROS[number]) == exercises
    write_lesson(tmp_path, number, ZEROS[number])
    for function, e in graded(tmp_path).items():
        assert e["points"] == 0, (function, [c["check"] for c in e["checks"] if c["passed"]])
        assert "raised" not in e["diagnosis"] and "could not use" not in e["diagnosis"], (function, e["diagnosis"])


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_minigens_own_answer_is_not_allowed(tmp_path, number):
    rounds = CHEATS[number]
    everything = {function: body for cheats in rounds for function, _, body in cheats}
    write_lesson(tmp_path / "allowed", number, everything)
    for function, e in graded(tmp_path / "allowed", lessons=without_guard(tmp_path)).items():
        assert e["points"] == e["max_points"], f"the cheat for {function} is wrong: {e['diagnosis']}"
    for k, cheats in enumerate(rounds):
        write_lesson(tmp_path / f"round{k}", number, {function: body for function, _, body in cheats})
        report = graded(tmp_path / f"round{k}")
        for function, refused, _ in cheats:
            e = report[function]
            assert e["points"] == 0 and "not allowed" in e["diagnosis"] and refused in e["diagnosis"], \
                (function, e["diagnosis"])
