"""The grader's wire format (``wire``) and its calls in both directions (``rpc``), without a worker process.

The remote-call tests put a grader ``Connection`` (``GraderPolicy``) and a worker
``Connection`` (``WorkerPolicy``) at the two ends of a ``socket.socketpair()``; the
worker side answers in a thread, as ``worker.main`` does, and "loads" a student file
from tmp_path without being confined (nothing in it is hostile).
"""

from __future__ import annotations

import gc
import json
import math
import socket
import struct
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import minigen
from minigen.grading.checks import CheckFailure
from minigen.grading.rpc import MAX_TEXT, Connection, Remote, call_many, cut, getattrs, setattrs, tap, walk
from minigen.grading.session import GraderPolicy, StudentError, WorkerLost
from minigen.grading.wire import MAX_DEPTH, MAX_FRAME, Peer, WireError, decode, encode
from minigen.grading.worker import WorkerPolicy, main


# ---------------------------------------------------------------------------- encode / decode

class Exported(Exception):
    """encode handed ``value`` to ``export``: it is not plain data."""


def no_export(value):
    raise Exported(type(value).__name__)


def no_resolve(tag, data):
    raise AssertionError(f"a handle {tag} in plain data")


def roundtrip(value):
    """encode, through real JSON text and bytes, then decode."""
    blobs = []
    data = encode(value, blobs, no_export)
    text = json.dumps(data)
    return decode(json.loads(text), [bytes(b) for b in blobs], no_resolve)


PLAIN = [None, True, False, 0, -7, 2 ** 70, -(2 ** 64), 1.5, -0.0, float("inf"), float("-inf"), float("nan"),
         "", "text", "ünïcödé ✓\n\x00", b"", b"\x00\xffbytes", [], [1, [2, [3, "x"]]], (), (1,),
         (1, (2.5, (None,))),
         {}, {"a": 1, "b": [1, 2]}, {1: "int key", (1, 2): "tuple key", None: 0, 2.5: "float key"},
         set(), {1, 2, 3}, frozenset(), frozenset({"a", (1, 2)}), {"nested": ({"deep": [{1, 2}]},)},
         slice(3), slice(1, None, -2), slice(None, None, None), Ellipsis]


@pytest.mark.parametrize("value", PLAIN, ids=[repr(v)[:30] for v in PLAIN])
def test_plain_values_round_trip_with_their_type(value):
    out = roundtrip(value)
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(out)
    else:
        assert type(out) is type(value) and out == value
        if isinstance(value, float):
            assert math.copysign(1, out) == math.copysign(1, value)


def test_containers_keep_their_exact_types_inside():
    value = {"t": (1, [2, (3,)]), "s": {(1, 2)}, "f": frozenset({3}), "l": [(), [], {}]}
    out = roundtrip(value)
    assert out == value
    assert type(out["t"]) is tuple and type(out["t"][1]) is list and type(out["t"][1][1]) is tuple
    assert type(out["s"]) is set and type(out["f"]) is frozenset


def test_a_numpy_string_scalar_comes_back_as_a_str():
    out = roundtrip(np.str_("hi ✓"))                 # a str subclass: it travels as JSON text
    assert type(out) is str and out == "hi ✓"


def test_python_complex_comes_back_as_a_numpy_complex():
    out = roundtrip(1 + 2j)
    assert out == 1 + 2j and isinstance(out, complex) and isinstance(out, np.complex128)


SCALARS = [np.float64(2.5), np.float32(1.5), np.float16(0.5), np.int8(-3), np.int16(300), np.int32(-7),
           np.int64(2 ** 40), np.uint8(255), np.uint16(7), np.uint32(2 ** 31), np.uint64(2 ** 63), np.bool_(True),
           np.bool_(False), np.complex64(1 - 2j), np.complex128(3 + 4j), np.float64("nan")]


@pytest.mark.parametrize("value", SCALARS, ids=[f"{type(v).__name__}({v})" for v in SCALARS])
def test_numpy_scalars_keep_their_type(value):
    out = roundtrip(value)
    assert type(out) is type(value)
    assert out == value or (np.isnan(out) and np.isnan(value))
    assert not isinstance(out, np.ndarray)


DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16", "<U5", ">f8", ">i4",
          "<U1"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_arrays_of_every_plain_dtype_round_trip(dtype):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "U":
        a = np.array([["ab", "ü✓"], ["", "xyz"], ["q", "r"]], dtype=dtype)
    elif np.dtype(dtype).kind == "b":
        a = rng.random((3, 2)) > 0.5
    else:
        a = (rng.standard_normal((3, 2)) * 50).astype(dtype)
        if np.dtype(dtype).kind == "c":
            a = a + 1j * a[::-1]
    out = roundtrip(a)
    assert type(out) is np.ndarray and out.dtype == a.dtype and out.shape == a.shape
    assert np.array_equal(out, a)
    assert out.flags.c_contiguous and out.flags.writeable and not np.shares_memory(out, a)


@pytest.mark.parametrize("make", [lambda: np.array(3.0), lambda: np.array(True), lambda: np.array("s"),
                                  lambda: np.zeros((0,)), lambda: np.zeros((2, 0, 3), np.int32),
                                  lambda: np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1),
                                  lambda: np.arange(10)[::-3], lambda: np.asfortranarray(np.eye(3)),
                                  lambda: np.broadcast_to(np.arange(3.0), (4, 3))],
                         ids=["0-d float", "0-d bool", "0-d str", "empty", "empty 3-d", "transposed", "strided",
                              "fortran", "broadcast"])
