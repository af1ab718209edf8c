"""What crosses between the grader and a student's worker process: plain data, never a pickle.

A message is one frame on a socket::

    <u32 header length> <u32 number of blobs> <JSON header> (<u64 length> <bytes>)*

The header is JSON. Values in it are plain data: None, bools, numbers, strings,
lists, and tagged objects for the rest:

    {"$t": [...]}                       a tuple           {"$d": [[k, v], ...]}  a dict
    {"$s": [...]}, {"$fs": [...]}       a set, a frozenset
    {"$a": 0, "dt": "<f8", "sh": [3]}   an array in blob 0 (bool, int, float, complex or str only)
    {"$b": 0}                           bytes in blob 0
    {"$dtype": "<f8"}                   a NumPy dtype     {"$slice": [a, b, c]}, {"$ellipsis": 1}
    {"$rng": {...}}                     a NumPy Generator (PCG64), by its state
    {"$mine": 7, "type": "Value"}       an object that stays with the sender (a handle)
    {"$yours": 7}                       one of the receiver's objects, sent back

Anything else in a frame is an error (``WireError``): the grader scores a
malformed message 0 and never evaluates what it cannot parse.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import time

import numpy as np

__all__ = ["WireError", "Peer", "MAX_FRAME", "encode", "decode"]

MAX_FRAME = 256 * 2 ** 20      # bytes in one message; a larger one is malformed
MAX_DEPTH = 64                 # nesting of lists, tuples and dicts
_DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f[248]|c(8|16)|U[1-9]\d{0,5})$")
_STRICT_DEVICES = ("CPU_DEVICE", "device1", "device2")


class WireError(Exception):
    """A message that is not well-formed plain data."""


def _dtype(text):
    if not isinstance(text, str) or not _DTYPE.match(text):
        raise WireError(f"unsupported dtype {text!r}")
    return np.dtype(text)


def _strict():
    import array_api_strict            # optional: only the simulated device of lesson 12 needs it
    return array_api_strict


# ---------------------------------------------------------------------------- encoding

def encode(value, blobs, export, depth=0):
    """``value`` as JSON-able plain data; arrays go to ``blobs``, other objects through ``export``."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and _DTYPE.match(value.dtype.str):
        arr = np.asarray(value, order="C")
        blobs.append(arr.tobytes())
        out = {"$a": len(blobs) - 1, "dt": arr.dtype.str, "sh": list(arr.shape)}
        if isinstance(value, np.generic):
            out["scalar"] = 1
        return out
    if type(value).__module__.startswith("array_api_strict") and hasattr(value, "__dlpack__"):
        xs = _strict()
        host = np.asarray(xs.asarray(value, device=xs.Device("CPU_DEVICE")))
        out = encode(host, blobs, export, depth + 1)
        out["strict"] = str(value.device).split("'")[1] if "'" in str(value.device) else "CPU_DEVICE"
        return out
    if isinstance(value, (int, float, complex)):        # int/float subclasses such as bool handled above
        return encode(np.asarray(value)[()], blobs, export, depth)
    rec = lambda v: encode(v, blobs, export, depth + 1)   # noqa: E731
    if type(value) is tuple:
        return {"$t": [rec(v) for v in value]}
    if type(value) is list:
        return [rec(v) for v in value]
    if type(value) is dict:
        return {"$d": [[rec(k), rec(v)] for k, v in value.items()]}
    if type(value) in (set, frozenset):
        return {"$s" if type(value) is set else "$fs": [rec(v) for v in value]}
    if isinstance(value, bytes):
        blobs.append(bytes(value))
        return {"$b": len(blobs) - 1}
    if isinstance(value, np.dtype) and _DTYPE.match(value.str):
        return {"$dtype": value.str}
    if type(value) is slice:
        return {"$slice": [rec(value.start), rec(value.stop), rec(value.step)]}
    if value is Ellipsis:
        return {"$ellipsis": 1}
    if isinstance(value, np.random.Generator) and type(value.bit_generator).__name__ == "PCG64":
        return {"$rng": value.bit_generator.state}
    return export(value)


# ---------------------------------------------------------------------------- decoding

