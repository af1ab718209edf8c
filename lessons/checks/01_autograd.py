"""Public checks for lesson 01 (autograd from scratch). Run them with `python -m minigen grade . --public-only`.

Each exercise is checked on its own: the checks of `Value.__mul__` and `Value.tanh`
call the `_backward` of one node by hand, and the checks of `Value.backward` build
graphs from `+`, `-`, `**` and `exp` only, so that one wrong exercise does not cost
the points of another.
"""

import math

from minigen.grading import check, expect_true, tap, walk

# minigen's autograd engine does for Tensors what these exercises do for Values: the grader refuses it.
FORBIDDEN = {
    "Value.__mul__": ["minigen.autograd.ops.arithmetic.Mul.backward"],
    "Value.tanh": ["minigen.autograd.ops.elementwise.tanh", "minigen.autograd.ops.elementwise.Tanh.forward",
                   "minigen.autograd.ops.elementwise.Tanh.backward"],
    "Value.backward": ["minigen.autograd.engine.backward", "minigen.autograd.engine._topological_order"],
}


def close(a, b, tol=1e-6):
    return isinstance(a, (int, float)) and abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def fmt(v):
    return f"{v:.6g}" if isinstance(v, (int, float)) else repr(v)


def slope(f, x, h=1e-6):
    """The central difference (f(x + h) - f(x - h)) / (2h)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def versus(name, got, numeric, by="your _backward"):
    """'a.grad: analytic 4 (your _backward), numeric -2 (central differences)'."""
    return f"{name}: analytic {fmt(got)} ({by}), numeric {fmt(numeric)} (central differences)"


# ---------------------------------------------------------------------------- Value.__mul__

def check_mul(student, a_val, b_val, g):
    """c = a * b, c.grad = g, then c._backward(): a.grad must be b*g and b.grad a*g."""
    V = student.Value
    a, b = V(a_val), V(b_val)
    c = a * b
    c.grad = g
    c._backward()
    want_a, want_b = b_val * g, a_val * g
    if close(a.grad, want_a) and close(b.grad, want_b):
        return
    wrong = "; ".join(versus(name, got, slope(f, x) * g) for name, got, want, f, x in
                      (("a.grad", a.grad, want_a, lambda t: t * b_val, a_val),
                       ("b.grad", b.grad, want_b, lambda t: a_val * t, b_val)) if not close(got, want))
    hint = ""
    if close(a.grad, want_b) and close(b.grad, want_a):
        hint = " The two are swapped: the derivative of a*b with respect to a is b (other.data for self)."
    elif close(a.grad, b_val) and close(b.grad, a_val):
        hint = (" Those are the local derivatives alone: multiply them by out.grad (the chain rule: "
                "dL/da = dL/dc * dc/da).")
    expect_true(False, f"Value.__mul__: for c = a * b with a = {fmt(a_val)}, b = {fmt(b_val)} and c.grad = {fmt(g)}, "
                       f"c._backward() should give a.grad = b * c.grad = {fmt(want_a)} and b.grad = a * c.grad = "
                       f"{fmt(want_b)}; it gave a.grad = {fmt(a.grad)}, b.grad = {fmt(b.grad)} ({wrong}).{hint}")


def check_square(student, a_val, g):
    """c = a * a: a is used twice, so a.grad must be 2*a*g (both lines of _backward add to it)."""
    a = student.Value(a_val)
    c = a * a
    c.grad = g
    c._backward()
    want = 2 * a_val * g
    if close(a.grad, want):
        return
    wrong = versus("a.grad", a.grad, slope(lambda t: t * t, a_val) * g)
    hint = ""
    if close(a.grad, a_val * g):
        hint = (" That is half of it: in c = a * a both lines of _backward write to a.grad (self and other are "
                "the same Value), and the second one overwrote the first. A value used twice gets the SUM of "
                "both contributions (the multivariate chain rule): accumulate with `self.grad += ...` and "
                "`other.grad += ...`, never `=`.")
    expect_true(False, f"Value.__mul__: for c = a * a with a = {fmt(a_val)} and c.grad = {fmt(g)}, c._backward() "
                       f"should give a.grad = 2 * a * c.grad = {fmt(want)}; it gave {fmt(a.grad)} ({wrong}).{hint}")


def check_mul_accumulates(student, a_val, b_val, g, a_before, b_before):
    """Gradients already in a.grad and b.grad (from other uses of a and b) must be kept, not overwritten."""
    V = student.Value
    a, b = V(a_val), V(b_val)
    c = a * b
    a.grad, b.grad = a_before, b_before
    c.grad = g
    c._backward()
    want_a, want_b = a_before + b_val * g, b_before + a_val * g
    if close(a.grad, want_a) and close(b.grad, want_b):
        return
    wrong = "; ".join(versus(name, got, before + slope(f, x) * g) for name, got, want, before, f, x in
                      (("a.grad", a.grad, want_a, a_before, lambda t: t * b_val, a_val),
                       ("b.grad", b.grad, want_b, b_before, lambda t: a_val * t, b_val)) if not close(got, want))
    lost = [f"{n}.grad" for n, got, share, before in (("a", a.grad, b_val * g, a_before),
                                                       ("b", b.grad, a_val * g, b_before))
            if before != 0 and close(got, share)]
    hint = ""
    if lost:
        hint = (f" {' and '.join(lost)} lost what was already there: _backward overwrote it. When a value is "
                "used more than once, each use's _backward adds its share to the same .grad, so write "
                "`self.grad += ...` and `other.grad += ...`, not `=`.")
    expect_true(False, f"Value.__mul__: with a.grad = {fmt(a_before)} and b.grad = {fmt(b_before)} already set "
                       f"(contributions from other uses of a and b), c = a * b with a = {fmt(a_val)}, "
                       f"b = {fmt(b_val)}, c.grad = {fmt(g)} should leave a.grad = {fmt(want_a)} and "
                       f"b.grad = {fmt(want_b)}; got {fmt(a.grad)} and {fmt(b.grad)} ({wrong}).{hint}")


@check("Value.__mul__", points=1)
def mul_local_gradients(student):
    """Value.__mul__'s _backward gives a.grad = b * c.grad and b.grad = a * c.grad"""
    check_mul(student, 3.0, -2.0, 1.0)
    check_mul(student, 1.5, 4.0, -0.5)


