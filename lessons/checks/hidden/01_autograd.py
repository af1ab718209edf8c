"""Hidden checks for lesson 01: other values, extreme inputs, deeper and wider graphs. They stay with the instructor."""

import math

from minigen.grading import check, expect_true, public_checks

public = public_checks(__file__)


@check("Value.__mul__", points=2)
def mul_other_values(student):
    """Value.__mul__ is right for zeros, negatives, a * a used twice and a Value times a number"""
    public.check_mul(student, 0.0, 5.0, 2.0)
    public.check_mul(student, -7.5, -0.25, 3.0)
    public.check_square(student, -2.0, -1.5)
    public.check_mul_accumulates(student, -1.0, 0.5, -2.0, 3.0, 0.0)
    V = student.Value
    a = V(1.25)
    c = a * 4.0                                      # the number becomes a leaf Value
    c.grad = 2.0
    c._backward()
    expect_true(public.close(a.grad, 8.0), f"Value.__mul__: for c = a * 4.0 with c.grad = 2, a.grad should be "
                                           f"4.0 * 2 = 8, got {public.fmt(a.grad)}")


@check("Value.tanh", points=2)
def tanh_extremes(student):
    """Value.tanh is finite at x = +-1000 (gradient 0) and right near 0"""
    for x in (1000.0, -1000.0, 40.0):
        xv, y = public.tanh_forward(student, x)
        y.grad = 1.0
        y._backward()
        expect_true(math.isfinite(xv.grad) and abs(xv.grad) < 1e-12,
                    f"Value.tanh: at x = {x:g} the gradient 1 - tanh(x)^2 is 0 to 16 digits, got {public.fmt(xv.grad)}")
    public.check_tanh(student, 1e-4, g=2.0)
    public.check_tanh(student, -0.05, g=1.0, before=-0.4)


@check("Value.backward", points=1)
def backward_leaf_and_long_chain(student):
    """Value.backward works on a leaf and on a chain of 200 additions of the same value"""
    x = student.Value(2.5)
    x.backward()
    expect_true(public.close(x.grad, 1.0), f"Value.backward on a leaf x should set x.grad = 1 (dx/dx), "
                                           f"got {public.fmt(x.grad)}")

    def chain(x, exp):
        v = x
        for _ in range(200):
            v = v + x                                # x is used 201 times
        return v
    public.check_graph(student, chain, {"x": 0.5})


@check("Value.backward", points=2)
def backward_paths_of_different_lengths(student):
    """Value.backward is right when one node reaches the output along a short and a long path"""
    def uneven(x, y, exp):
        a = x ** 2 - y                               # reaches the output directly and through four more ops
        long = (exp(a) + 1) ** 2 + a
        return a + long + (a - x) ** 3
    public.check_graph(student, uneven, {"x": 0.4, "y": 0.9})
    public.check_graph(student, public.diamond, {"x": -1.1, "y": 0.2})