def decode(data, blobs, resolve, depth=0):
    """The value that ``encode`` wrote; ``resolve(tag, dict)`` turns handles into objects."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    rec = lambda v: decode(v, blobs, resolve, depth + 1)   # noqa: E731
    if isinstance(data, list):
        return [rec(v) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise WireError(f"unexpected {type(data).__name__} in a message")
    tag = next(iter(data))
    body = data[tag]
    if tag == "$t" and isinstance(body, list):
        return tuple(rec(v) for v in body)
    if tag == "$d" and isinstance(body, list):
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise WireError("a dict entry is not a pair")
            key = rec(pair[0])
            try:
                out[key] = rec(pair[1])
            except TypeError:
                raise WireError("a dict key is not hashable") from None
        return out
    if tag in ("$s", "$fs") and isinstance(body, list):
        items = [rec(v) for v in body]
        try:
            return set(items) if tag == "$s" else frozenset(items)
        except TypeError:
            raise WireError("a set member is not hashable") from None
    if tag == "$a":
        return _array(data, blobs)
    if tag == "$b" and type(body) is int and 0 <= body < len(blobs):
        return bytes(blobs[body])
    if tag == "$dtype":
        return _dtype(body)
    if tag == "$slice" and isinstance(body, list) and len(body) == 3:
        return slice(*(rec(v) for v in body))
    if tag == "$ellipsis":
        return Ellipsis
    if tag == "$rng" and isinstance(body, dict):
        bits = np.random.PCG64()
        try:
            bits.state = body
        except (TypeError, ValueError, KeyError, OverflowError) as e:
            raise WireError(f"bad generator state ({e})") from None
        return np.random.Generator(bits)
    if tag in ("$mine", "$yours") and type(body) is int:
        return resolve(tag, data)
    raise WireError(f"unknown tag {tag!r} in a message")


def _array(data, blobs):
    k, shape = data.get("$a"), data.get("sh")
    dtype = _dtype(data.get("dt"))
    if type(k) is not int or not 0 <= k < len(blobs):
        raise WireError("an array refers to a missing blob")
    if not (isinstance(shape, list) and len(shape) <= 32 and all(type(n) is int and n >= 0 for n in shape)):
        raise WireError("an array has a bad shape")
    size = 1
    for n in shape:                                    # Python ints: no overflow
        size *= n
    if size * dtype.itemsize != len(blobs[k]) or (size and dtype.itemsize == 0):
        raise WireError("an array's size does not match its bytes")
    arr = np.frombuffer(blobs[k], dtype=dtype).reshape(shape).copy()
    if data.get("scalar"):
        return arr[()]
    device = data.get("strict")
    if device is not None:
        if device not in _STRICT_DEVICES:
            raise WireError(f"unknown device {device!r}")
        xs = _strict()
        return xs.asarray(arr, device=xs.Device(device))
    return arr


# ---------------------------------------------------------------------------- frames

class Peer:
    """One end of the socket: whole frames in and out, with a size limit and a deadline."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.deadline = None          # time.monotonic() value after which a read or write gives up
        self.buffer, self.pos = bytearray(), 0

    def _wait(self):
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)

    def send(self, header: dict, blobs=()):
        head = json.dumps(header, separators=(",", ":")).encode()
        parts = [struct.pack("<II", len(head), len(blobs)), head]
        for b in blobs:
            parts += [struct.pack("<Q", len(b)), b]
        self._wait()
        try:
            self.sock.sendall(b"".join(parts))
        except socket.timeout:
            raise TimeoutError from None

    def _exact(self, n):
        while len(self.buffer) - self.pos < n:
            self._wait()
            try:
                chunk = self.sock.recv(max(n - len(self.buffer) + self.pos, 1 << 16))
            except socket.timeout:
                raise TimeoutError from None
            if not chunk:
                raise EOFError
            self.buffer += chunk
        out = bytes(self.buffer[self.pos:self.pos + n])
        self.pos += n
        if self.pos == len(self.buffer) or self.pos > 1 << 20:
            del self.buffer[:self.pos]
            self.pos = 0
        return out

    def receive(self):
        """(header dict, blobs); EOFError when the other end is gone, WireError when malformed."""
        n_head, n_blobs = struct.unpack("<II", self._exact(8))
        if n_head > MAX_FRAME or n_blobs > 100_000:
            raise WireError("message too large")
        total = n_head
        try:
            header = json.loads(self._exact(n_head))
        except (ValueError, RecursionError) as e:
            raise WireError(f"not JSON ({str(e)[:80]})") from None
        blobs = []
        for _ in range(n_blobs):
            (size,) = struct.unpack("<Q", self._exact(8))
            total += size
            if total > MAX_FRAME:
                raise WireError("message too large")
            blobs.append(self._exact(size))
        if not isinstance(header, dict):
            raise WireError("a message is not an object")
        return header, blobs
