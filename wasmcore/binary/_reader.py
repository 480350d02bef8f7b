"""LEB128 and the byte reader the module decoder is built on
(https://webassembly.github.io/spec/core/binary/values.html).

Like the spec's reference interpreter, every read works on the whole binary: a section or a
function body is not a bounded sub-stream; its size is checked after it was decoded
("section size mismatch"). That reproduces the spec testsuite's expected messages. Reading past
the end of the binary raises IndexError, which `decode_module` turns into "unexpected end".
"""

from __future__ import annotations

from wasmcore.errors import DecodeError

UNEXPECTED_END = "unexpected end of section or function"
TOO_LONG = "integer representation too long"
TOO_LARGE = "integer too large"


def read_u32(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned 32-bit LEB128 at `pos`: (value, position after it)."""
    result = 0
    shift = 0
    while True:
        b = data[pos]
        if shift == 28:
            # Fifth byte: only 4 value bits left, and no continuation.
            if b & 0x70:
                raise DecodeError(TOO_LARGE, pos)
            if b & 0x80:
                raise DecodeError(TOO_LONG, pos + 1)
            return result | b << 28, pos + 1
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7


def read_unsigned(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """An unsigned LEB128 of at most `bits` bits (the spec's uN)."""
    result = 0
    shift = 0
    remaining = bits
    while True:
        if remaining <= 0:
            raise DecodeError(TOO_LONG, pos)
        b = data[pos]
        if remaining < 7 and (b & 0x7F) >= 1 << remaining:
            raise DecodeError(TOO_LARGE, pos)
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7
        remaining -= 7


def read_signed(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """A signed LEB128 of at most `bits` bits (the spec's sN)."""
    result = 0
    shift = 0
    remaining = bits
    while True:
        if remaining <= 0:
            raise DecodeError(TOO_LONG, pos)
        b = data[pos]
        if remaining < 7:
            # The unused high bits of the last byte must be a sign extension.
            mask = (-1 << (remaining - 1)) & 0x7F
            high = b & mask
            if high != 0 and high != mask:
                raise DecodeError(TOO_LARGE, pos)
        result |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos
        remaining -= 7


class Reader:
    """A cursor over the whole binary, for everything except instruction sequences."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos
        self.end = len(data)

    def u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError(UNEXPECTED_END, self.end)
        self.pos = pos + 1
        return self.data[pos]

    def u32(self) -> int:
        pos = self.pos
        b = self.data[pos]
        if b < 0x80:
            self.pos = pos + 1
            return b
        value, self.pos = read_u32(self.data, pos)
        return value

    def unsigned(self, bits: int) -> int:
        value, self.pos = read_unsigned(self.data, self.pos, bits)
        return value

    def signed(self, bits: int) -> int:
        value, self.pos = read_signed(self.data, self.pos, bits)
        return value

    def len32(self) -> int:
        """A u32 length or count; it cannot exceed the bytes left from where it starts, so a
        hostile count never makes us allocate more than the input's size."""
        start = self.pos
        n = self.u32()
        if n > self.end - start:
            raise DecodeError("length out of bounds", start)
        return n

    def bytes(self, n: int) -> bytes:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise DecodeError(UNEXPECTED_END, self.end)
        self.pos = pos + n
        return self.data[pos:pos + n]

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.end:
            raise DecodeError(UNEXPECTED_END, self.end)
        self.pos += n

    def name(self) -> str:
        start = self.pos
        raw = self.bytes(self.len32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("malformed UTF-8 encoding", start) from None
