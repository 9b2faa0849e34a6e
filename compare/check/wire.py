"""The messages between the grader and a hand-in's worker (:mod:`compare.check.worker`):
plain values in a format that runs no code when read.

A message is an 8-byte big-endian length, then the payload: a 4-byte length and a JSON header,
then the arrays the header refers to, each an ``.npy`` buffer behind a 8-byte length. Values
are ``None``, bools, ints, floats, strings, lists, tuples, dicts with string keys and NumPy
arrays of numbers or bools (``np.load(..., allow_pickle=False)``: no object arrays). A
worker-side object that is none of these travels as a *handle* (:class:`Handle`, a number the
worker keeps the object under). Reading checks every length against a cap before it reads, so
a hand-in that writes too much or nonsense into the channel gets a :class:`WireError`, never
more memory than the cap or a crash of the grader.

This file imports nothing of the project: the sandbox copies it next to the worker, and the
grader imports it as ``compare.check.wire``.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

MAX_MESSAGE = 256 << 20  # bytes: the lockstep training's record of 200 DD2424 steps is ~100 MB
MAX_DEPTH = 32  # nesting of lists and dicts
MAX_ITEMS = 1 << 20  # values in one message
MAX_TEXT = 4000  # characters of a string that crosses from the worker (messages, names)
_KINDS = "biuf"  # array dtypes that may cross: bool, int, unsigned, float


class WireError(ValueError):
    """A message that is malformed, too large or holds a value that may not cross."""


@dataclass(frozen=True)
class Handle:
    """An object that stays in the worker, by number."""

    id: int


def _encode(value: Any, arrays: list[bytes], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):  # JSON holds NaN and inf as Python writes them
        return value
    if isinstance(value, np.generic) and value.dtype.kind in _KINDS:
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in _KINDS:
        buffer = io.BytesIO()
        # (np.ascontiguousarray would make a 0-d array 1-d)
        np.save(buffer, value if value.flags.c_contiguous else value.copy(order="C"),
                allow_pickle=False)
        arrays.append(buffer.getvalue())
        return {"nd": len(arrays) - 1}
    if isinstance(value, Handle):
        return {"handle": int(value.id)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, _encode(v, arrays, depth + 1)] for k, v in value.items()]}
    raise WireError(f"a {type(value).__name__} cannot be sent")


def encode(value: Any) -> bytes:
    """``value`` as one message (WireError if it holds something that may not cross)."""
    arrays: list[bytes] = []
    header = json.dumps(_encode(value, arrays, 0)).encode()
    parts = [struct.pack(">I", len(header)), header]
    for a in arrays:
        parts += [struct.pack(">Q", len(a)), a]
    payload = b"".join(parts)
    if len(payload) > MAX_MESSAGE:
        raise WireError(f"a message of {len(payload):,} bytes is over the cap of "
                        f"{MAX_MESSAGE:,}")
    return struct.pack(">Q", len(payload)) + payload


class _Reader:
    def __init__(self, payload: bytes) -> None:
        self.payload, self.at = payload, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.payload):
            raise WireError("a message ends early")
        out = self.payload[self.at:self.at + n]
        self.at += n
        return out


def _decode(node: Any, arrays: list[np.ndarray], depth: int, count: list[int]) -> Any:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise WireError("a message nested too deeply or with too many values")
    if node is None or isinstance(node, bool | int):
        return node
    if isinstance(node, float):
        return node
    if isinstance(node, str):
        if len(node) > MAX_TEXT:
            return node[:MAX_TEXT] + f"... ({len(node) - MAX_TEXT:,} more characters)"
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, depth + 1, count) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        (kind, body), = node.items()
        if kind == "nd" and type(body) is int and 0 <= body < len(arrays):
            return arrays[body]
        if kind == "handle" and type(body) is int:
            return Handle(body)
        if kind == "tuple" and isinstance(body, list):
            return tuple(_decode(v, arrays, depth + 1, count) for v in body)
        if kind == "dict" and isinstance(body, list):
            out = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise WireError("a malformed dict")
                out[_decode(pair[0], arrays, depth + 1, count)] = _decode(
                    pair[1], arrays, depth + 1, count)
            return out
    raise WireError(f"an unknown value {str(node)[:80]!r}")


def decode(payload: bytes) -> Any:
    """The value of one message's payload (WireError when it is not a valid one)."""
    reader = _Reader(payload)
    (size,) = struct.unpack(">I", reader.take(4))
    try:
        header = json.loads(reader.take(size))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise WireError(f"a header that is not JSON ({type(e).__name__})") from None
    arrays = []
    while reader.at < len(payload):
        (n,) = struct.unpack(">Q", reader.take(8))
        try:
            array = np.load(io.BytesIO(reader.take(n)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:  # object arrays refuse to load
            raise WireError(f"an array that is not a plain .npy ({e})") from None
        if not isinstance(array, np.ndarray) or array.dtype.kind not in _KINDS:
            raise WireError("an array of a type that may not cross")
        arrays.append(array)
    return _decode(header, arrays, 0, [0])


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """``n`` bytes, or EOFError when the stream ends first."""
    chunks, left = [], n
    while left:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the channel closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> Any:
    """The next message's value; EOFError at the channel's end, WireError if it is bad."""
    (size,) = struct.unpack(">Q", read_exact(stream, 8))
    if size > MAX_MESSAGE:
        raise WireError(f"a message of {size:,} bytes is over the cap of {MAX_MESSAGE:,}")
    return decode(read_exact(stream, size))


def write_message(stream: BinaryIO, value: Any) -> None:
    stream.write(encode(value))
    stream.flush()
