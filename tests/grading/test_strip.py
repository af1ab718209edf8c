"""Solution stripping: regions, exercise numbering, and every way markers can be wrong."""

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigen.grading import MarkerError, find_exercises, strip_solutions

NESTED = '''\
import numpy as np


class Engine:
    """A class whose method is an exercise."""

    def step(self, x):
        if x > 0:
            for i in range(3):
                ### BEGIN SOLUTION
                x = x * 2
                if x > 10:
                    x -= 1
                ### END SOLUTION
        return x


def outer(a):
    def inner(b):
        ### BEGIN SOLUTION
        return b + 1
        ### END SOLUTION
    return inner(a)


@staticmethod
def decorated(x):
    y = x
    ### BEGIN SOLUTION
    y = y + 1
    ### END SOLUTION
    z = y
    ### BEGIN SOLUTION
    z = z * 2
    ### END SOLUTION
    return z


# %% a cell marker at the margin
print("top-level code is kept")
'''


def test_exercises_are_numbered_by_function_in_file_order():
    exercises = find_exercises(NESTED, "07")
    assert [(e.id, e.function) for e in exercises] == [
        ("L07.1", "Engine.step"), ("L07.2", "outer"), ("L07.3", "decorated")]
    assert [len(e.regions) for e in exercises] == [1, 1, 2]


def test_stripping_keeps_everything_outside_the_regions_byte_for_byte():
    out = strip_solutions(NESTED, "07")
    ast.parse(out)
    lines = NESTED.splitlines()
    kept = [line for n, line in enumerate(lines, 1)
            if not any(r.begin <= n <= r.end for e in find_exercises(NESTED, "07") for r in e.regions)]
    stripped_lines = [line for line in out.splitlines()
                      if "YOUR CODE HERE" not in line and "NotImplementedError(" not in line]
    assert stripped_lines == kept
    assert "x = x * 2" not in out and "return b + 1" not in out
    # the stub sits at the marker's indentation, inside the for loop
    assert '                raise NotImplementedError("L07.1: implement Engine.step")' in out.splitlines()
    assert '        raise NotImplementedError("L07.2: implement outer")' in out.splitlines()
    assert out.count('raise NotImplementedError("L07.3: implement decorated")') == 2


def test_stripped_code_raises_the_stub_message():
    ns = {}
    exec(strip_solutions(NESTED, "07"), ns)
    with pytest.raises(NotImplementedError, match=r"L07\.1: implement Engine\.step"):
        ns["Engine"]().step(1)
    assert ns["Engine"]().step(-1) == -1          # code outside the region still runs


def test_windows_line_endings_are_kept():
    src = "def f(x):\r\n    ### BEGIN SOLUTION\r\n    return x\r\n    ### END SOLUTION\r\n"
    out = strip_solutions(src, "01")
    assert out.splitlines(keepends=True)[1] == "    # YOUR CODE HERE\r\n"
    assert "\n" not in out.replace("\r\n", "")


def test_an_empty_region_still_gets_a_stub():
    out = strip_solutions("def f():\n    pass\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", "02")
    assert "raise NotImplementedError" in out


@pytest.mark.parametrize("source, line, words", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2, "no matching"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", 3, "without a"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", 3, "do not nest"),
    ("def f():\n    if 1:\n        ### BEGIN SOLUTION\n        pass\n    ### END SOLUTION\n", 5, "indented differently"),
    ("def f():\n    ## BEGIN SOLUTION\n    pass\n", 2, "malformed marker"),
    ("def f():\n    ### begin solution\n    pass\n", 2, "malformed marker"),
    ("x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION\n", 2, "inside a function"),
    ("def f(:\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n", 1, "does not parse"),
])
def test_bad_markers_are_rejected_with_their_line(source, line, words):
    with pytest.raises(MarkerError, match=words) as info:
        strip_solutions(source, "03", path="lesson.py")
    assert info.value.line == line
    assert f"lesson.py, line {line}:" in str(info.value)


@st.composite
def nested_programs(draw):
    """A function with random nesting (if/for/while/with/def) around one solution region."""
    depth = draw(st.integers(0, 4))
    heads = draw(st.lists(st.sampled_from(["if x:", "for i in range(2):", "while False:", "with open(__file__):",
                                           "def g():"]), min_size=depth, max_size=depth))
    body = draw(st.lists(st.sampled_from(["y = 1", "x += 2", "z = [i for i in range(3)]", "pass"]),
                         min_size=1, max_size=3))
    width = draw(st.sampled_from([2, 4]))
    lines, pad = ["def f(x):"], " " * width
    for k, head in enumerate(heads):
        lines.append(pad * (k + 1) + head)
    level = pad * (len(heads) + 1)
    lines.append(level + "### BEGIN SOLUTION")
    lines += [level + b for b in body]
    lines.append(level + "### END SOLUTION")
    lines.append(pad + "return x")
    return "\n".join(lines) + "\n", level


@settings(max_examples=60, deadline=None)
@given(nested_programs())
def test_stripping_any_nesting_parses_and_keeps_indentation(program):
    source, level = program
    out = strip_solutions(source, "04")
    ast.parse(out)
    assert f'{level}raise NotImplementedError("L04.1: implement f")' in out.splitlines()
    assert out.splitlines()[-1] == source.splitlines()[-1]