def test_arrays_of_any_layout_and_0_d_arrays_round_trip_as_arrays(make):
    a = make()
    out = roundtrip(a)
    assert type(out) is np.ndarray and out.shape == a.shape and out.dtype == a.dtype
    assert np.array_equal(out, a)
    assert out.flags.writeable


def test_dtypes_round_trip():
    for dt in ["f8", "<f4", ">i2", "?", "<U7", "c16", "u1"]:
        out = roundtrip(np.dtype(dt))
        assert isinstance(out, np.dtype) and out == np.dtype(dt)


def test_a_generator_round_trips_by_its_state():
    rng = np.random.default_rng(42)
    rng.normal(size=3)                              # not at the start of its stream
    out = roundtrip(rng)
    assert isinstance(out, np.random.Generator) and out is not rng
    assert np.array_equal(out.normal(size=5), rng.normal(size=5))
    assert np.array_equal(out.integers(0, 100, 7), rng.integers(0, 100, 7))


def test_array_api_strict_arrays_keep_their_device():
    xs = pytest.importorskip("array_api_strict")
    a = xs.asarray(np.arange(6.0).reshape(2, 3), device=xs.Device("device1"))
    out = roundtrip(a)
    assert type(out) is type(a) and str(out.device) == str(a.device)
    assert np.array_equal(np.asarray(xs.asarray(out, device=xs.Device("CPU_DEVICE"))), np.arange(6.0).reshape(2, 3))


class Thing:
    pass


@pytest.mark.parametrize("value", [np.array([1, "a"], dtype=object), np.array([1.0], dtype=object),
                                   np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]), np.zeros(2, dtype="V8"),
                                   np.array(["2020-01-01"], dtype="datetime64[D]"), np.array([1], "timedelta64[s]"),
                                   np.array([b"ab"], dtype="S2"), Thing(),
                                   Thing, print, lambda: 1, [1, Thing()], {"k": Thing()}, type("L", (list,), {})(),
                                   type("T", (tuple,), {})(), type("D", (dict,), {})(), bytearray(b"x"),
                                   memoryview(b"x"), range(3), np.random.RandomState(0)],
                         ids=["object array", "object floats", "structured", "void", "datetime", "timedelta",
                              "bytes array", "instance", "class", "builtin", "lambda", "in a list",
                              "in a dict", "list subclass", "tuple subclass", "dict subclass", "bytearray",
                              "memoryview", "range", "RandomState"])
def test_what_is_not_plain_data_is_never_inlined_but_exported(value):
    with pytest.raises(Exported):
        encode(value, [], no_export)


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="long double is double here")
def test_what_encode_sends_inline_decode_accepts():
    for value in (np.zeros(2, dtype=np.longdouble), np.longdouble(1.5), np.zeros(1, dtype=np.clongdouble)):
        try:
            out = roundtrip(value)
        except Exported:
            continue                                   # lent as a handle: fine too
        assert np.array_equal(out, value)


def test_pickles_are_only_bytes():
    import pickle
    evil = pickle.dumps(Thing())
    out = decode({"$b": 0}, [evil], no_resolve)
    assert out == evil and type(out) is bytes
    for data in ({"$pickle": 0}, {"$obj": {"module": "os", "name": "system"}}, {"$reduce": ["os.system", ["x"]]}):
        with pytest.raises(WireError, match="unknown tag"):
            decode(data, [evil], no_resolve)


BAD_DTYPES = ["O", "|O", "<O8", "V8", "|V8", "[('a', '<f8')]", "{'names': ['a'], 'formats': ['<f8']}", "<M8[s]",
              "<m8[s]", "S5", "|S5", "f16", "<f16", "g", "U9999999", "<f8 ", "f8,i4", "object", "float64", "",
              None, 8, ["<f8"], {"$dtype": "<f8"}]


@pytest.mark.parametrize("dt", BAD_DTYPES, ids=[repr(d) for d in BAD_DTYPES])
def test_arrays_and_dtypes_outside_plain_numbers_are_refused(dt):
    with pytest.raises(WireError, match="unsupported dtype"):
        decode({"$a": 0, "dt": dt, "sh": [1]}, [b"\x00" * 8], no_resolve)
    with pytest.raises(WireError, match="unsupported dtype"):
        decode({"$dtype": dt}, [], no_resolve)


