"""Calls between the grader and a student's worker, in both directions, over ``wire``.

Each side holds a ``Connection``. ``request(op, ...)`` sends a question and waits for
its answer, serving the other side's questions in the meantime, so that a student's
``beam_search(step, ...)`` can call the grader's ``step`` while the grader waits.

Objects that are not plain data stay where they live. The other side gets a
``Remote``, a stand-in whose attribute reads, calls and operators become requests:
``student.Value(3.0) * 2`` runs in the worker and returns another ``Remote``. The
same object always comes back as the same ``Remote``, so ``a is b`` still means
what it says.

A ``Policy`` decides what the other side may ask of this one. The worker answers
everything the grader asks; the grader lets the worker call what it was given, read
public attributes and apply operators, and nothing else.
"""

from __future__ import annotations

import builtins
import operator
import warnings
import weakref

import numpy as np

from .wire import Peer, WireError, decode, encode

__all__ = ["Connection", "Remote", "Policy", "RemoteError", "call_many", "walk", "getattrs", "setattrs", "tap"]

# operators a Remote forwards; each runs as operator.<name>(*args) where the object lives
BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor",
          "lshift", "rshift"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
OPERATORS = set(BINARY + COMPARE + ["neg", "pos", "abs", "invert", "getitem", "setitem", "delitem",
                                    "contains", "truth", "index", "len", "iter", "next", "repr", "str",
                                    "format", "float", "int", "array"])
MAX_TEXT = 400                  # characters of an exception message kept
_LOCAL_ONLY = {"__array_interface__", "__array_struct__", "__array_priority__", "__array_function__",
               "__array_ufunc__", "__dlpack__", "__dlpack_device__", "__length_hint__", "__getstate__",
               "__reduce_ex__", "__reduce__", "__copy__", "__deepcopy__", "__fspath__", "_ipython_canary_"}


def cut(text, lines: int = 4, width: int = MAX_TEXT) -> str:
    """Someone else's text for a report: its first few lines on one line (" | " between them), at most
    ``width`` characters, so that it can never look like a line of the report itself."""
    all_lines = str(text).splitlines()
    out = " | ".join(line.strip() for line in all_lines[:lines])
    if len(out) > width:
        out = out[:width] + "..."
    elif len(all_lines) > lines:
        out += " ..."
    return out


class RemoteError(Exception):
    """Marks an exception raised on the other side; ``frames`` says where, in the student's file."""


def _apply(name, args):
    if name == "len":
        return len(args[0])
    if name == "iter":
        return iter(args[0])
    if name == "next":
        return next(args[0])
    if name in ("repr", "str"):
        return cut((repr if name == "repr" else str)(args[0]), 20)
    if name == "format":
        return format(*args)
    if name in ("float", "int"):
        return (float if name == "float" else int)(args[0])
    if name == "array":
        return np.asarray(args[0])
    return getattr(operator, name)(*args)


class Policy:
    """What the other side may ask: by default, everything (the worker's view of the grader)."""

    record_warnings = False
    catches = (Exception,)       # what a served request may raise back to the other side
    sticky = ()                  # errors that also fail the request this side is waiting on

    def may_export(self, obj):
        """Raise PermissionError if ``obj`` must not be handed to the other side."""

    def may_request(self, op, target, name):
        """Raise PermissionError if the other side may not do ``op`` on ``target``."""

    def exception(self, info):
        """An exception to raise here for the other side's error ``info``."""
        return RemoteError(info.get("msg", ""))

    def describe(self, exc):
        """Extra fields for an error sent to the other side (the worker adds the student's frames)."""
        return {}

    def lost(self, exc):
        """The exception to raise when the other side is gone, hangs or sends garbage."""
        return exc

    def handle(self, op, target, name, args, kwargs, extra):
        """Requests beyond the common ones (the worker's ``confine`` and ``load``)."""
        raise PermissionError(f"unknown request {op!r}")