@check("Value.__mul__", points=2)
def mul_value_used_twice(student):
    """Value.__mul__ accumulates: a * a gets 2a, and earlier gradients are kept"""
    check_square(student, 1.5, 0.7)
    check_mul_accumulates(student, 2.0, -3.0, 0.5, 0.25, -1.0)


# ---------------------------------------------------------------------------- Value.tanh

def tanh_forward(student, x_val):
    """x.tanh() for a fresh leaf x: checks the value and that the output records x. Returns (x, y)."""
    V = student.Value
    x = V(x_val)
    try:
        y = x.tanh()
    except OverflowError:
        expect_true(False, f"Value.tanh overflowed at x = {x_val:g}: exp(2x) does not fit in a float. Use "
                           "math.tanh(x), or a formula that only takes exp of -2|x|.")
    expect_true(isinstance(y, V), f"Value.tanh returned {type(y).__name__}; it must return a new Value")
    expect_true(close(y.data, math.tanh(x_val), 1e-9),
                f"Value.tanh: tanh({fmt(x_val)}) should be {fmt(math.tanh(x_val))}, got {fmt(y.data)}")
    expect_true(any(c is x for c in y._prev),
                "Value.tanh: the output's _prev must hold the input (Value(t, (self,), 'tanh')); otherwise "
                "backward() never reaches x and x.grad stays 0.")
    return x, y


def check_tanh(student, x_val, g=0.8, before=0.0):
    """y = x.tanh(): y.data = tanh(x), y records x in _prev, and y._backward() adds (1 - y^2) g to x.grad."""
    x, y = tanh_forward(student, x_val)
    x.grad = before
    y.grad = g
    y._backward()
    numeric = slope(math.tanh, x_val) * g
    want = before + (1 - math.tanh(x_val) ** 2) * g
    if close(x.grad, want, 1e-6):
        return
    hint = ""
    if close(x.grad, before + (1 - x_val ** 2) * g):
        hint = " That is 1 - x^2: the derivative is 1 - tanh(x)^2, the square of the OUTPUT."
    elif close(x.grad, (1 - math.tanh(x_val) ** 2) * g) and before:
        hint = " The gradient already in x.grad was lost: accumulate with `self.grad += ...`."
    elif close(x.grad, before + (1 - math.tanh(x_val) ** 2)):
        hint = " Multiply by out.grad (the chain rule)."
    expect_true(False, f"Value.tanh: for y = tanh(x) at x = {fmt(x_val)} with y.grad = {fmt(g)}"
                       + (f" and x.grad = {fmt(before)} already" if before else "")
                       + f", y._backward() should leave x.grad = (1 - tanh(x)^2) * y.grad"
                       + (" + the earlier x.grad" if before else "")
                       + f" = {fmt(want)}; it gave {fmt(x.grad)} ({versus('x.grad', x.grad, before + numeric)})."
                       + hint)


@check("Value.tanh", points=1)
def tanh_forward_and_graph(student):
    """Value.tanh computes tanh(x) and records x as its child"""
    for x in (-2.0, -0.3, 0.0, 0.7, 3.0):
        tanh_forward(student, x)