BAD_ARRAYS = {
    "too few bytes": ({"$a": 0, "dt": "<f8", "sh": [3]}, [b"\x00" * 16]),
    "too many bytes": ({"$a": 0, "dt": "<f8", "sh": [3]}, [b"\x00" * 32]),
    "no blob": ({"$a": 0, "dt": "<f8", "sh": [1]}, []),
    "blob out of range": ({"$a": 1, "dt": "<f8", "sh": [1]}, [b"\x00" * 8]),
    "negative blob": ({"$a": -1, "dt": "<f8", "sh": [1]}, [b"\x00" * 8]),
    "bool blob index": ({"$a": True, "dt": "<f8", "sh": [1]}, [b"\x00" * 8, b"\x00" * 8]),
    "float blob index": ({"$a": 0.0, "dt": "<f8", "sh": [1]}, [b"\x00" * 8]),
    "negative dim": ({"$a": 0, "dt": "<f8", "sh": [-1]}, [b"\x00" * 8]),
    "float dim": ({"$a": 0, "dt": "<f8", "sh": [1.0]}, [b"\x00" * 8]),
    "bool dim": ({"$a": 0, "dt": "<f8", "sh": [True]}, [b"\x00" * 8]),
    "shape not a list": ({"$a": 0, "dt": "<f8", "sh": 1}, [b"\x00" * 8]),
    "no shape": ({"$a": 0, "dt": "<f8"}, [b"\x00" * 8]),
    "33 dims": ({"$a": 0, "dt": "<f8", "sh": [1] * 33}, [b"\x00" * 8]),
    "unknown device": ({"$a": 0, "dt": "<f8", "sh": [1], "strict": "cuda:0"}, [b"\x00" * 8]),
    "bytes blob index": ({"$b": 1}, [b""]),
    "bytes blob not int": ({"$b": "0"}, [b""]),
}


@pytest.mark.parametrize("name", list(BAD_ARRAYS))
def test_arrays_whose_bytes_do_not_fit_are_refused(name):
    data, blobs = BAD_ARRAYS[name]
    with pytest.raises(WireError):
        decode(data, blobs, no_resolve)


OVERFLOW = {
    "shape whose size overflows to 0": ({"$a": 0, "dt": "<f8", "sh": [2 ** 32, 2 ** 32]}, [b""]),
    "dim beyond int64": ({"$a": 0, "dt": "<f8", "sh": [2 ** 63, 2]}, [b""]),
    "shape whose size overflows to 8": ({"$a": 0, "dt": "<u1", "sh": [2 ** 62 + 2, 4]}, [b"x" * 8]),
    "zero itemsize": ({"$a": 0, "dt": "<U0", "sh": [3]}, [b""]),
    "unhashable dict key": ({"$d": [[[1], 2]]}, []),
    "unhashable set member": ({"$s": [{"$d": []}]}, []),
    "generator state out of range": ({"$rng": {"bit_generator": "PCG64", "state": {"state": -1, "inc": 1},
                                               "has_uint32": 0, "uinteger": 0}}, []),
    "generator state too large": ({"$rng": {"bit_generator": "PCG64", "state": {"state": 2 ** 300, "inc": 1},
                                            "has_uint32": 0, "uinteger": 0}}, []),
}


