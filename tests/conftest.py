"""Shared fixtures: every test that takes ``backend`` runs once per array backend.

- ``numpy``: host arrays.
- ``strict``: array-api-strict on its simulated non-CPU device ("device1"). It
  fails on any implicit host conversion or non-standard array call, which keeps
  the CuPy path honest on machines without a GPU.
- ``cupy``: a real GPU; marked ``gpu`` and skipped unless CuPy and a GPU are there.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import minigen
from minigen import backend as B

# The fixtures below hold no per-example state, so sharing them across examples is safe.
settings.register_profile("minigen", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("minigen")


class Backend:
    """Moves host test data onto one backend, and back."""

    def __init__(self, name):
        self.name = name
        # gradcheck mode for big checks: every element on NumPy; one random direction per input on the
        # other backends, whose job is to catch non-portable array calls (and which are slower per op)
        self.fast = name != "numpy"
        if name == "numpy":
            self.device = "cpu"
        elif name == "strict":
            import array_api_strict
            self.device = array_api_strict.Device("device1")
        else:
            B.get_cupy()
            self.device = "cuda"

    def asarray(self, host):
        return B.to_device(np.asarray(host), self.device)

    def tensor(self, host, requires_grad=False):
        return minigen.tensor(self.asarray(host), requires_grad=requires_grad)

    def numpy(self, x):
        return B.to_numpy(x.data if isinstance(x, minigen.Tensor) else x)

    def __repr__(self):
        return self.name


@pytest.fixture(scope="session", params=["numpy", "strict", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    try:
        return Backend(request.param)
    except B.CupyUnavailableError as e:
        pytest.skip(str(e))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _restore_global_state():
    dtype, state = B.get_default_dtype(), B.get_rng_state()
    yield
    B.set_default_dtype(dtype)
    B.set_rng_state(state)