class Connection:
    """One side of the conversation: requests out, requests served, objects lent and borrowed."""

    def __init__(self, sock, policy: Policy):
        self.peer, self.policy = Peer(sock), policy
        self.exports, self.export_ids, self.sent = {}, {}, {}
        self.proxies = weakref.WeakValueDictionary()
        self.released = []
        self.next_id = self.next_call = 1
        self.failure = None          # a sticky error raised while serving the other side

    # ------------------------------------------------------------------ values
    def _export(self, obj):
        if isinstance(obj, Remote) and obj._conn is self:
            return {"$yours": obj._id}
        self.policy.may_export(obj)
        k = self.export_ids.get(id(obj))
        if k is None:
            k, self.next_id = self.next_id, self.next_id + 1
            self.exports[k], self.export_ids[id(obj)] = obj, k
        self.sent[k] = self.sent.get(k, 0) + 1
        return {"$mine": k, "type": type(obj).__name__[:60], "call": callable(obj),
                "name": str(getattr(obj, "__qualname__", "") or "")[:80]}

    def _resolve(self, tag, data):
        k = data[tag]
        if tag == "$yours":
            if k not in self.exports:
                raise WireError(f"a reference to an unknown object {k}")
            return self.exports[k]
        proxy = self.proxies.get(k)
        if proxy is None:
            proxy = Remote(self, k, str(data.get("type", "object"))[:60], bool(data.get("call")),
                           str(data.get("name", ""))[:80])
            self.proxies[k] = proxy
        object.__setattr__(proxy, "_n", proxy._n + 1)
        return proxy

    def pack(self, value):
        blobs = []
        return encode(value, blobs, self._export), blobs

    def unpack(self, data, blobs):
        try:
            return decode(data, blobs, self._resolve)
        except (ValueError, TypeError, OverflowError, KeyError, IndexError, MemoryError, RecursionError) as e:
            raise WireError(f"cannot be read as plain data ({type(e).__name__})") from None

    def _release(self, pairs):
        if not isinstance(pairs, list):
            raise WireError("bad release list")
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and all(type(x) is int for x in pair)):
                raise WireError("bad release entry")
            k, n = pair
            left = self.sent.get(k, 0) - n
            if left > 0:
                self.sent[k] = left
            elif k in self.exports:
                obj = self.exports.pop(k)
                self.export_ids.pop(id(obj), None)
                self.sent.pop(k, None)

    # ------------------------------------------------------------------ requests
    def request(self, op, *, target=None, name=None, args=(), kwargs=None, extra=None):
        """Ask the other side to do ``op``; serve its questions until the answer comes."""
        question = self.pack([target, list(args), kwargs or {}, extra])      # a refusal to send is ours
        try:
            kind, value = self._ask(op, name, question)
        except (TimeoutError, EOFError, WireError, OSError) as e:
            raise self.policy.lost(e) from None
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        if kind == "err":
            raise self.policy.exception(value)
        value, changed = value
        for i, new in changed or ():           # the function wrote into an input array: so do we
            old = args[i] if isinstance(i, int) and 0 <= i < len(args) else None
            if isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape \
                    and old.flags.writeable:
                old[...] = new
        return value

    def _ask(self, op, name, question):
        k, self.next_call = self.next_call, self.next_call + 1
        body, blobs = question
        released, self.released = self.released, []
        self.peer.send({"k": "req", "id": k, "op": op, "name": name, "body": body, "rel": released}, blobs)
        while True:
            header, blobs = self.peer.receive()
            self._release(header.get("rel", []))
            kind = header.get("k")
            if kind == "req":
                self.serve(header, blobs)
                continue
            answered = header.get("id")
            if kind in ("ok", "err") and type(answered) is int and 0 < answered < k:
                continue    # a second answer to an earlier question (one came early): stale, whenever it arrives
            if answered != k or kind not in ("ok", "err"):
                raise WireError("an answer to a question that was not asked")
            warned = header.get("warn", [])
            if not (isinstance(warned, list) and all(isinstance(w, list) and len(w) == 2 for w in warned)):
                raise WireError("bad warnings")
            for category, message in warned[:20]:
                _rewarn(category, message)
            if kind == "err":
                info = header.get("e")
                if not isinstance(info, dict):
                    raise WireError("bad error")
                return kind, info
            value = self.unpack(header.get("v"), blobs)
            if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], (list, type(None)))
                    and all(isinstance(c, list) and len(c) == 2 for c in value[1] or ())):
                raise WireError("bad answer")
            return kind, value

    def serve(self, header, blobs):
        """Answer one question from the other side."""
        k, op, name = header.get("id"), header.get("op"), header.get("name")
        body = self.unpack(header.get("body"), blobs)        # a malformed question is a WireError: the end
        if not (isinstance(body, list) and len(body) == 4 and isinstance(body[1], list) and isinstance(body[2], dict)
                and all(isinstance(s, str) for s in body[2])):
            raise WireError("bad arguments")
        target, args, kwargs, extra = body
        caught = []
        try:
            self.policy.may_request(op, target, name)
            if self.policy.record_warnings:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    value, extra_out = self._do(op, target, name, args, kwargs, extra)
            else:
                value, extra_out = self._do(op, target, name, args, kwargs, extra)
            body, out_blobs = self.pack([value, extra_out])
            reply = {"k": "ok", "id": k, "v": body}
        except self.policy.catches as e:     # the other side's mistake goes back to it
            if isinstance(e, self.policy.sticky) and self.failure is None:
                self.failure = e
            out_blobs = []
            reply = {"k": "err", "id": k, "e": {"types": [c.__name__ for c in type(e).__mro__][:12],
                                                "msg": cut(_message(e)), **self.policy.describe(e)}}
        warned = [[type(w.message).__name__ if isinstance(w.message, Warning) else w.category.__name__,
                   cut(str(w.message), 2)] for w in caught[:20]]
        if warned:
            reply["warn"] = warned
        released, self.released = self.released, []
        reply["rel"] = released
        self.peer.send(reply, out_blobs)

    def _do(self, op, target, name, args, kwargs, extra):
        if op == "call":
            before = [(i, a.copy()) for i, a in enumerate(args) if isinstance(a, np.ndarray)]
            value = target(*args, **kwargs)
            changed = [[i, args[i]] for i, old in before
                       if args[i].shape != old.shape or args[i].tobytes() != old.tobytes()]
            return value, changed
        if op == "many":
            pick = extra
            out = []
            for one in args:
                result = target(*one, **kwargs)
                out.append(tuple(result[i] for i in pick) if pick is not None else result)
            return out, None
        if op == "getattr":
            return getattr(target, name), None
        if op == "getattrs":
            return [getattr(obj, name) for obj in args], None
        if op == "setattrs":
            for obj, value in zip(args, extra):
                setattr(obj, name, value)
            return None, None
        if op == "walk":
            return _walk(target, name), None
        if op == "tap":
            log = CallLog()
            for obj in args:
                setattr(obj, name, _Tapped(log, obj, getattr(obj, name)))
            return log, None
        if op == "setattr":
            setattr(target, name, args[0])
            return None, None
        if op == "delattr":
            delattr(target, name)
            return None, None
        if op == "op" and name in OPERATORS:
            return _apply(name, args), None
        if op == "isinstance":
            return isinstance(args[0], target), None
        return self.policy.handle(op, target, name, args, kwargs, extra), None