@pytest.mark.parametrize("name", list(OVERFLOW))
def test_malformed_values_that_break_numpy_or_python_are_wire_errors(name):
    data, blobs = OVERFLOW[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # np.prod's overflow warning
        with pytest.raises(WireError):
            decode(data, blobs, no_resolve)


BAD_TAGS = [{}, {"a": 1}, {"$x": 1}, {"$t": 3}, {"$t": {"$t": []}}, {"$d": 5}, {"$d": [[1]]}, {"$d": [[1, 2, 3]]},
            {"$d": [5]}, {"$s": 5}, {"$fs": "ab"}, {"$slice": [1, 2]}, {"$slice": 5}, {"$mine": "1"},
            {"$mine": 1.0}, {"$yours": None}, {"$rng": 5}, {"$rng": {}}, {"$rng": {"bit_generator": "MT19937"}},
            {"$rng": {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0,
                      "uinteger": 0}}, {"$a": 0, "sh": [1]}]


@pytest.mark.parametrize("data", BAD_TAGS, ids=[json.dumps(d)[:40] for d in BAD_TAGS])
def test_unknown_tags_and_malformed_bodies_are_refused(data):
    with pytest.raises(WireError):
        decode(data, [b"\x00" * 8], no_resolve)
    with pytest.raises(WireError):
        decode([1, {"$t": [data]}], [b"\x00" * 8], no_resolve)      # also when nested


def nested(depth, leaf=0, wrap=lambda v: [v]):
    v = leaf
    for _ in range(depth):
        v = wrap(v)
    return v


def test_deep_nesting_is_refused_both_ways():
    assert roundtrip(nested(MAX_DEPTH - 1)) == nested(MAX_DEPTH - 1)
    with pytest.raises(WireError, match="too deeply"):
        encode(nested(MAX_DEPTH + 5), [], no_export)
    with pytest.raises(WireError, match="too deeply"):
        encode(nested(MAX_DEPTH + 5, wrap=lambda v: (v,)), [], no_export)
    loop = []
    loop.append(loop)
    with pytest.raises(WireError, match="too deeply"):
        encode(loop, [], no_export)
    for wrap in (lambda v: [v], lambda v: {"$t": [v]}, lambda v: {"$d": [[0, v]]}, lambda v: {"$s": [v]}):
        with pytest.raises(WireError, match="too deeply"):
            decode(nested(MAX_DEPTH + 5, wrap=wrap), [], no_resolve)


# ---------------------------------------------------------------------------- frames on a socket

@pytest.fixture
def sockets():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_frames_round_trip_back_to_back_and_large(sockets):
    a, b = sockets
    sender, receiver = Peer(a), Peer(b)
    big = np.arange(600_000, dtype=np.float64).tobytes()        # 4.8 MB: the receive buffer is compacted
    frames = [({"k": "x", "n": i, "s": "ü✓" * i}, [bytes([i]) * i, big if i == 3 else b""]) for i in range(6)]

    def send_all():
        for header, blobs in frames:
            sender.send(header, blobs)
    t = threading.Thread(target=send_all)
    t.start()
    receiver.deadline = time.monotonic() + 30
    for header, blobs in frames:
        assert receiver.receive() == (header, blobs)
    t.join()


def raw(sock, *parts):
    sock.sendall(b"".join(parts))


@pytest.mark.parametrize("frame, match", [
    (struct.pack("<II", MAX_FRAME + 1, 0), "too large"),
    (struct.pack("<II", 2 ** 32 - 1, 0), "too large"),
    (struct.pack("<II", 2, 100_001) + b"{}", "too large"),
    (struct.pack("<II", 2, 1) + b"{}" + struct.pack("<Q", MAX_FRAME), "too large"),
    (struct.pack("<II", 2, 2) + b"{}" + struct.pack("<Q", 3) + b"abc" + struct.pack("<Q", 2 ** 64 - 1), "too large"),
    (struct.pack("<II", 9, 0) + b"not json!", "not JSON"),
    (struct.pack("<II", 4, 0) + b"\xff\xfe\x00\x01", "not JSON"),
    (struct.pack("<II", 7, 0) + b"[1,2,3]", "not an object"),
    (struct.pack("<II", 6, 0) + b'"text"', "not an object"),
    (struct.pack("<II", 200_000, 0) + b"[" * 200_000, "not JSON"),
], ids=["header > MAX_FRAME", "header 4 GiB", "too many blobs", "one blob > MAX_FRAME", "blobs add up",
        "not JSON", "not UTF-8", "a list", "a string", "JSON nested 200000 deep"])
def test_malformed_frames_are_wire_errors_and_nothing_oversized_is_read(sockets, frame, match):
    a, b = sockets
    peer = Peer(b)
    peer.deadline = time.monotonic() + 10          # an attempt to read what never comes would be a TimeoutError
    raw(a, frame)
    with pytest.raises(WireError, match=match):
        peer.receive()


def test_a_closed_or_silent_peer_is_eof_or_timeout(sockets):
    a, b = sockets
    peer = Peer(b)
    peer.deadline = time.monotonic() + 0.3
    raw(a, struct.pack("<II", 10, 0), b"{")        # a frame cut short
    with pytest.raises(TimeoutError):
        peer.receive()
    a.close()
    peer.deadline = None
    with pytest.raises(EOFError):
        Peer(b).receive()


# ---------------------------------------------------------------------------- a grader and a worker, in threads

STUDENT = '''
import warnings
import numpy as np



class _Shared:
    """One object that stays in the worker (a class body runs when the file loads; `x = object()` would not)."""


class Value:
    """A student's object that stays in the worker."""

    def __init__(self, v):
        self.v = v
        self.items = [v, v + 1]

    def __add__(self, o): return Value(self.v + _v(o))
    def __radd__(self, o): return Value(_v(o) + self.v)
    def __sub__(self, o): return Value(self.v - _v(o))
    def __rsub__(self, o): return Value(_v(o) - self.v)
    def __mul__(self, o): return Value(self.v * _v(o))
    def __rmul__(self, o): return Value(_v(o) * self.v)
    def __truediv__(self, o): return Value(self.v / _v(o))
    def __floordiv__(self, o): return Value(self.v // _v(o))
    def __mod__(self, o): return Value(self.v % _v(o))
    def __pow__(self, o): return Value(self.v ** _v(o))
    def __matmul__(self, o): return "matmul"
    def __and__(self, o): return "and"
    def __or__(self, o): return "or"
    def __xor__(self, o): return "xor"
    def __lshift__(self, o): return "lshift"
    def __rshift__(self, o): return "rshift"
    def __neg__(self): return Value(-self.v)
    def __pos__(self): return self
    def __abs__(self): return Value(abs(self.v))
    def __invert__(self): return "invert"
    def __eq__(self, o): return self.v == _v(o)
    def __ne__(self, o): return self.v != _v(o)
    def __lt__(self, o): return self.v < _v(o)
    def __le__(self, o): return self.v <= _v(o)
    def __gt__(self, o): return self.v > _v(o)
    def __ge__(self, o): return self.v >= _v(o)
    __hash__ = object.__hash__
    def __getitem__(self, i): return self.items[i]
    def __setitem__(self, i, x): self.items[i] = x
    def __delitem__(self, i): del self.items[i]
    def __contains__(self, x): return x in self.items
    def __len__(self): return len(self.items)
    def __iter__(self): return iter(self.items)
    def __bool__(self): return self.v != 0
    def __float__(self): return float(self.v)
    def __int__(self): return int(self.v)
    def __index__(self): return int(self.v)
    def __repr__(self): return f"Value({self.v})"
    def __str__(self): return f"v={self.v}"
    def __format__(self, spec): return format(self.v, spec)
    def __array__(self, dtype=None, copy=None): return np.full(2, self.v, dtype=dtype)


def _v(o):
    return o.v if isinstance(o, Value) else o


def shared():
    return _Shared


def fresh():
    return object()


def same(a, b):
    return a is b


def echo(*args, **kwargs):
    return args, kwargs


def kinds(*args):
    return [type(a).__name__ for a in args]


def scale_(x, y=None, pair=None):
    x *= 2
    if y is not None:
        y *= 2
    if pair is not None:
        pair[0][...] = 7
    return None


def grow(x):
    x = np.append(x, 1.0)
    return x


def careful(x):
    warnings.warn("careful with " + str(x), RuntimeWarning)
    warnings.warn("mine", type("StudentWarning", (UserWarning,), {}))
    np.log(np.zeros(1))
    return x


class MyError(KeyError):
    pass


class BadStr(Exception):
    def __str__(self):
        raise RuntimeError("no")


def fail(kind):
    if kind == "value":
        raise ValueError("bad value")
    if kind == "mine":
        raise MyError("my error")
    if kind == "exit":
        raise SystemExit(3)
    if kind == "unicode":
        b"\\xff".decode("utf-8")
    if kind == "long":
        raise ValueError("\\n".join(f"line {i}" for i in range(50)) + "x" * 5000)
    if kind == "badstr":
        raise BadStr()
    if kind == "not implemented":
        raise NotImplementedError("implement fail")
    return kind


def nested_fail():
    return fail("value")


def call(fn, *args):
    return fn(*args)


def swallow(fn):
    try:
        fn()
    except Exception as e:
        return type(e).__name__
    return "no error"


def poke(obj, how):
    """What a student's code may try on an object the grader lent it; returns what happened."""
    try:
        if how == "setattr":
            obj.x = 1
        elif how == "delattr":
            del obj.x
        elif how == "getattr private":
            return repr(obj._secret)
        elif how == "getattr dunder":
            return repr(obj.__globals__)
        elif how == "getattr public":
            return obj.public
        elif how == "setitem":
            obj[0] = 5.0
        elif how == "delitem":
            del obj[0]
        elif how == "gi_frame":
            return obj.gi_frame
        elif how == "gi_code":
            return obj.gi_code
        elif how == "call":
            return obj()
        elif how == "next":
            return next(obj)
        elif how == "repr":
            return repr(obj)
        elif how == "add":
            return obj + 1
        elif how == "data":
            return obj.data
        elif how == "requires_grad_":
            obj.requires_grad_(False)
        elif how in ("confine", "load", "bogus"):
            return _grader().request(how, extra={})
        else:
            raise AssertionError(how)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return "done"


def _grader():
    import sys
    f = sys._getframe()
    while f.f_code.co_name != "serve":
        f = f.f_back
    return f.f_locals["self"]


def slow(seconds):
    import time
    time.sleep(seconds)
    return seconds
'''


class Pair:
    """A grader Connection and a worker Connection over a socketpair; the worker serves in a thread."""

    def __init__(self, tmp_path, source=STUDENT):
        self.file = tmp_path / "student_lesson.py"
        self.file.write_text(textwrap.dedent(source))
        self.a, self.b = socket.socketpair()
        self.grader = Connection(self.a, GraderPolicy())
        self.worker = Connection(self.b, WorkerPolicy())
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.grader.peer.deadline = time.monotonic() + 60
        self.student, self.skipped = self.grader.request("load", extra={"file": str(self.file), "forbidden": []})

    def _serve(self):                 # worker.main's loop, on a Connection the test can look at
        conn = self.worker
        try:
            while True:
                try:
                    header, blobs = conn.peer.receive()
                except (EOFError, OSError, WireError):
                    return
                conn._release(header.get("rel", []))
                if header.get("k") != "req":
                    return
                conn.serve(header, blobs)
        except OSError:
            return

    def close(self):
        self.a.close()
        self.thread.join(10)
        self.b.close()


@pytest.fixture
def pair(tmp_path):
    p = Pair(tmp_path)
    yield p
    p.close()


def test_load_gives_a_remote_student_and_a_missing_name_is_a_student_error(pair):
    s = pair.student
    assert isinstance(s, Remote) and pair.skipped == []
    assert isinstance(s.fail, Remote) and s.fail._name == "fail"
    with pytest.raises(StudentError, match="student_lesson.py defines no `nope`"):
        s.nope


def test_calls_send_and_return_plain_data(pair):
    s = pair.student
    args = (np.float32(1.5), np.arange(3), (1, [2]), {"k": {1, 2}}, slice(1, 2), Ellipsis, np.dtype("<i2"), None)
    got_args, got_kwargs = s.echo(*args, key=np.array(2.0), rng=np.random.default_rng(0))
    assert type(got_args) is tuple and len(got_args) == len(args)
    for a, b in zip(args, got_args):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b) and a.dtype == b.dtype
        else:
            assert type(a) is type(b) and a == b
    assert set(got_kwargs) == {"key", "rng"} and isinstance(got_kwargs["rng"], np.random.Generator)
    assert s.kinds(np.float32(1), np.array(1.0), 1, 1.0, True, "s", b"b") == \
        ["float32", "ndarray", "int", "float", "bool", "str", "bytes"]


