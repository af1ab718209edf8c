"""Reverse-mode differentiation: walk the recorded graph backwards.

The graph is define-by-run: every Function that ran with a gradient-requiring
input is a node, and each output Tensor points at its node (``t._ctx``).
``backward`` does three things:

1. Collect the nodes reachable from the root (with an explicit stack, so long
   graphs do not hit Python's recursion limit) and order them newest first:
   every node then comes before the nodes that produced its inputs.
2. Visit them in reverse, handing each node the summed gradient of its outputs
   and sending what its ``backward`` returns on to its inputs. A tensor that
   feeds several ops gets the sum of their gradients.
3. Store the gradient of each leaf in ``leaf.grad`` (adding to what is there),
   and free what each node saved, unless ``retain_graph=True``.
"""

from __future__ import annotations

import itertools
from operator import attrgetter

from ..backend import array_namespace

#: every recorded node takes the next number; a node's inputs were made before it
next_sequence_number = itertools.count().__next__

_by_sequence = attrgetter("seq")


def _topological_order(root_ctx):
    """The nodes reachable from ``root_ctx``, consumers before producers.

    Each node carries the sequence number of its creation (as in PyTorch), and a
    node is always created after the nodes that made its inputs, so sorting by
    that number, newest first, is a topological order.
    """
    seen = {root_ctx}
    stack = [root_ctx]
    while stack:
        node = stack.pop()
        if node._released:
            raise RuntimeError(
                "backward() was called a second time through the same graph, whose saved arrays were "
                "freed by the first call. Pass retain_graph=True to the first backward() to keep them, "
                "or run the forward pass again.")
        for t, need in zip(node.inputs, node.needs_input_grad):
            c = t._ctx if need else None             # only a Tensor that requires grad can have a node
            if c is not None and c not in seen:
                seen.add(c)
                stack.append(c)
    return sorted(seen, key=_by_sequence, reverse=True)


def _accumulate(grads, node, idx, g):
    if node.n_out == 1:
        prev = grads.get(node)
        grads[node] = g if prev is None else prev + g
    else:
        slots = grads.get(node)
        if slots is None:
            slots = grads[node] = [None] * node.n_out
        slots[idx] = g if slots[idx] is None else slots[idx] + g


def backward(root, grad, retain_graph: bool = False) -> None:
    """Accumulate ``d(root)/d(leaf) . grad`` into ``leaf.grad`` for every leaf that requires grad."""
    if root._ctx is None:  # a leaf: its gradient is the upstream gradient itself
        _store_leaf(root, grad)
        return
    order = _topological_order(root._ctx)
    grads = {}          # node -> gradient of its output (a list of them for multi-output nodes)
    leaves = {}         # leaf tensor -> summed gradient, stored into .grad at the end
    _accumulate(grads, root._ctx, root._idx, grad)
    for node in order:
        g = grads.pop(node, None)
        if g is None:  # no gradient reached this node (its outputs were not used)
            continue
        if node._retained:
            for idx, t in node._retained.items():
                gi = g if node.n_out == 1 else g[idx]
                if gi is not None:
                    _store_leaf(t, gi)
        in_grads = node.backward(g) if node.n_out == 1 else node.backward(*g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for t, gi, need in zip(node.inputs, in_grads, node.needs_input_grad):
            if gi is None or not need:
                continue
            if gi.shape != t.data.shape:
                _bad_shape(node, t, gi)
            c = t._ctx
            if c is None:
                prev = leaves.get(t)
                leaves[t] = gi if prev is None else prev + gi
            elif c.n_out == 1:
                prev = grads.get(c)
                grads[c] = gi if prev is None else prev + gi
            else:
                _accumulate(grads, c, t._idx, gi)
        if not retain_graph:
            node.release()
    for t, g in leaves.items():
        _store_leaf(t, g)


def _bad_shape(node, t, gi):
    i = next(k for k, x in enumerate(node.inputs) if x is t)
    raise RuntimeError(
        f"{type(node).__name__}.backward returned a gradient of shape {tuple(gi.shape)} "
        f"for input {i}, whose shape is {tuple(t.data.shape)}")


def _store_leaf(t, g) -> None:
    # A gradient array may be shared between inputs (add's backward hands the same
    # array to both sides), so a leaf keeps its own copy: in-place updates of one
    # .grad (clipping, zeroing) then never touch another.
    if t.grad is None:
        t.grad = array_namespace(g).asarray(g, copy=True)
    else:
        t.grad = t.grad + g
