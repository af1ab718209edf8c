"""Diagnoses that teach: the mistakes students really make in the backward exercises, and what the grader says.

Each wrong version is a small text replacement in a lesson's reference solution. The
grader (public and hidden checks) must take points from that exercise only (and from the
exercises that call it), name the wrong gradient (for the LSTM and the GRU, the gate
block), and give the worst element with its index, its analytic and its numeric value.

The planted bugs of test_lessons.py count too: with them, every graded backward exercise
has at least two wrong versions here.
"""

import re

import pytest

from minigen.grading import assign, grade, list_lessons
from tests.grading.test_lessons import PLANTED

LESSONS = {lesson.number: lesson for lesson in list_lessons()}

# The worst element of an array gradient: 'dW_hh[2, 0] (in the forget gate f block): analytic -0.2, numeric 0.01'.
ELEMENT = re.compile(r"\bd\w+\[\d+(, \d+)*\]( \(in the [\w ]+ block\))?: analytic -?[\d.]+(e[+-]\d+)?, "
                     r"numeric -?[\d.]+(e[+-]\d+)?")
# Lesson 01's gradients are scalars: 'a.grad: analytic 4 (your _backward), numeric -2 (central differences)'.
SCALAR = re.compile(r"\b(\w\.grad|d\w+): analytic -?[\d.]+(e[+-]\d+)? \(your (_backward|backward)\), "
                    r"numeric -?[\d.]+(e[+-]\d+)? \(central differences\)")

# (code only, no comments: the lessons' prose and comments change more often than their code)
RIGHT_VALUE_BACKWARD = """            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)"""
NO_VISITED_SET = """            for child in v._prev:
                visit(child)
            order.append(v)"""
RIGHT_LN_DX = ("dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)\n"
               "                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))")