def test_the_same_remote_object_is_the_same_proxy_and_comes_home_as_itself(pair):
    s = pair.student
    a, b = s.shared(), s.shared()
    assert isinstance(a, Remote) and a is b
    assert s.fresh() is not s.fresh()
    assert s.same(a, b) is True and s.same(a, s.fresh()) is False
    v = s.Value(2)
    assert s.same(v, v) is True
    mine = lambda: 1                                          # noqa: E731 - a grader object lent to the worker
    assert s.call(lambda f: f, mine) is mine                   # it comes back as the very object
    assert s.echo(mine)[0][0] is mine
    assert {a: 1}[b] == 1                                      # hashable by identity


def test_operators_on_remote_objects_run_where_the_object_lives(pair):
    s = pair.student
    v = s.Value(6)
    assert isinstance(v, Remote)
    assert float(v + 1) == 7 and float(1 + v) == 7 and float(v - 1) == 5 and float(10 - v) == 4
    assert float(v * 2) == 12 and float(2 * v) == 12 and float(v / 4) == 1.5 and float(v // 4) == 1
    assert float(v % 4) == 2 and float(v ** 2) == 36 and float(v + s.Value(1)) == 7
    assert (v @ 1, v & 1, v | 1, v ^ 1, v << 1, v >> 1, ~v) == ("matmul", "and", "or", "xor", "lshift", "rshift",
                                                               "invert")
    assert float(-v) == -6 and (+v) is v and float(abs(-v)) == 6
    assert (v == 6) is True and (v != 6) is False and v < 7 and v <= 6 and v > 5 and v >= 6
    assert v[0] == 6 and v[-1] == 7 and 7 in v and 8 not in v and len(v) == 2 and list(v) == [6, 7]
    v[0] = 9
    assert v[0] == 9
    del v[0]
    assert len(v) == 1
    assert bool(v) and not bool(s.Value(0))
    assert int(v) == 6 and [10, 20, 30, 40, 50, 60, 70][v] == 70
    assert repr(v) == "Value(6)" and str(v) == "v=6" and f"{v:.2f}" == "6.00"
    assert np.array_equal(np.asarray(v), [6, 6]) and np.asarray(v, dtype=np.float32).dtype == np.float32
    assert isinstance(v, s.Value) and not isinstance(3, s.Value)
    assert v.v == 6
    v.v = 8
    assert v.v == 8 and float(v) == 8
    del v.v
    with pytest.raises(AttributeError):
        v.v


def test_call_many_makes_one_round_trip(pair):
    s = pair.student
    assert call_many(s.echo, [[1], [2, 3]]) == [((1,), {}), ((2, 3), {})]
    assert call_many(s.echo, [[1, 2], [3, 4]], kwargs={"k": 0}, pick=[1]) == [({"k": 0},), ({"k": 0},)]


def test_in_place_edits_of_array_arguments_are_written_back(pair):
    s = pair.student
    x, y = np.arange(3.0), np.arange(3.0)
    assert s.scale_(x) is None
    assert np.array_equal(x, [0, 2, 4])                      # a positional array is edited in place, as locally
    s.scale_(x, y=y)
    assert np.array_equal(x, [0, 4, 8]) and np.array_equal(y, [0, 1, 2])     # keyword arguments are copies
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    s.scale_(frozen)
    assert np.array_equal(frozen, [0, 1, 2])
    inner = np.zeros(2)
    s.scale_(np.zeros(1), None, [inner])
    assert np.array_equal(inner, [0, 0])                     # arrays inside containers are copies
    z = np.ones(2)
    assert np.array_equal(s.grow(z), [1, 1, 1]) and np.array_equal(z, [1, 1])


def test_warnings_are_raised_again_in_the_grader(pair):
    s = pair.student
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert s.careful(3) == 3
    got = [(w.category, str(w.message)) for w in caught]
    assert (RuntimeWarning, "careful with 3") in got
    assert (UserWarning, "mine") in got                      # a student's own class: a UserWarning here
    assert any(c is RuntimeWarning and "divide by zero" in m for c, m in got)   # NumPy's, from the worker
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="careful with 4"):
            s.careful(4)
    assert s.echo(1) == ((1,), {})                           # and the conversation goes on