def _message(e):
    try:
        return str(e)
    except Exception:   # noqa: BLE001 - a student's __str__ may itself raise
        return type(e).__name__


def _rewarn(category, message):
    """Raise a warning again on this side, so that a check's warnings filter sees it."""
    cls = getattr(builtins, str(category), None)
    if not (isinstance(cls, type) and issubclass(cls, Warning)):
        cls = UserWarning
    warnings.warn(str(message), cls, stacklevel=3)


def _forward(op):
    def method(self, *args):
        return self._conn.request("op", name=op, args=(self, *args))
    return method


def _reflected(op):
    def method(self, other):
        return self._conn.request("op", name=op, args=(other, self))
    return method


class Remote:
    """A stand-in for an object on the other side."""

    __slots__ = ("_conn", "_id", "_type", "_callable", "_name", "_n", "__weakref__")

    def __init__(self, conn, k, type_name, is_callable, name=""):
        for slot, v in zip(self.__slots__, (conn, k, type_name, is_callable, name, 0)):
            object.__setattr__(self, slot, v)

    def __del__(self):
        try:
            self._conn.released.append([self._id, self._n])
        except Exception:   # noqa: BLE001 - interpreter shutdown
            pass

    def __getattr__(self, name):
        if name in _LOCAL_ONLY:
            raise AttributeError(name)
        return self._conn.request("getattr", target=self, name=name)

    def __setattr__(self, name, value):
        self._conn.request("setattr", target=self, name=name, args=(value,))

    def __delattr__(self, name):
        self._conn.request("delattr", target=self, name=name)

    def __call__(self, *args, **kwargs):
        return self._conn.request("call", target=self, args=args, kwargs=kwargs)

    def __instancecheck__(self, obj):
        return self._conn.request("isinstance", target=self, args=(obj,))

    def __bool__(self):
        return self._conn.request("op", name="truth", args=(self,))

    def __len__(self):
        return self._conn.request("op", name="len", args=(self,))

    def __iter__(self):
        return self._conn.request("op", name="iter", args=(self,))

    def __next__(self):
        return self._conn.request("op", name="next", args=(self,))

    def __repr__(self):
        return self._conn.request("op", name="repr", args=(self,))

    def __str__(self):
        return self._conn.request("op", name="str", args=(self,))

    def __format__(self, spec):
        return self._conn.request("op", name="format", args=(self, spec))

    def __float__(self):
        return self._conn.request("op", name="float", args=(self,))

    def __int__(self):
        return self._conn.request("op", name="int", args=(self,))

    def __index__(self):
        return self._conn.request("op", name="index", args=(self,))

    def __array__(self, dtype=None, copy=None):
        arr = self._conn.request("op", name="array", args=(self,))
        return arr if dtype is None else arr.astype(dtype)

    def __contains__(self, item):
        return self._conn.request("op", name="contains", args=(self, item))

    def __getitem__(self, key):
        return self._conn.request("op", name="getitem", args=(self, key))

    def __setitem__(self, key, value):
        self._conn.request("op", name="setitem", args=(self, key, value))

    def __delitem__(self, key):
        self._conn.request("op", name="delitem", args=(self, key))