DIAGNOSES = [
    # (lesson, the right text, the wrong one, exercise, words the diagnosis must contain ('!words': must not),
    #  exercises that call it)
    # 01: Value. A scalar has no index: the diagnosis names the .grad with its analytic and numeric value.
    ("01", "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
     "self.grad = other.data * out.grad\n            other.grad = self.data * out.grad", "L01.1",
     ["a.grad: analytic 1.05", "numeric 2.1", "never `=`"], []),                         # = where += belongs
    ("01", "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
     "self.grad += other.data\n            other.grad += self.data", "L01.1",
     ["a.grad: analytic 4", "b.grad: analytic 1.5", "multiply them by out.grad"], []),   # the upstream factor
    ("01", "self.grad += (1 - t * t) * out.grad", "self.grad += (1 - self.data ** 2) * out.grad", "L01.2",
     ["x.grad: analytic 0.748", "square of the OUTPUT"], []),                            # 1 - x^2
    ("01", "self.grad += (1 - t * t) * out.grad", "self.grad += out.grad", "L01.2",
     ["x.grad: analytic -1.7", "numeric -0.518534"], []),                                # no 1 - tanh^2
    ("01", "for v in reversed(order):", "for v in order:", "L01.3",
     ["reverse topological order", "wrong dx: analytic 0"], []),
    ("01", RIGHT_VALUE_BACKWARD, NO_VISITED_SET, "L01.3", ["times", "`visited` set", "wrong dy", "also dx"], []),
    # 02: softmax_backward (the plain mean instead of sum(dout * s) is in PLANTED)
    ("02", "dx = s * (dout - (dout * s).sum(axis=-1, keepdims=True))", "dx = s * (1 - s) * dout", "L02.3",
     ["wrong dx"], []),                                                                  # the diagonal only
    ("02", "dx = s * (dout - (dout * s).sum(axis=-1, keepdims=True))",
     "dx = dout - (dout * s).sum(axis=-1, keepdims=True)", "L02.3", ["wrong dx"], []),  # the factor s left out
    # 03: cross_entropy's dlogits
    ("03", "    dlogits /= N", "    pass", "L03.2",
     ["wrong dlogits", "the correct forward"], []),                                      # a sum where the mean is
    ("03", "dlogits[rows, targets] -= 1.0", "pass", "L03.2", ["wrong dlogits"], []),     # no one-hot term
    # 04: rnn_step_backward (the transposed dW_hh is in PLANTED); rnn_backward calls it
    ("04", "da = dh * (1 - h**2)", "da = dh", "L04.2",
     ["wrong dW_hh", "Also wrong: dh_prev["], ["L04.4"]),                                # no 1 - tanh^2
    ("04", "dh_prev = da @ W_hh", "dh_prev = da @ W_hh.T", "L04.2",
     ["wrong dh_prev", "Right: dx, dW_ih, dW_hh, db"], ["L04.4"]),                       # transposed
    ("04", "db = da.sum(axis=0)", "db = da.mean(axis=0)", "L04.2",
     ["wrong db", "Right: dx, dh_prev, dW_ih, dW_hh"], ["L04.4"]),                       # a mean for a sum
    # 04: rnn_backward (dW_hh = dW_hh_t is in PLANTED)
    ("04", "dh = dhs[t] + dh_next", "dh = dhs[t]", "L04.4", ["wrong dW_ih", "dh0["], []),   # nothing from t + 1
    ("04", "for t in reversed(range(T)):", "for t in range(T):", "L04.4", ["wrong dW_ih", "dx["], []),
    # 05: lstm_step_backward (the forget gate's missing sigmoid slope is in PLANTED)
    ("05", "dc_total = dc + dh * o * (1 - tanh_c * tanh_c)", "dc_total = dc + dh * o", "L05.3",
     ["wrong in the input gate i block", "in the forget gate f block", "in the cell candidate g block",
      "right in the output gate o block"], []),                                          # no 1 - tanh(c)^2
    ("05", "di, df, dg = dc_total * g, dc_total * c_prev, dc_total * i",
     "di, df, dg = dc_total * c_prev, dc_total * g, dc_total * i", "L05.3",
     ["wrong in the input gate i block", "and in the forget gate f block",
      "right in the cell candidate g and output gate o blocks", "Right: dc_prev"], []),   # i and f swapped
    ("05", "do = dh * tanh_c", "do = dh * o * (1 - o) * tanh_c", "L05.3",
     ["(in the output gate o block)", "wrong in the output gate o block",
      "right in the input gate i, forget gate f and cell candidate g blocks"], []),        # the slope taken twice
    ("05", "dg * (1 - g * g)", "dg * g * (1 - g)", "L05.3",
     ["wrong dW_hh", "(in the cell candidate g block)", "wrong in the cell candidate g block"], []),  # sigmoid slope
    ("05", "    dc_prev = dc_total * f\n", "    dc_prev = dc * f\n", "L05.3",
     ["wrong dc_prev", "Right: dx, dh_prev, dW_ih, dW_hh, db", "!By gate block"], []),  # h's path into c lost
    # 06: gru_step_backward
    ("06", "    dz = dh * (h_prev - n)\n", "    dz = dh * (n - h_prev)\n", "L06.2",
     ["(in the update gate z block)", "wrong in the update gate z block",
      "right in the reset gate r and new gate n blocks"], []),                           # z's sign
    ("06", "dgi = np.concatenate([da_r, da_z, da_n], axis=1)", "dgi = np.concatenate([da_z, da_r, da_n], axis=1)",
     "L06.2", ["wrong dW_ih", "wrong in the reset gate r block", "and in the update gate z block",
               "right in the new gate n block", "Right: dh_prev, dW_hh, db_hh"], []),   # r and z swapped
    ("06", "dgh = np.concatenate([da_r, da_z, dhn], axis=1)", "dgh = np.concatenate([da_r, da_z, da_n], axis=1)",
     "L06.2", ["wrong dh_prev", "wrong in the new gate n block", "Right: dx, dW_ih, db_ih"], []),  # r left out
    ("06", "da_n = dn * (1 - n * n)", "da_n = dn", "L06.2",
     ["wrong dW_ih", "(in the new gate n block)", "wrong in the reset gate r block", "and in the new gate n block",
      "right in the update gate z block"], []),                                          # no 1 - n^2: r's too
    ("06", "dh_prev = dh * z + dgh @ W_hh", "dh_prev = dgh @ W_hh", "L06.2",
     ["wrong dh_prev", "Right: dx, dW_ih, dW_hh, db_ih, db_hh", "!By gate block"], []),  # the direct path lost
    # 07: attention_backward
    ("07", "dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))", "dS = P * dP", "L07.3",
     ["wrong dq", "dk[", "Right: dv"], []),                                              # softmax's term lost
    ("07", "dq = (dS @ k) * scale", "dq = dS @ k", "L07.3", ["wrong dq", "Right: dk, dv"], []),   # the scale
    ("07", "dv = P.swapaxes(-1, -2) @ dout", "dv = P @ dout", "L07.3", ["wrong dv", "Right: dq, dk"], []),
    ("07", "dk = (dS.swapaxes(-1, -2) @ q) * scale", "dk = (dS @ q) * scale", "L07.3",
     ["wrong dk", "Right: dq, dv"], []),                                                 # not transposed
    # 08: layer_norm_backward
    ("08", RIGHT_LN_DX, "dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True))", "L08.2",
     ["wrong dx", "Right: dgamma, dbeta"], []),                                          # rstd's own term lost
    ("08", "dgamma = (dy * xhat).sum(axis=rows)", "dgamma = (dy * xhat).mean(axis=rows)", "L08.2",
     ["wrong dgamma", "Right: dx, dbeta"], []),                                          # a mean for a sum
    ("08", "    dxhat = dy * gamma", "    dxhat = dy", "L08.2", ["wrong dx", "Right: dgamma, dbeta"], []),
    # 13: gaussian_kl_backward
    ("13", "    dmu = dkl * mu", "    dmu = mu", "L13.3", ["wrong dmu", "Right: dlogvar"], []),   # the upstream factor
    ("13", "dlogvar = dkl * 0.5 * (np.exp(logvar) - 1.0)", "dlogvar = dkl * 0.5 * np.exp(logvar)", "L13.3",
     ["wrong dlogvar", "Right: dmu"], []),                                               # -logvar's term lost
    ("13", "dlogvar = dkl * 0.5 * (np.exp(logvar) - 1.0)", "dlogvar = dkl * (np.exp(logvar) - 1.0)", "L13.3",
     ["wrong dlogvar", "Right: dmu"], []),                                               # the 1/2 lost
    # 14: gumbel_softmax_backward (the 1 / tau is in PLANTED), conv1d_backward and max_over_time_backward
    ("14", "return y_soft * (dy - np.sum(dy * y_soft, axis=-1, keepdims=True)) / tau",
     "return y_soft * (dy - np.mean(dy, axis=-1, keepdims=True)) / tau", "L14.2",
     ["wrong dlogits", "subtracts the mean of dy"], []),
    ("14", "return y_soft * (dy - np.sum(dy * y_soft, axis=-1, keepdims=True)) / tau",
     "return y_soft * (1 - y_soft) * dy / tau", "L14.2", ["wrong dlogits"], []),        # the diagonal only
    ("14", 'dW[:, :, k] = np.einsum("bot,bct->oc", dy, x[:, :, k:k + T_out])',
     'dW[:, :, k] = np.einsum("bot,bct->oc", dy, x[:, :, :T_out])', "L14.4", ["wrong dW", "Right: dx, db"], []),
    ("14", "db = dy.sum(axis=(0, 2))", "db = dy.sum(axis=2).mean(axis=0)", "L14.4",
     ["wrong db", "Right: dx, dW"], []),                                                 # a mean over the batch
    ("14", "np.put_along_axis(dx, winner, dy[:, :, None], axis=2)", "np.put_along_axis(dx, winner, 1.0, axis=2)",
     "L14.5", ["wrong dx"], []),                                                         # the upstream factor
    ("14", "winner = x.argmax(axis=2)[:, :, None]", "winner = x.argmin(axis=2)[:, :, None]", "L14.5",
     ["wrong dx", "the gradient goes to the argmax"], []),
]