def line_of(text, source=STUDENT):
    return textwrap.dedent(source).splitlines().index(text) + 1


def test_a_student_exception_is_a_builtin_one_here_with_the_student_s_frames(pair):
    s = pair.student
    with pytest.raises(ValueError, match="^bad value$") as info:
        s.nested_fail()
    e = info.value
    assert type(e) is ValueError and e.student_type == "ValueError"
    assert [f["func"] for f in e.student_frames] == ["nested_fail", "fail"]
    assert e.student_frames[-1] == {"line": line_of('        raise ValueError("bad value")'), "func": "fail",
                                    "code": 'raise ValueError("bad value")'}
    with pytest.raises(KeyError) as info:
        s.fail("mine")
    assert type(info.value) is KeyError and info.value.student_type == "MyError"
    with pytest.raises(RuntimeError) as info:                # not an Exception: never SystemExit here
        s.fail("exit")
    assert info.value.student_type == "SystemExit"
    with pytest.raises(ValueError) as info:                  # UnicodeDecodeError takes 5 arguments
        s.fail("unicode")
    assert info.value.student_type == "UnicodeDecodeError"
    with pytest.raises(ValueError) as info:
        s.fail("long")
    assert len(str(info.value)) <= MAX_TEXT + 4 and str(info.value).count("\n") <= 3
    with pytest.raises(Exception, match="^BadStr$") as info:     # its __str__ raised: the class name instead
        s.fail("badstr")
    assert type(info.value) is Exception and info.value.student_type == "BadStr"
    with pytest.raises(NotImplementedError, match="implement fail"):
        s.fail("not implemented")
    assert s.fail("fine") == "fine"                          # the worker is still there