@check("Value.tanh", points=2)
def tanh_backward(student):
    """Value.tanh's _backward agrees with central differences and accumulates"""
    for x in (-1.2, 0.4, 2.5):
        check_tanh(student, x, g=-1.7)
    check_tanh(student, 0.9, g=0.6, before=0.35)


# ---------------------------------------------------------------------------- Value.backward

def nodes_of(root):
    """Every Value reachable from root through _prev (without relying on the student's backward), and the
    children of each, by id. ``walk`` reads the whole graph in one question to the student's process."""
    pairs = walk(root, "_prev")
    return [v for v, _ in pairs], {id(v): children for v, children in pairs}


def describe(v, leaves):
    for name, leaf in leaves.items():
        if v is leaf:
            return f"leaf {name}"
    return f"the '{v._op}' node (data {v.data:.4g})"


def check_graph(student, build, values, tol=1e-5):
    """Build the graph with build(Value-leaves), run root.backward(), and judge the order and the grads.

    ``build`` works on Values and on floats (``exp`` is passed in); ``values`` maps leaf names to floats.
    """
    V = student.Value
    leaves = {k: V(v) for k, v in values.items()}
    root = build(exp=lambda v: v.exp(), **leaves)
    nodes, children = nodes_of(root)
    log = tap(nodes, "_backward")                    # each node's _backward now notes the node when it runs
    root.backward()
    calls = log.calls
    # the gradients against central differences of the same formula on floats: the final verdict, and what a
    # wrong order or a missing seed did to them
    at = ", ".join(f"{k} = {v:g}" for k, v in values.items())
    wrong = []
    for name in values:
        numeric = slope(lambda t: build(exp=math.exp, **{**values, name: t}), values[name])
        got = leaves[name].grad
        if not close(got, numeric, tol):
            wrong.append((abs(got - numeric) if isinstance(got, (int, float)) else math.inf, name, got, numeric))
    wrong.sort(key=lambda w: -w[0])
    effect = ""
    if wrong:
        effect = f" The result: wrong {_and_also(wrong)} (at {at})."

    def fail(message):
        expect_true(False, message + effect)
    if not close(root.grad, 1.0, 1e-12):
        fail(f"Value.backward: after L.backward(), L.grad should be 1 (dL/dL = 1: the seed of the backward "
             f"pass), got {fmt(root.grad)}. Set self.grad = 1.0 before calling the _backward functions.")
    # each inner node passes its gradient on exactly once, after every node that uses it
    inner_nodes = [v for v in nodes if children[id(v)]]
    for v in inner_nodes:
        n = sum(1 for c in calls if c is v)
        if n == 0:
            fail(f"Value.backward never called the _backward of {describe(v, leaves)}, so its inputs got no "
                 "gradient from it. Visit every node reachable through _prev.")
        if n > 1:
            fail(f"Value.backward called the _backward of {describe(v, leaves)} {n} times; its inputs then receive "
                 f"its gradient {n} times over. Call each node's _backward exactly once: keep a `visited` set "
                 "while building the order.")
    position = {}
    for k, v in enumerate(calls):
        position.setdefault(id(v), k)
    for v in inner_nodes:
        for child in children[id(v)]:
            if children[id(child)] and position[id(child)] < position[id(v)]:
                fail(f"Value.backward called the _backward of {describe(child, leaves)} before that of "
                     f"{describe(v, leaves)}, which uses it: at that moment its .grad was not complete yet, so it "
                     "passed on too little. Call _backward in reverse topological order (a node only after every "
                     "node computed from it).")
    if wrong:
        expect_true(False, f"Value.backward computes a wrong {_and_also(wrong)} (at {at}). backward() seeded the "
                           "output with 1 and called every _backward once, in a valid order, so look at the "
                           "_backward closures of the operations this graph uses (+, -, ** and exp): each must ADD "
                           "its share to the inputs' .grad (+=); a value used more than once gets the sum of all "
                           "its uses.")


def _and_also(wrong):
    """'dx: analytic 1 (your backward), numeric 2 (central differences); also dy: ...', the worst first."""
    said = [versus(f"d{name}", got, numeric, by="your backward") for _, name, got, numeric in wrong]
    return said[0] + "".join(f"; also {w}" for w in said[1:])


def diamond(x, y, exp):
    a = x + y                       # a is used three times below, x twice
    return a ** 2 + exp(a) + a + x ** 3 - y


@check("Value.backward", points=1)
def backward_seed_and_chain(student):
    """Value.backward seeds grad = 1 and gets a chain of operations right"""
    check_graph(student, lambda x, exp: exp(x ** 2 + 1) ** -1 - x, {"x": 0.6})


@check("Value.backward", points=2)
def backward_shared_nodes(student):
    """Value.backward calls each _backward once, in reverse topological order (shared nodes)"""
    check_graph(student, diamond, {"x": 0.3, "y": -0.8})
