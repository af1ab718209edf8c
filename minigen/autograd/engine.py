"""Reverse-mode differentiation: walk the recorded graph backwards.

The graph is define-by-run: every Function that ran with a gradient-requiring
input is a node, and each output Tensor points at its node (``t._ctx``).
``backward`` does three things:

1. Sort the nodes reachable from the root so that every node comes after the
   nodes that produced its inputs (a depth-first post-order, done with an
   explicit stack so long graphs do not hit Python's recursion limit).
2. Visit them in reverse, handing each node the summed gradient of its outputs
   and sending what its ``backward`` returns on to its inputs. A tensor that
   feeds several ops gets the sum of their gradients.
3. Store the gradient of each leaf in ``leaf.grad`` (adding to what is there),
   and free what each node saved, unless ``retain_graph=True``.
"""

from __future__ import annotations

from ..backend import array_namespace


def _topological_order(root_ctx, Tensor):
    order, seen = [], set()
    stack = [(root_ctx, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        if node._released:
            raise RuntimeError(
                "backward() was called a second time through the same graph, whose saved arrays were "
                "freed by the first call. Pass retain_graph=True to the first backward() to keep them, "
                "or run the forward pass again.")
        seen.add(node)
        stack.append((node, True))
        for t in node.inputs:
            if isinstance(t, Tensor) and t._ctx is not None and t._ctx not in seen:
                stack.append((t._ctx, False))
    return order


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
    from .tensor import Tensor

    if root._ctx is None:  # a leaf: its gradient is the upstream gradient itself
        _store_leaf(root, grad)
        return
    grads = {}
    _accumulate(grads, root._ctx, root._idx, grad)
    for node in reversed(_topological_order(root._ctx, Tensor)):
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
        for i, (t, gi) in enumerate(zip(node.inputs, in_grads)):
            if gi is None or not node.needs_input_grad[i]:
                continue
            if gi.shape != t.data.shape:
                raise RuntimeError(
                    f"{type(node).__name__}.backward returned a gradient of shape {tuple(gi.shape)} "
                    f"for input {i}, whose shape is {tuple(t.data.shape)}")
            if t._ctx is None:
                _store_leaf(t, gi)
            else:
                _accumulate(grads, t._ctx, t._idx, gi)
        if not retain_graph:
            node.release()


def _store_leaf(t, g) -> None:
    # A gradient array may be shared between inputs (add's backward hands the same
    # array to both sides), so a leaf keeps its own copy: in-place updates of one
    # .grad (clipping, zeroing) then never touch another.
    if t.grad is None:
        t.grad = array_namespace(g).asarray(g, copy=True)
    else:
        t.grad = t.grad + g