def test_cut_keeps_a_few_lines_and_characters():
    assert cut("a\nb\nc\nd\ne") == "a | b | c | d ..."       # one line: never a line of the report
    assert cut("x" * 1000) == "x" * MAX_TEXT + "..."
    assert cut("one", 1) == "one"


# ---------------------------------------------------------------------------- what the worker may ask of the grader

def secret_function():
    return "the grader's secret"


secret_function.public = "a public attribute"
secret_function._secret = "a private attribute"


@pytest.mark.parametrize("how, refused", [
    ("setattr", "student code may not setattr x on the grader's objects"),
    ("delattr", "student code may not delattr x"),
    ("getattr private", "may not getattr _secret"),
    ("getattr dunder", "may not getattr __globals__"),
])
def test_the_grader_refuses_setattr_and_private_attributes(pair, how, refused):
    assert refused in pair.student.poke(secret_function, how)
    assert not hasattr(secret_function, "x") and secret_function._secret == "a private attribute"


def test_the_grader_allows_calls_public_attributes_and_read_only_operators(pair):
    s = pair.student
    assert s.poke(secret_function, "call") == "the grader's secret"
    assert s.poke(secret_function, "getattr public") == "a public attribute"
    assert s.poke(secret_function, "repr").startswith("<function secret_function")
    t = minigen.tensor(np.arange(3.0))
    assert np.array_equal(s.poke(t, "data"), [0, 1, 2])
    assert "may not op setitem" in s.poke(t, "setitem") and "may not op delitem" in s.poke(t, "delitem")
    assert np.array_equal(t.data, [0, 1, 2])


def test_the_grader_lends_no_frames_code_or_other_objects(pair):
    s = pair.student

    def gen():
        yield 1
    g = gen()
    assert "does not pass a frame" in s.poke(g, "gi_frame")
    assert "does not pass a code" in s.poke(g, "gi_code")
    assert s.poke(g, "next") == 1
    for obj in (Thing(), Thing, sys, {"ok": Thing()}, np.array([Thing()], dtype=object), memoryview(b"x")):
        with pytest.raises((PermissionError, WorkerLost), match="the grader does not pass a"):
            s.echo(obj)
    assert s.echo(1) == ((1,), {})                            # nothing was sent: the conversation goes on


def test_a_check_that_passes_what_the_grader_may_not_lend_gets_a_permission_error(pair):
    with pytest.raises(PermissionError, match="the grader does not pass a Thing"):
        pair.student.echo(Thing())


@pytest.mark.parametrize("op", ["confine", "load", "bogus"])
def test_the_worker_cannot_ask_the_grader_to_confine_load_or_anything_else(pair, op):
    assert f"may not {op}" in pair.student.poke(secret_function, op)


def test_a_check_failure_raised_for_the_student_fails_the_check_even_if_swallowed(pair):
    def strict():
        raise CheckFailure("the grader's verdict")
    with pytest.raises(CheckFailure, match="the grader's verdict"):
        pair.student.swallow(strict)
    assert pair.student.swallow(lambda: 1 / 0) == "RemoteError"      # other errors are the student's to handle
    assert pair.student.swallow(lambda: None) == "no error"


def test_the_student_cannot_change_the_grader_s_tensors_through_their_methods(pair):
    t = minigen.tensor(np.arange(3.0), requires_grad=True)
    pair.student.poke(t, "requires_grad_")
    assert t.requires_grad


def test_proxies_that_die_release_the_object_on_the_other_side(pair):
    s = pair.student
    Value, echo = s.Value, s.echo
    echo(0)
    gc.collect()
    echo(0)
    before = len(pair.worker.exports)
    values = [Value(i) for i in range(5)]
    assert len(pair.worker.exports) == before + 5
    del values
    gc.collect()
    echo(0)                                                # the release rides on the next message
    assert len(pair.worker.exports) == before


def test_a_slow_worker_is_a_timeout(pair):
    pair.grader.peer.deadline = time.monotonic() + 0.3
    with pytest.raises(WorkerLost, match="timeout"):
        pair.student.slow(1.0)


HANGUP = STUDENT + """

def hang_up():
    import socket
    _grader().peer.sock.shutdown(socket.SHUT_RDWR)
"""


def test_a_worker_that_dies_while_asked_is_lost(tmp_path):
    p = Pair(tmp_path, HANGUP)
    try:
        with pytest.raises(WorkerLost, match="died"):
            p.student.hang_up()
    finally:
        p.close()


def test_a_worker_that_died_between_questions_is_reported_as_dead(tmp_path):
    p = Pair(tmp_path, HANGUP)
    fn = p.student.echo
    p.b.shutdown(socket.SHUT_RDWR)
    try:
        with pytest.raises(WorkerLost, match="died"):
            fn(1)
    finally:
        p.close()


