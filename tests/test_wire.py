"""compare.check.wire, the channel from a hand-in's worker to the grader: plain values go
through unchanged; nothing the worker writes runs code, or costs more memory than the cap,
when the grader reads it."""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compare.check import wire

ARRAYS = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**62, 2**62) | st.floats(allow_nan=False)
    | st.text(max_size=20) | ARRAYS,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10)


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        # bit for bit (a NaN is not equal to itself, but its bytes cross unchanged)
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(VALUES)
def test_plain_values_cross_unchanged(value: object) -> None:
    assert _same(wire.read_message(io.BytesIO(wire.encode(value))), value)


def test_objects_do_not_cross() -> None:
    with pytest.raises(wire.WireError):
        wire.encode(object())
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()]))


class _Boom:
    def __reduce__(self) -> tuple:
        return (exec, ("raise SystemExit('a pickle ran code in the grader')",))


@pytest.mark.parametrize("payload", [
    pickle.dumps(_Boom()),  # a pickle where a message belongs
    pickle.dumps(("check", 42)),
    struct.pack(">I", 5) + b'{"nd"',  # a header that is not JSON
    struct.pack(">I", 11) + b'{"nd": 3}  ',  # an array that is not there
    struct.pack(">I", 13) + b'{"what": 1}  ',  # an unknown value
    struct.pack(">I", 8) + b'{"nd":0}' + struct.pack(">Q", 10**9),  # an array that ends early
])
def test_a_malformed_message_is_a_wire_error(payload: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.read_message(io.BytesIO(struct.pack(">Q", len(payload)) + payload))


def test_a_pickled_object_array_is_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Boom()], dtype=object), allow_pickle=True)
    header = b'{"nd": 0}'
    payload = (struct.pack(">I", len(header)) + header
               + struct.pack(">Q", len(buffer.getvalue())) + buffer.getvalue())
    with pytest.raises(wire.WireError, match="not a plain .npy"):
        wire.decode(payload)


def test_an_oversized_message_is_refused_before_it_is_read() -> None:
    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # what a hand-in would send forever
            b[:] = b"\xff" * len(b)
            return len(b)

    with pytest.raises(wire.WireError, match="over the cap"):
        wire.read_message(io.BufferedReader(Endless()))


def test_long_strings_are_cut() -> None:
    value = wire.read_message(io.BytesIO(wire.encode("y" * 50_000)))
    assert len(value) < wire.MAX_TEXT + 100 and value.startswith("y" * 100)
