"""Minimal LEB128 and name encoding for the encoder
(https://webassembly.github.io/spec/core/binary/values.html)."""

from __future__ import annotations

_SMALL = [bytes((n,)) for n in range(0x80)]


def encode_u32(n: int) -> bytes:
    """Unsigned LEB128 in the fewest bytes (any width: u32 or u64)."""
    if 0 <= n < 0x80:
        return _SMALL[n]
    if n < 0:
        raise ValueError(f"cannot encode negative {n} as unsigned LEB128")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)



def encode_signed(n: int) -> bytes:
    """Signed LEB128 in the fewest bytes."""
    if -0x40 <= n < 0x40:
        return _SMALL[n & 0x7F]
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def encode_name(name: str) -> bytes:
    raw = name.encode("utf-8")
    return encode_u32(len(raw)) + raw
