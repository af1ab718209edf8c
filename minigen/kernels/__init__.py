"""Hand-written kernels: forward/backward pairs of plain array functions, one file per family.

A kernel never sees a Tensor and never imports autograd: ``X_forward(...)``
returns ``(out, cache)`` and ``X_backward(dout, cache)`` returns the gradients.
They run on any array-API namespace (NumPy, CuPy) through ``xp = array_namespace(x)``.
"""