@pytest.mark.parametrize("kind", ["not JSON", "huge", "answer with the wrong id"])
def test_a_malformed_answer_is_a_lost_worker(sockets, kind):
    a, b = sockets
    conn = Connection(a, GraderPolicy())
    conn.peer.deadline = time.monotonic() + 10
    if kind == "not JSON":
        raw(b, struct.pack("<II", 9, 0), b"not json!")
    elif kind == "huge":
        raw(b, struct.pack("<II", 2 ** 31, 0))
    else:
        Peer(b).send({"k": "ok", "id": 99, "v": [1, None], "rel": []})
    with pytest.raises(WorkerLost, match="malformed"):
        conn.request("call", target=None, args=(1,))


@pytest.mark.parametrize("header", [
    {"k": "ok", "id": 1, "v": [1, None], "rel": "x"},
    {"k": "ok", "id": 1, "v": [1, None], "rel": [[1, "2"]]},
    {"k": "ok", "id": 1, "v": [1, None], "rel": [], "warn": "x"},
    {"k": "ok", "id": 1, "v": [1, None], "rel": [], "warn": [["RuntimeWarning"]]},
    {"k": "err", "id": 1, "e": "x", "rel": []},
    {"k": "ok", "id": 1, "v": 1, "rel": []},
    {"k": "ok", "id": 1, "v": [1, 5], "rel": []},
    {"k": "ok", "id": 1, "v": [1, [[1]]], "rel": []},
    {"k": "maybe", "id": 1, "rel": []},
    {"k": "req", "id": 1, "op": "call", "body": {"$yours": 7}, "rel": []},
    {"k": "req", "id": 1, "op": "call", "body": [None, [], {"$d": [[1, 2]]}, None], "rel": []},
])
def test_malformed_headers_are_a_lost_worker(sockets, header):
    a, b = sockets
    conn = Connection(a, GraderPolicy())
    conn.peer.deadline = time.monotonic() + 10
    Peer(b).send(header)
    with pytest.raises(WorkerLost, match="malformed"):
        conn.request("call", target=None, args=(1,))


def test_worker_main_serves_until_hangup_and_stops_on_a_non_question(sockets, tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGEN_QUICK", "1")           # main() sets it; monkeypatch puts the old value back
    (tmp_path / "s.py").write_text("def twice(x):\n    return 2 * x\n")
    a, b = sockets
    codes = []
    t = threading.Thread(target=lambda: codes.append(main(b.detach())))
    t.start()
    conn = Connection(a, GraderPolicy())
    conn.peer.deadline = time.monotonic() + 30
    student, _ = conn.request("load", extra={"file": str(tmp_path / "s.py"), "forbidden": []})
    assert np.array_equal(student.twice(np.arange(3)), [0, 2, 4])
    conn.peer.send({"k": "ok", "id": 1, "v": [1, None], "rel": []})       # not a question: the worker ends
    t.join(10)
    assert codes == [2]
    a2, b2 = socket.socketpair()
    t = threading.Thread(target=lambda: codes.append(main(b2.detach())))
    t.start()
    a2.close()                                           # the grader hangs up: the worker ends
    t.join(10)
    assert codes == [2, 0]


GRAPH = STUDENT + """

class Node:
    def __init__(self, name, *prev):
        self.name, self._prev, self.done = name, set(prev), False

    def _backward(self):
        self.done = True


def diamond():
    a = Node("a")
    b, c = Node("b", a), Node("c", a)
    return Node("d", b, c)


def run_backward(order):
    for node in order:
        node._backward()
"""


def test_walk_tap_and_the_many_attribute_helpers_each_take_one_question(tmp_path):
    p = Pair(tmp_path, GRAPH)
    try:
        root = p.student.diamond()
        asked = p.grader.next_call
        pairs = walk(root, "_prev")
        nodes = [v for v, _ in pairs]
        names = getattrs(nodes, "name")
        assert names[0] == "d" and sorted(names[1:3]) == ["b", "c"] and names[3] == "a"     # breadth first
        assert {id(c) for c in pairs[0][1]} == {id(nodes[1]), id(nodes[2])}     # the same proxies: identity holds
        log = tap(nodes, "_backward")
        setattrs(nodes[:1], "name", ["root"])
        assert p.grader.next_call - asked == 4                     # walk, getattrs, tap, setattrs
        p.student.run_backward([nodes[3], nodes[0]])
        assert [v is w for v, w in zip(log.calls, [nodes[3], nodes[0]])] == [True, True]
        assert getattrs(nodes, "done") == [True, False, False, True] and nodes[0].name == "root"
    finally:
        p.close()


def test_a_late_second_answer_to_an_earlier_question_is_skipped(sockets):
    """A worker that answered question 1 early sends its real answer too: whenever that arrives,
    even during a later question, it is stale and skipped, not taken for the later answer."""
    a, b = sockets
    conn = Connection(a, GraderPolicy())
    conn.peer.deadline = time.monotonic() + 10
    conn.next_call = 3                                       # questions 1 and 2 were asked and answered
    Peer(b).send({"k": "ok", "id": 1, "v": [-1, None], "rel": []})
    Peer(b).send({"k": "ok", "id": 3, "v": [5, None], "rel": []})
    assert conn.request("call", target=None, args=(1,)) == 5