# Every graded backward exercise, by exercise id.
BACKWARD = ["L01.1", "L01.2", "L01.3", "L02.3", "L03.2", "L04.2", "L04.4", "L05.3", "L06.2", "L07.3", "L08.2",
            "L13.3", "L14.2", "L14.4", "L14.5"]


def _id(bug):
    return f"{bug[3]}-{re.sub(r'[^a-z0-9]+', '_', bug[2].strip().lower())[:40]}"


@pytest.mark.parametrize("number, right, bug, exercise, words, users", DIAGNOSES, ids=[_id(d) for d in DIAGNOSES])
def test_a_wrong_backward_is_diagnosed(tmp_path, number, right, bug, exercise, words, users):
    lesson = LESSONS[number]
    text = lesson.path.read_text()
    assert text.count(right) == 1, right
    assign([number], tmp_path)
    (tmp_path / lesson.path.name).write_text(text.replace(right, bug))
    report = grade(tmp_path)                               # public and hidden checks: 13 s in all
    e = next(e for e in report["exercises"] if e["id"] == exercise)
    diagnosis = e["diagnosis"]
    assert e["points"] < e["max_points"], diagnosis
    # the worst element, with its index (a Value's gradient has none), its analytic and its numeric value
    assert "analytic" in diagnosis and "numeric" in diagnosis, diagnosis
    assert (SCALAR if number == "01" else ELEMENT).search(diagnosis), diagnosis
    for w in words:                                        # '!words' must not be there
        assert (w[1:] not in diagnosis) if w.startswith("!") else (w in diagnosis), (w, diagnosis)
    # the points come from this exercise and from those that call it, nowhere else
    others = [x for x in report["exercises"] if x["id"] != exercise]
    assert others and all(x["points"] == x["max_points"] for x in others if x["id"] not in users), \
        [(x["id"], x["diagnosis"]) for x in others if x["points"] != x["max_points"]]
    assert all(x["points"] < x["max_points"] for x in others if x["id"] in users)


def test_every_backward_exercise_has_two_wrong_versions():
    """DIAGNOSES and test_lessons.PLANTED together: at least two per exercise, none twice."""
    both = [(p[0], p[1], p[2], p[3]) for p in DIAGNOSES + PLANTED]
    assert len(set(both)) == len(both)
    for exercise in BACKWARD:
        assert sum(1 for p in both if p[3] == exercise) >= 2, exercise
    exercises = {e.id: e.function for lesson in LESSONS.values() for e in lesson.exercises()}
    assert set(BACKWARD) <= set(exercises)
    named = {i for i, f in exercises.items() if "backward" in f}
    assert named <= set(BACKWARD), named - set(BACKWARD)