for _op in BINARY:
    _dunder = _op.rstrip("_")
    setattr(Remote, f"__{_dunder}__", _forward(_op))
    setattr(Remote, f"__r{_dunder}__", _reflected(_op))
for _op in COMPARE:
    setattr(Remote, f"__{_op}__", _forward(_op))
Remote.__hash__ = object.__hash__          # identity: one Remote per object (defining __eq__ removed it)
for _op in ("neg", "pos", "abs", "invert"):
    setattr(Remote, f"__{_op}__", _forward(_op))


def _walk(root, name, limit=100_000):
    """[(node, tuple(getattr(node, name))), ...] for every node reachable from root, breadth first."""
    seen, order, k = {id(root)}, [root], 0
    out = []
    while k < len(order) and len(order) <= limit:
        node = order[k]
        children = tuple(getattr(node, name))
        out.append((node, children))
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                order.append(child)
        k += 1
    return out


class CallLog:
    """The objects whose tapped attribute was called, in order (``tap``)."""

    def __init__(self):
        self.calls = []


class _Tapped:
    """A callable attribute that notes its owner in a CallLog, then does what it did before."""

    def __init__(self, log, owner, original):
        self.log, self.owner, self.original = log, owner, original

    def __call__(self, *args, **kwargs):
        self.log.calls.append(self.owner)
        return self.original(*args, **kwargs)


def tap(objects, name: str):
    """Make each object's callable attribute ``name`` note its calls, on the other side, in one round trip.

    Returns the log: ``tap(nodes, "_backward").calls`` lists the nodes whose ``_backward`` ran, in order.
    """
    objects = list(objects)
    return objects[0]._conn.request("tap", name=name, args=objects)


def walk(root: Remote, name: str):
    """Every object reachable from ``root`` through the iterable attribute ``name`` (a graph's ``_prev``),
    each with its children: ``[(node, (child, ...)), ...]``, breadth first, in one round trip."""
    return root._conn.request("walk", target=root, name=name)


def getattrs(objects, name: str):
    """``[obj.name for obj in objects]`` for objects on the other side, in one round trip."""
    objects = list(objects)
    return objects[0]._conn.request("getattrs", name=name, args=objects) if objects else []


def setattrs(objects, name: str, values):
    """``obj.name = value`` for each pair, on the other side, in one round trip."""
    objects = list(objects)
    if objects:
        objects[0]._conn.request("setattrs", name=name, args=objects, extra=list(values))


def call_many(fn: Remote, arglists, kwargs=None, pick=None):
    """``[fn(*args, **kwargs) for args in arglists]`` in one round trip (gradient checks use it).

    With ``pick`` a list of indices, only those elements of each result come back.
    """
    return fn._conn.request("many", target=fn, args=[list(a) for a in arglists], kwargs=kwargs,
                            extra=None if pick is None else list(pick))
